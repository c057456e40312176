"""Settings for the mail sender."""

DEFAULTS = {"host": "localhost", "port": "25"}


def merged(overrides: dict[str, str]) -> dict[str, str]:
    """DEFAULTS with overrides on top."""
    return {**DEFAULTS, **overrides}


def load_config(path: str) -> dict[str, str]:
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values
