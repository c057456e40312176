"""Structured output: a pydantic model from a reply, constrained where possible, repaired once."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from code_assistant.backends.base import Backend, ChatOptions, ChatResult, Message
from code_assistant.errors import CAError

M = TypeVar("M", bound=BaseModel)
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.S)


class StructuredOutputError(CAError):
    """The model did not produce valid JSON for the schema, even after a repair request."""

    exit_code = 1

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


def parse_json_reply(text: str) -> object:
    """The JSON value in a reply: the whole text, a ```json fence, or the outermost {...}."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            # strict=False: raw newlines inside strings, which llama.cpp's grammar lets
            # through as byte tokens (a real 0.5B's plan carried code in "answer" that way).
            return json.loads(candidate, strict=False)
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON object found in the reply")


def structured_chat(
    backend: Backend,
    model: str,
    messages: Sequence[Message],
    schema: type[M],
    options: ChatOptions,
    *,
    repairs: int = 1,
    calls: list[ChatResult] | None = None,
) -> M:
    """Ask for JSON matching `schema` (sent as `format`); ask `repairs` more times if invalid.

    Every ChatResult is appended to `calls` so callers can count model calls and tokens.
    """
    constrained = ChatOptions(**{**options.__dict__, "format": schema.model_json_schema()})
    history = list(messages)
    last_error = ""
    result: ChatResult | None = None
    for _attempt in range(repairs + 1):
        result = backend.chat(model, history, options=constrained)
        if calls is not None:
            calls.append(result)
        try:
            return schema.model_validate(parse_json_reply(result.text))
        except (ValueError, ValidationError) as exc:
            last_error = _short_error(exc)
        history += [
            Message("assistant", result.text),
            Message(
                "user",
                f"That was not valid JSON for the required schema ({last_error}). "
                f"Reply with only the corrected JSON object, matching this schema:\n"
                f"{json.dumps(schema.model_json_schema())}",
            ),
        ]
    raise StructuredOutputError(
        f"the model did not return valid {schema.__name__} JSON after {repairs + 1} tries: "
        f"{last_error}",
        raw=result.text if result else "",
    )


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        location = ".".join(str(p) for p in first["loc"]) or "root"
        return f"{location}: {first['msg']}"
    return str(exc)
