"""The few exceptions code-assistant raises, each with a meaning and an exit code."""

from __future__ import annotations


class CAError(Exception):
    """A failure the user can act on: printed as one line, never as a traceback."""

    exit_code = 1


class UsageError(CAError):
    """Bad input on the command line or in a file the user gave us."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file or value that cannot be used."""


class BackendError(CAError):
    """The model backend failed; the message says what to do next."""

    exit_code = 3
    transient = False


class BackendUnavailable(BackendError):
    """Nothing answers at the backend's address."""

    exit_code = 3


class ModelNotFound(BackendError):
    """The backend does not have the requested model."""

    exit_code = 4


class BackendServerError(BackendError):
    """The backend answered with an HTTP 5xx (or another unexpected status)."""

    exit_code = 5
    transient = True


class BackendTimeout(BackendError):
    """The backend did not answer within the configured timeout."""

    exit_code = 6
    transient = True


class ToolError(Exception):
    """A tool could not do what the model asked; the message is written for the model."""


class AlreadyMade(ToolError):
    """Nothing to do: the file already holds the change the call asks for."""


class Cancelled(CAError):
    """The user cancelled the current generation or tool (Ctrl-C)."""

    exit_code = 130
