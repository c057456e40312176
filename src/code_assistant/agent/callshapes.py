"""How a call looks once it is JSON or Python data: name keys, argument keys, containers.

`CallContext` is the state of one extraction (tools, parameter names, the scan budget);
`calls_from_value` turns any decoded value into the tool calls it names, or none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from code_assistant.agent import jsonrepair
from code_assistant.agent.toolnames import (
    canonical_arguments,
    editor_tool,
    normalize,
    resolve_tool_name,
)
from code_assistant.backends.base import ToolCall

# fmt: off
_NAME_KEYS = ("name", "function", "tool", "tool_name", "function_name", "action")
_ARG_KEYS = ("arguments", "parameters", "args", "tool_input", "input", "params",
             "action_input", "kwargs", "argument")
_META_KEYS = frozenset({"type", "id", "call_id", "index", "tool_call_id"})
_CONTAINER_KEYS = ("tool_calls", "tool_call", "calls", "function_call", "function_calls",
                   "tool_uses", "actions")
# fmt: on
_MISSING = object()
# Keys whose value may be left open by a reply cut short: what holds calls and arguments.
_OPEN_KEYS = frozenset({*_ARG_KEYS, *_CONTAINER_KEYS, "function"})
_NAMED = re.compile(r"""["']?(?:name|function|tool|tool_name)["']?\s*:\s*["']([\w.-]{1,64})["']""")
_TOLL = 256


@dataclass
class CallContext:
    """What one extraction needs; `budget` bounds the characters re-scanned by failed guesses."""

    tools: Sequence[str]
    params: Mapping[str, Sequence[str]]
    budget: int
    names: dict[str, str | None] = field(default_factory=dict)
    cut_tried: bool = False  # JSON cut short is completed at most once per text (linear)
    cut: list[str] = field(default_factory=list)  # tools whose call was cut inside a string
    _ends: dict[int, int] = field(default_factory=dict)
    _found: dict[tuple[int, str], int] = field(default_factory=dict)

    def resolve(self, name: str) -> str | None:
        if name not in self.names:
            self.names[name] = resolve_tool_name(name, self.tools)
        return self.names[name]

    def near_end(self, text: str, pos: int) -> bool:
        """Whether `pos` is at the end of `text`'s content (blanks, turn-end tokens aside),
        where a reply cut off by max_tokens stops. Cached per text: asked on every failure."""
        key = id(text)
        if key not in self._ends:
            self._ends[key] = jsonrepair.content_end(text, 0)
        return pos >= self._ends[key] - 1

    def next(self, text: str, needle: str, pos: int) -> int:
        """text.find(needle, pos), remembering the answer: asked again from a later `pos`,
        the search goes on from the last hit instead of rescanning (linear in total)."""
        key = (id(text), needle)
        found = self._found.get(key)
        if found is None or (0 <= found < pos):
            found = text.find(needle, pos)
            self._found[key] = found
        return found

    def charge(self, scanned: int) -> None:
        """Count a failed guess: what it scanned, and never less than a fixed toll, so that
        thousands of cheap false starts cannot add up either."""
        self.budget -= max(scanned, _TOLL)

    def parse_at(self, text: str, pos: int) -> tuple[Any, int]:
        if self.budget <= 0:
            raise jsonrepair.JSONRepairError("scan budget spent", pos)
        try:
            value, end = jsonrepair.parse_at(text, pos)
        except jsonrepair.JSONRepairError as exc:
            self.charge(exc.pos - pos)
            raise
        self.budget -= end - pos
        return value, end


def parse_cut(text: str, pos: int, ctx: CallContext) -> tuple[Any, int]:
    """jsonrepair.parse_cut, at most once per extraction; a call cut inside a string is
    remembered in ctx.cut (by tool name) so the model can be told, and raises ValueError."""
    if ctx.cut_tried or ctx.budget <= 0:
        raise jsonrepair.JSONRepairError("cut JSON already tried", pos)
    ctx.cut_tried = True
    ctx.budget -= len(text) - pos
    try:
        return jsonrepair.parse_cut(text, pos, _OPEN_KEYS)
    except jsonrepair.CutInString:
        named = _NAMED.search(text, pos, min(len(text), pos + 300))
        tool = ctx.resolve(named.group(1)) if named else None
        if tool is not None:
            ctx.cut.append(tool)
        raise


def calls_from_value(value: Any, ctx: CallContext, depth: int = 0) -> list[ToolCall]:
    if depth > 4:
        return []
    if isinstance(value, list):
        return [call for item in value for call in calls_from_value(item, ctx, depth + 1)]
    if not isinstance(value, dict):
        return []
    call = _call_from_dict(value, ctx)
    if call is not None:
        return [call]
    for key in _CONTAINER_KEYS:  # {"tool_calls": [...]}
        if key in value:
            return calls_from_value(value[key], ctx, depth + 1)
    return []


def _call_from_dict(obj: dict[str, Any], ctx: CallContext) -> ToolCall | None:
    function = obj.get("function")
    if isinstance(function, dict):  # OpenAI: {"type": "function", "function": {...}}
        return _call_from_dict(function, ctx) if "name" in function else None
    name_key = next((key for key in _NAME_KEYS if isinstance(obj.get(key), str)), None)
    if name_key is None:
        return _keyed_call(obj, ctx)
    tool = ctx.resolve(obj[name_key])
    if tool is None:
        return None
    raw = next((obj[key] for key in _ARG_KEYS if key in obj and key != name_key), _MISSING)
    if raw is _MISSING:  # flat {"name": "read_file", "path": ...}: only for the exact name
        if "description" in obj or normalize(obj[name_key]) != normalize(tool):
            return None  # a spec echo, or data like {"name": "ls", "size": 3}
        raw = {k: v for k, v in obj.items() if k != name_key and k not in _META_KEYS}
    calls = call_with(obj[name_key], raw, ctx)
    return calls[0] if calls else None


def _keyed_call(obj: dict[str, Any], ctx: CallContext) -> ToolCall | None:
    """{"write_file": {...}}: only an exact (or case/underscore) tool name counts here."""
    if len(obj) != 1:
        return None
    key, raw = next(iter(obj.items()))
    tool = ctx.resolve(key)
    if tool is None or normalize(tool) != normalize(key) or not isinstance(raw, dict):
        return None
    return finish(key, tool, raw, ctx)


def call_with(name: str, raw: Any, ctx: CallContext) -> list[ToolCall]:
    """A call of the tool `name` means, with arguments made a dict (or no call at all)."""
    tool = ctx.resolve(name)
    if tool is None:
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            raw = {}
        elif text[0] in "{[":
            try:
                raw = jsonrepair.loads(text)
            except ValueError:
                return []
    if raw is None:
        raw = {}
    if isinstance(raw, dict):
        if raw.get("type") == "object" and "properties" in raw:  # a schema, not arguments
            return []
        return [finish(name, tool, {str(key): value for key, value in raw.items()}, ctx)]
    names = list(ctx.params.get(tool) or ())
    values = raw if isinstance(raw, list) else [raw]
    if not names or len(values) > len(names):
        return []
    return [ToolCall(tool, dict(zip(names, values, strict=False)))]


def finish(name: str, tool: str, arguments: dict[str, Any], ctx: CallContext) -> ToolCall:
    """The call of `tool` that `name(arguments)` means: an editor's `command` may pick another
    tool, and other agents' argument names become the tool's own."""
    editor = editor_tool(name, arguments, ctx.tools)
    tool = editor or tool
    params = ctx.params.get(tool)
    return ToolCall(tool, canonical_arguments(arguments, params, editor=editor is not None))


def canonical_call(
    call: ToolCall, tools: Sequence[str], params: Mapping[str, Sequence[str]]
) -> ToolCall:
    """A native call made with another agent's names (`str_replace_editor`, `create_file`,
    `file_path`, `old_str`) as a call of our tool with our argument names; unchanged when
    the name means none of `tools` or the arguments are not an object."""
    tool = resolve_tool_name(call.name, tools)
    if tool is None or not isinstance(call.arguments, dict):
        return call
    made = finish(call.name, tool, dict(call.arguments), CallContext(tools, params, budget=0))
    made.id = call.id
    return made
