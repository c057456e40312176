"""Settings for the mail sender."""

DEFAULTS = {"host": "localhost", "port": "25"}


def merged(overrides: dict[str, str]) -> dict[str, str]:
    """DEFAULTS with overrides on top."""
    return {**DEFAULTS, **overrides}
