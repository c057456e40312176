"""One redaction function for secrets in transcripts, logs and error messages."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from code_assistant.config import Config


MASK = "***"

# Whole-token formats of well-known providers: the match is replaced entirely.
_TOKENS = re.compile(
    "|".join(
        [
            r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}",  # OpenAI, Anthropic
            r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
            r"\b(?:ghp|gho|ghs|ghu|ghr|github_pat)_[A-Za-z0-9_]{20,}",  # GitHub
            r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab
            r"\bxox[abposre]-[A-Za-z0-9-]{10,}",  # Slack
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
            r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
            r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
        ]
    ),
    re.DOTALL,
)

# A name that announces a secret, then its value: the name is kept, the value masked.
_LABELLED = [
    # Authorization headers of any scheme ("Basic dXNl...", "token ghx..."), then bare Bearer
    re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?[A-Za-z]+\s+)[^\s\"',;]{4,}"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._\-~+/]{16,}=*"),
    # URL query parameters that carry credentials: ?key=..., &sig=...
    re.compile(
        r"(?i)([?&](?:key|api_key|apikey|token|access_token|auth|sig|signature"
        r"|client_secret|password)=)[^&#\s\"']{4,}"
    ),
    # Credentials inside a URL: scheme://user:password@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^/\s@]+(?=@)"),
    # key = value, "key": "value", X-API-KEY: value (config dumps, JSON, headers, env lines);
    # a call or subscript (`password = input(...)`) is code, not a value, and is kept;
    # a value that starts with the mask was already redacted.
    # Environment and .env lines whose NAME says secret: AWS_SECRET_ACCESS_KEY=..., DB_PASS=...
    re.compile(
        r"(?<![\w$])([A-Z][A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?)"
        r"[A-Z0-9_]*[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s\"'$]{6,}"
    ),
    re.compile(
        r"(?i)((?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token"
        r"|client[_-]?secret|secret[_-]?key|secret|password|passwd|token)"
        r"[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)(?![A-Za-z_][\w.]*[(\[])[^\s\"',;&]{6,}"
    ),
]


_SECRET_NAME = re.compile(r"(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIAL)")
_SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password")


def secret_values(
    config: Config | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The secret values this process knows: the config's keys and MCP credentials, and
    environment variables whose name says secret (what `env | grep KEY` would print)."""
    environ = os.environ if environ is None else environ
    found = [
        value for name, value in environ.items()
        if _SECRET_NAME.search(name) and len(value) >= 8 and not value.startswith("/")
    ]
    if config is not None:
        for name in type(config).model_fields:
            value = getattr(config, name)
            if name.endswith(_SECRET_SUFFIXES) and isinstance(value, str):
                found.append(value)
        for server in getattr(getattr(config, "mcp", None), "servers", {}).values():
            found += [*server.env.values(), *server.headers.values()]
    return sorted({v for v in found if len(v) >= 4}, key=len, reverse=True)


def _mask_secrets(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        # Repeat: a secret containing '*' could re-form around the mask; each pass shortens.
        while secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace API keys, tokens and the given secret values with `***`.

    Known secret values go first (exact, longest first), then the patterns for
    provider tokens and labelled values, then the known values again in case a
    pattern's mask joined neighbouring text back into one.
    """
    known = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
    text = _mask_secrets(text, known)
    text = _TOKENS.sub(MASK, text)
    for pattern in _LABELLED:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return _mask_secrets(text, known)


def redact_data(value: Any, secrets: Iterable[str] = ()) -> Any:
    """`redact` applied to every string inside JSON-like data (dicts, lists, tuples)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: redact_data(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(item, secrets) for item in value)
    return value


class RedactFilter(logging.Filter):
    """A logging filter that redacts each record's final message (install on handlers)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def _walk_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk_strings(item)


class Redactor:
    """`redact` with a memory: a value once masked by its label (`DB_PASS=...` in a .env)
    is masked wherever it comes back, e.g. when the model repeats it in its answer."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def learn(self, text: str) -> None:
        for pattern in _LABELLED:
            for match in pattern.finditer(text):
                value = match.group(0)[len(match.group(1)) :]
                if len(value) >= 6:
                    self.secrets.add(value)

    def text(self, text: str) -> str:
        self.learn(text)
        return redact(text, self.secrets)

    def data(self, value: Any) -> Any:
        for text in _walk_strings(value):
            self.learn(text)
        return redact_data(value, self.secrets)


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever sys.stderr is when a record is emitted."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def install_log_redaction(secrets: Iterable[str] = ()) -> None:
    """Send code_assistant's warnings to stderr as `ca: warning: ...`, redacted.

    Installed once per process; a later call adds its secrets to the one handler's filter.
    """
    logger = logging.getLogger("code_assistant")
    for existing in logger.handlers:
        if getattr(existing, "ca_redacting", False):
            for found in existing.filters:
                if isinstance(found, RedactFilter):
                    found.secrets = tuple(dict.fromkeys((*found.secrets, *secrets)))
            return
    handler = _StderrHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("ca: %(levelname)s: %(message)s"))
    handler.addFilter(RedactFilter(secrets))
    handler.ca_redacting = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
