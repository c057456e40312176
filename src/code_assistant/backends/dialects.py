"""What an OpenAI-compatible server accepts, learned per (base URL, model) for the process.

Local servers differ in two request fields. Structured output: llama.cpp's `llama-server`,
vLLM, LM Studio and Ollama's /v1 take `response_format: {"type": "json_schema", ...}`;
llama-cpp-python's server takes only `{"type": "json_object", "schema": ...}` and answers
HTTP 500 to the other; a server that takes neither still gets the schema in the prompt (the
callers repair JSON). Tools: vLLM started without a tool parser refuses `tools` with HTTP 400;
then the tools are described in the prompt and the agent loop reads calls from the text.
A refused shape is remembered, so only the first call to a server pays for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Tried in this order; "prompt" always works (nothing is sent but the instructions).
STRUCTURED_MODES = ("json_schema", "json_object", "prompt")
# Words of the errors servers give for a response_format they do not take (400/422/500).
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar", "guided")
# vLLM: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser';
# llama-server without --jinja: 'tools param requires --jinja flag'.
_TOOL_WORDS = ("tool choice", "tool_choice", "tool-call-parser", "tools param", "--jinja")
_REJECTION_STATUSES = frozenset({400, 422, 500})


@dataclass
class ServerCapabilities:
    """What one server did with one model: None means not found out yet."""

    structured: str | None = None  # the structured-output mode that worked
    rejected: set[str] = field(default_factory=set)  # modes the server refused
    native_tools: bool | None = None  # True once a reply carried `tool_calls`
    tools_rejected: bool = False  # the server refuses the `tools` field

    def modes(self) -> list[str]:
        """Structured-output modes to try, the one known to work first."""
        left = [m for m in STRUCTURED_MODES if m not in self.rejected]
        if self.structured in left:
            left.remove(self.structured)
            left.insert(0, self.structured)
        return left

    def describe(self) -> dict[str, Any]:
        return {
            "structured": self.structured,
            "rejected": sorted(self.rejected),
            "native_tools": self.native_tools,
            "tools_rejected": self.tools_rejected,
        }


_KNOWN: dict[tuple[str, str], ServerCapabilities] = {}
_LOCK = threading.Lock()


def capabilities(base_url: str, model: str) -> ServerCapabilities:
    """The process-wide record for this server and model (created empty on first use)."""
    key = (base_url.rstrip("/"), model)
    with _LOCK:
        return _KNOWN.setdefault(key, ServerCapabilities())


def forget() -> None:
    """Drop everything learned (a server restarted with other flags; tests)."""
    with _LOCK:
        _KNOWN.clear()


def response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The `response_format` field for a mode; None for plain prompting."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def is_format_rejection(status: int, message: str) -> bool:
    """The server refused the response_format shape (not the model, not the prompt)."""
    text = message.lower()
    return status in _REJECTION_STATUSES and any(w in text for w in _FORMAT_WORDS)


# vLLM: "... maximum context length is 8192 tokens. However, you requested 9000 tokens (4904
# in the messages, 4096 in the completion)"; others name max_tokens itself.
_LENGTH_WORDS = ("maximum context length", "max_tokens", "max_completion_tokens")


def is_max_tokens_rejection(status: int, message: str) -> bool:
    """The prompt plus the reply cap do not fit the server's context: sent without the cap,
    the server fits the reply to what is left."""
    text = message.lower()
    return status in _REJECTION_STATUSES and any(w in text for w in _LENGTH_WORDS)


def is_tools_rejection(status: int, message: str) -> bool:
    text = message.lower()
    return status in _REJECTION_STATUSES and any(w in text for w in _TOOL_WORDS)


def schema_note(schema: dict[str, Any]) -> str:
    """The schema as instructions, for a server that cannot constrain the output."""
    return (
        "# Reply format\nReply with exactly one JSON object and nothing else: no prose, no "
        "code fence. The object must match this JSON schema:\n" + json.dumps(schema)
    )


def tools_note(tools: Sequence[dict[str, Any]]) -> str:
    """The tools as instructions, for a server that refuses the `tools` field."""
    lines = [
        "# Tools",
        "To call a tool, reply with only this JSON object: "
        '{"name": "<tool>", "arguments": {<the tool\'s arguments>}}',
    ]
    for tool in tools:
        function = tool.get("function", {})
        params = function.get("parameters", {}).get("properties", {})
        described = ", ".join(params) if params else "no arguments"
        about = str(function.get("description", "")).strip().split("\n", 1)[0]
        lines.append(f"- {function.get('name')}({described}): {about}")
    return "\n".join(lines)


def with_note(wire: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    """A copy of wire messages whose system message ends with `note` (one is added if none)."""
    out = [dict(m) for m in wire]
    if out and out[0].get("role") == "system":
        out[0]["content"] = f"{out[0].get('content') or ''}\n\n{note}"
    else:
        out.insert(0, {"role": "system", "content": note})
    return out
