"""The tool-call envelope: one JSON schema (a text answer or one tool call) built from the tools.

Shared by the agent loop (which asks for it as a recovery) and the backends that enforce it
(llama.cpp turns the schema into a grammar), so it lives beside the types both speak.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from code_assistant.backends.base import Message, ToolCall, ToolSpec

CALL_ID = "call_constrained"

_TEXT_OPTION: dict[str, Any] = {
    "type": "object",
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
    "required": ["type", "text"],
    "additionalProperties": False,
}


@dataclass
class Envelope:
    """A parsed constrained reply: either `text` or exactly one call in `calls`."""

    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)


def envelope_schema(tools: Sequence[ToolSpec], *, allow_text: bool = True) -> dict[str, Any]:
    """{"type":"text","text":...} | {"type":"tool","name":N,"arguments":{...N's schema...}}.

    With `allow_text=False` the reply must be a tool call (the recovery when a model will
    not act). Sent as Ollama's `format`, as OpenAI `response_format`, or turned into a
    llama.cpp grammar: any reply that completes parses and its arguments fit the tool.
    """
    options = [_tool_option(spec) for spec in tools]
    if allow_text:
        options.insert(0, copy.deepcopy(_TEXT_OPTION))
    if not options:
        raise ValueError("an envelope without text needs at least one tool")
    return options[0] if len(options) == 1 else {"anyOf": options}


def _tool_option(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "type": {"const": "tool"},
            "name": {"const": spec.name},
            "arguments": _closed(spec.parameters),
        },
        "required": ["type", "name", "arguments"],
        "additionalProperties": False,
    }


def _closed(parameters: dict[str, Any]) -> dict[str, Any]:
    """A copy of an argument schema that admits no argument the tool does not have."""
    schema: dict[str, Any] = (
        copy.deepcopy(parameters) if parameters else {"type": "object", "properties": {}}
    )
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    schema.setdefault("additionalProperties", False)
    return schema


def parse_envelope(text: str, tool_names: Collection[str]) -> Envelope | None:
    """The reply as text or one tool call; None when it is not a complete, known envelope.

    A bare {"name":..., "arguments":...} (no "type") is accepted too: servers that ignore
    the schema, and older transcripts, produce it. Raw control characters inside strings
    are accepted (strict=False): llama.cpp's grammar lets byte tokens such as <0x0D> through.
    """
    try:
        data = json.loads(text, strict=False)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if kind == "text" and isinstance(data.get("text"), str):
        return Envelope(text=data["text"])
    name, arguments = data.get("name"), data.get("arguments")
    # isinstance before `in`: an unhashable name (a list) would raise inside a set lookup.
    if kind not in ("tool", None) or not isinstance(name, str) or name not in tool_names:
        return None
    if not isinstance(arguments, dict):
        return None
    return Envelope(calls=[ToolCall(name, arguments, CALL_ID)])


def envelope_prompt(tools: Sequence[ToolSpec], *, allow_text: bool = True) -> str:
    """Tells the model the reply format and each tool's arguments (the schema enforces them)."""
    lines = ["# Reply format", "Reply with exactly one JSON object and nothing else."]
    if allow_text:
        lines.append('To answer the user: {"type": "text", "text": "<your answer>"}')
    lines.append('To call a tool: {"type": "tool", "name": "<tool>", "arguments": {...}}')
    lines += ["", "# Tools"]
    for spec in tools:
        lines.append(f"- {spec.name}: {_first_line(spec.description)}")
        props = spec.parameters.get("properties", {})
        required = set(spec.parameters.get("required", []))
        for arg, schema in props.items():
            need = "required" if arg in required else "optional"
            about = schema.get("description", "")
            lines.append(f"    {arg} ({_type_name(schema)}, {need}){': ' + about if about else ''}")
    return "\n".join(lines)


def with_envelope_prompt(
    messages: Sequence[Message], tools: Sequence[ToolSpec], *, allow_text: bool = True
) -> list[Message]:
    """A copy of `messages` whose system message also carries the envelope instructions."""
    note = envelope_prompt(tools, allow_text=allow_text)
    out = list(messages)
    if out and out[0].role == "system":
        out[0] = Message("system", f"{out[0].content}\n\n{note}")
    else:
        out.insert(0, Message("system", note))
    return out


def envelope_json(call: ToolCall) -> str:
    """A past call written back in the envelope form, so the model sees its own format."""
    return json.dumps({"type": "tool", "name": call.name, "arguments": call.arguments})


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def _type_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type_name(schema.get('items') or {})}"
    return str(schema.get("type", "any"))
