"""One redaction function for secrets in transcripts, logs and error messages."""

from __future__ import annotations

import re

_PATTERNS = [
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._\-~+/]{16,}=*"),
    re.compile(
        r"(?i)((?:api[_-]?key|access[_-]?token|secret|password|token|x-api-key)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]{6,}"
    ),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace API keys, tokens and the given secret values with `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + " ***" if m.group(1).lower() == "bearer"
                               else m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text
