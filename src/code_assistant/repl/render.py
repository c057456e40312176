"""The REPL's output: answers streamed as Markdown, agent events as compact lines and diffs."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

from rich.console import Console

from code_assistant.agent.events import Event, TokenEvent
from code_assistant.render import ConsoleRenderer


class MarkdownStream:
    """Streams an answer into a rich Live view of its Markdown; a file gets the final render.

    Re-rendering parses the whole answer, so a terminal is refreshed at most every
    REFRESH_SECONDS: per token, a long answer would cost quadratic time.
    """

    REFRESH_SECONDS = 0.08

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self._live: Any = None
        self._shown = 0.0
        self._saved_tty: Any = None

    def feed(self, token: str) -> None:
        from rich.live import Live
        from rich.markdown import Markdown

        self.text += token
        if not self.console.is_terminal:
            return
        now = time.monotonic()
        if self._live is None:
            self._live = Live(
                Markdown(self.text), console=self.console, auto_refresh=False,
                # Taller than the screen: the top shows while streaming, the whole at the end.
                vertical_overflow="ellipsis",
            )
            self._saved_tty = _echo_off()
            self._live.start()
        elif now - self._shown < self.REFRESH_SECONDS:
            return
        self._live.update(Markdown(self.text), refresh=True)
        self._shown = now

    def stop(self) -> str:
        """Show the final render; returns the text streamed since the last stop."""
        from rich.markdown import Markdown

        text, self.text = self.text, ""
        if self._live is not None:
            self._live.update(Markdown(text))
            self._live.stop()
            self._live = None
            _restore_tty(self._saved_tty)
            self._saved_tty = None
        elif text:
            self.console.print(Markdown(text))
        return text


def _echo_off() -> Any:
    """No terminal echo while an answer streams: the "^C" a Ctrl-C echoes at the end of a
    full-width line wraps the cursor onto a new line, and the final render then lands below
    the live one (the partial answer showed twice). Returns the settings to restore."""
    import termios

    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (OSError, ValueError, termios.error):  # not a terminal, or stdin replaced
        return None
    return (fd, saved)


def _restore_tty(saved: Any) -> None:
    import termios

    if saved is None:
        return
    with contextlib.suppress(OSError, termios.error):
        termios.tcsetattr(saved[0], termios.TCSANOW, saved[1])


class ReplRenderer(ConsoleRenderer):
    """Agent events for the REPL: Markdown answers, compact tool lines, diffs shown once."""

    def __init__(self, console: Console) -> None:
        super().__init__(stream=console.file)
        self.console = console
        self.markdown = MarkdownStream(console)

    def __call__(self, event: Event) -> None:
        if isinstance(event, TokenEvent):
            self.markdown.feed(event.text)
            return
        self.markdown.stop()
        super().__call__(event)
