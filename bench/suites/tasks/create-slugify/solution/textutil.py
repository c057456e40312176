"""Text helpers."""

import re


def slugify(text: str) -> str:
    """Lowercase text, join runs of other characters with single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
