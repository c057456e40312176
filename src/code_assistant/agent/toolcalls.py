"""Recover tool calls that small models write as text instead of native tool calls."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from code_assistant.agent import jsonrepair, pycalls, shown, xmlcalls
from code_assistant.agent.callshapes import (
    CallContext,
    call_with,
    calls_from_value,
    canonical_call,
    finish,
    parse_cut,
)
from code_assistant.agent.toolnames import known_aliases, resolve_tool_name
from code_assistant.backends.base import ToolCall

__all__ = [
    "canonical_call",
    "cut_call",
    "cut_call_note",
    "extract_tool_calls",
    "known_aliases",
    "resolve_tool_name",
    "strip_tool_calls",
]

# fmt: off
# Fences whose whole content may be calls; any other language is code being shown.
_CALL_FENCES = frozenset({"", "json", "json5", "jsonc", "tool_call", "tool_calls", "tool_code",
                          "tool", "tools", "function_call", "python", "py", "python3"})
# fmt: on

_TURN_END = r"<\|(?:im_end|eot_id|eom_id|end)\|>"
# The lookahead lets the regex engine skip ahead by first character: 10x faster on prose.
_OPENER = re.compile(
    r"(?=[`~<\[f])(?:"
    r"(?P<fence>`{3,10}|~{3,10})[ \t]*(?P<lang>[\w+#.-]*)"
    r"|<(?P<tag>(?i:tool_?calls?|function_?calls?|tool_?code|tools?|tool_?requests?|tool_?use"
    r"|function|actions?))>"
    r"|<function=(?P<fn>[^<>\s]{1,100})>"
    r"|<invoke\s+name=[\"'](?P<invoke>[^\"'<>\s]{1,100})[\"']\s*>"
    r"|(?P<py><\|python_tag\|>)"
    r"|<\|(?P<pipe>(?i:tool_?calls?|function_?calls?|tool_?requests?|tool_?use|action))\|>"
    r"|(?P<mistral>\[TOOL_CALLS\])"
    r"|\[(?P<bracket>(?i:tool_?requests?|tool_?calls?|function_?calls?|tool_?use|action))\]"
    r"|(?P<functools>functools)(?=\s*\[)"
    r"|<[|｜]tool[▁_]call[▁_]begin[|｜]>\w*<[|｜]tool[▁_]sep[|｜]>(?P<ds>[^\s<]{1,100}))"
)
# Bare JSON worth parsing starts like an object with a key: {"name": ... or [{"name": ...
_KEY = r"""\s*(?://|(?:"[^"\\\n]{1,100}"|'[^'\\\n]{1,100}'|[A-Za-z_][\w-]{0,100})\s*:)"""
_JSON_START = re.compile(r"(?=[{\[])(?:\{" + _KEY + r"|\[\s*\{" + _KEY + ")")
_CALL_LINE = re.compile(r"^[ \t]*(?P<list>\[[ \t]*)?(?P<name>[A-Za-z_][\w.-]*)[ \t]*\(", re.M)
_LINE_END = re.compile(r"[ \t;]*(?:#[^\n]*)?(?:\r?\n|\Z)")
_CODE_LINE = re.compile(r"^[ \t]*(?:(?:async )?def|class|import|from [\w.]+ import) ", re.M)
_MISTRAL_NAME = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*(?:\[CALL_ID\][\w-]*)?(?:\[ARGS\])?\s*(?=\{)")
_WS = re.compile(r"\s*")
_THINK_END = re.compile(r"</think(?:ing)?>", re.I)
_THINK_START = re.compile(r"<think(?:ing)?>", re.I)
_SEPARATORS = re.compile(r"[\s,;]*")
_FENCE_LANG = re.compile(r"[\w+#.-]*[ \t]*\n?")


def extract_tool_calls(
    text: str, tools: Sequence[str], *, params: Mapping[str, Sequence[str]] | None = None
) -> list[ToolCall]:
    """Tool calls written as text in `text`, in order, with ids call_text_0, call_text_1, ...

    Found: JSON calls (bare, in ```json/```tool_call/``` fences, <tool_call>, <tool>,
    [TOOL_REQUEST]...[END_TOOL_REQUEST], <|tool_call|>, [TOOL_CALLS], <|python_tag|>,
    <function=name>, functools[...]) whose name key names a tool, also when cut short with
    only closing brackets missing; `tool(arg="literal")` when it is a whole fence or tag, or
    a line of its own outside code fences; XML (<parameter=k>, <invoke name=...>, Cline's
    <read_file><path>...</path></read_file>). Only what follows the last </think> counts.
    Not found: JSON introduced as an example, held in code (`x = {...}`, in backticks), or
    with template paths (path/to/...). Names are mapped by resolve_tool_name (unknown ones
    are dropped), argument names by toolnames.canonical_arguments. `params` gives each tool's
    parameter names in order, so positional arguments (`read_file("a.py")`) can be named and
    other agents' argument names renamed; without it such calls are dropped or left as they
    are. Never raises; linear in the length of `text`.
    """
    calls = [call for span in _safe_spans(text, tools, params) for call in span.calls]
    for index, call in enumerate(calls):
        call.id = f"call_text_{index}"
    return calls


def strip_tool_calls(
    text: str, tools: Sequence[str], *, params: Mapping[str, Sequence[str]] | None = None
) -> str:
    """`text` without the tool calls `extract_tool_calls` finds in it, for display."""
    parts, last = [], 0
    for span in _safe_spans(text, tools, params):
        parts.append(text[last : span.start])
        last = span.end
    parts.append(text[last:])
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", "".join(parts)).strip()


@dataclass
class _Span:
    start: int
    end: int
    calls: list[ToolCall]


def cut_call(
    text: str, tools: Sequence[str], *, params: Mapping[str, Sequence[str]] | None = None
) -> str | None:
    """The tool whose call `text` was cut off in the middle of an argument (the reply hit
    max_tokens inside a file's content), when no call could be recovered; else None.

    Such a call is never completed: a write_file of half a file would destroy the rest. The
    loop tells the model with `cut_call_note`.
    """
    try:
        spans, ctx = _extract(text, tools, params)
    except Exception:  # the same guarantee as extract_tool_calls: never raises
        return None
    return ctx.cut[0] if ctx is not None and ctx.cut and not spans else None


def cut_call_note(tool: str) -> str:
    """What the model is told when its `tool` call was cut off (see cut_call)."""
    return (
        f"Your {tool} call was cut off before it ended (the reply reached the output length"
        " limit), so it was NOT run and nothing changed. Send a shorter call: for a long file,"
        " write_file a short first part now, then add the rest with edit_file, one part per"
        " call."
    )


def _safe_spans(
    text: str, tools: Sequence[str], params: Mapping[str, Sequence[str]] | None
) -> list[_Span]:
    try:
        return _extract_spans(text, tools, params)
    except Exception:
        # The one broad catch, by design: this runs on every reply of a model, on arbitrary
        # text. A parser bug must cost at most a missed recovery (the reply is then treated as
        # plain text), never the agent's turn. The property tests call _extract_spans unguarded.
        return []


def _extract_spans(
    text: str, tools: Sequence[str], params: Mapping[str, Sequence[str]] | None = None
) -> list[_Span]:
    return _extract(text, tools, params)[0]


def _extract(
    text: str, tools: Sequence[str], params: Mapping[str, Sequence[str]] | None
) -> tuple[list[_Span], CallContext | None]:
    if not isinstance(text, str) or not text or not tools:
        return [], None
    ctx = CallContext(list(tools), params or {}, budget=4 * len(text) + 20_000)
    # What a model drafts while thinking is not a call; the calls come after </think>, and
    # a <think> never closed (the reply was cut while thinking) holds none.
    thought = [m.end() for m in _THINK_END.finditer(text)]
    start = thought[-1] if thought else 0
    still = _THINK_START.search(text, start)
    return _scan(text[: still.start()] if still else text, ctx, nested=False, start=start), ctx


def _scan(text: str, ctx: CallContext, nested: bool, start: int = 0) -> list[_Span]:
    """One pass left to right over tags and fences, bare JSON, standalone call lines and
    tool-named XML elements, from `start`."""
    # Code shown without fences (def/class/import lines) makes its call lines examples.
    lines_ok = not any(_CODE_LINE.search(part) for part in text.split("```")[::2])
    elements = xmlcalls.element_opener(xmlcalls.tool_names(ctx.tools))
    finders = [_OPENER, _JSON_START] + ([_CALL_LINE] if lines_ok else [])
    finders += [elements] if elements is not None else []
    ahead = [finder.search(text, start) for finder in finders]  # the next match of each
    spans: list[_Span] = []
    pos = start
    while True:
        for index, found in enumerate(ahead):
            if found is not None and found.start() < pos:
                ahead[index] = finders[index].search(text, pos)
        live = [found for found in ahead if found is not None]
        if not live:
            return spans
        match = min(live, key=lambda found: found.start())  # an opener wins a tie
        end, calls = _read_match(text, match, ctx, nested)
        calls = [call for call in calls if not shown.is_template(call)]
        if calls:
            spans.append(_Span(match.start(), end, calls))
        pos = max(end, match.end(), pos + 1)


def _read_match(
    text: str, match: re.Match[str], ctx: CallContext, nested: bool
) -> tuple[int, list[ToolCall]]:
    """The end of what `match` starts and its calls; none when it is shown as an example."""
    if match.re is _OPENER:
        end, calls = _read_block(text, match, ctx, nested)
        if match.group("fence") and shown.introduced_as_example(text, match.start()):
            return end, []
        return end, calls
    if ctx.budget <= 0:
        return match.end(), []
    if match.re is _JSON_START:
        end, calls = _read_json(text, match.start(), ctx)
        if calls and (
            shown.inside_code(text, match.start())
            or shown.introduced_as_example(text, match.start())
        ):
            return end, []
        return end, calls
    if match.re is _CALL_LINE:
        end, calls = _read_call_line(text, match, ctx)
        return (end, []) if shown.introduced_as_example(text, match.start()) else (end, calls)
    name = match.group("element")
    closer_at = ctx.next(text, f"</{name}>", match.end())
    end, arguments = xmlcalls.element_arguments(text, match.end(), name, closer_at)
    ctx.charge(end - match.end())  # the children were read up to here, call or not
    if arguments is None:
        return match.end(), []
    return end, call_with(name, arguments, ctx)


def _read_json(text: str, start: int, ctx: CallContext) -> tuple[int, list[ToolCall]]:
    try:
        value, end = ctx.parse_at(text, start)
    except jsonrepair.JSONRepairError as exc:
        if ctx.cut_tried or not ctx.near_end(text, exc.pos):
            return start + 1, []  # stopped before the end: not a reply cut short
        try:
            value, end = parse_cut(text, start, ctx)
        except ValueError:
            return start + 1, []
    return end, calls_from_value(value, ctx)


def _read_block(
    text: str, match: re.Match[str], ctx: CallContext, nested: bool
) -> tuple[int, list[ToolCall]]:
    """The end of the block `match` opens, and the calls in it."""
    start = match.end()
    if match.group("fence"):
        closer = re.escape(match.group("fence"))
        pay_end, end = _payload_bounds(text, start, closer, ctx)
        if match.group("lang").lower() not in _CALL_FENCES:
            return end, []
        return end, _from_payload(text[start:pay_end], ctx, nested=nested)
    if match.group("tag"):
        tag = re.escape(match.group("tag"))
        closer = rf"</\s*{tag}\s*>|(?=<{tag}>|{_TURN_END})"
    elif match.group("fn"):
        closer = rf"</function>|(?=<function=|{_TURN_END})"
    elif match.group("invoke"):
        closer = rf"</invoke>|(?=<invoke\s|{_TURN_END})"
    elif match.group("pipe"):  # <|tool_call|>...<|/tool_call|> or <|tool_call_end|>
        tag = re.escape(match.group("pipe"))
        closer = rf"<\|(?:/\s*{tag}|{tag}_?end|end_?{tag})\|>|(?=<\|{tag}\|>|{_TURN_END})"
    elif match.group("bracket"):  # [TOOL_REQUEST]...[END_TOOL_REQUEST] or [/TOOL_REQUEST]
        tag = re.escape(match.group("bracket"))
        closer = rf"\[(?:/\s*{tag}|END_?{tag}|{tag}_?END)\]|(?=\[{tag}\]|{_TURN_END})"
    elif match.group("py"):
        closer = r"<\|eom_id\|>|<\|eot_id\|>|(?=<\|python_tag\|>)"
    elif match.group("ds"):
        closer = r"<[|｜]tool[▁_]call[▁_](?:end[|｜]>|(?=begin))"
    else:  # [TOOL_CALLS] and functools: the payload is exactly one JSON value
        return _read_value_block(text, start, ctx)
    pay_end, end = _payload_bounds(text, start, closer, ctx)
    payload = text[start:pay_end]
    name = match.group("fn") or match.group("ds") or match.group("invoke")
    return end, _from_payload(payload, ctx, name=name, nested=nested)


def _read_value_block(text: str, start: int, ctx: CallContext) -> tuple[int, list[ToolCall]]:
    pos = _WS.match(text, start).end()  # type: ignore[union-attr]
    named = _MISTRAL_NAME.match(text, pos)  # Mistral v11: [TOOL_CALLS]name[ARGS]{...}
    try:
        value, end = ctx.parse_at(text, named.end() if named else pos)
    except ValueError:
        return start, []
    if named:
        return end, call_with(named.group(1), value, ctx)
    return end, calls_from_value(value, ctx)


def _payload_bounds(text: str, start: int, closer: str, ctx: CallContext) -> tuple[int, int]:
    """(end of payload, end of block). JSON is measured first, so a closer inside a string
    (a fence in a README's content) does not cut the call short."""
    # No leading \s* in the searched pattern: searched from every position of a long blank
    # run, it would rescan the run each time (quadratic).
    close_re = re.compile(closer, re.IGNORECASE)
    pos = _WS.match(text, start).end()  # type: ignore[union-attr]
    if text.startswith(("{", "["), pos):
        try:
            _, json_end = ctx.parse_at(text, pos)
        except ValueError:
            json_end = -1
        if json_end >= 0:
            blank_end = _WS.match(text, json_end).end()  # type: ignore[union-attr]
            right_after = close_re.match(text, blank_end)
            if right_after:
                return json_end, right_after.end()
            if close_re.search(text, json_end) is None:  # an unterminated tag
                return json_end, json_end
    later = close_re.search(text, start)
    if later is None:
        return len(text), len(text)
    return later.start(), later.end()


def _from_payload(
    payload: str, ctx: CallContext, *, name: str | None = None, nested: bool = False
) -> list[ToolCall]:
    """Calls in the whole content of a fence or tag: JSON, Python call syntax or nested tags."""
    text = payload.strip()
    if text[:3] in ("```", "~~~") and text.endswith(text[:3]) and len(text) >= 6:
        inner = text[3:-3]
        text = inner[_FENCE_LANG.match(inner).end() :].strip()  # type: ignore[union-attr]
    if name is not None:
        if xmlcalls.starts_with_parameters(text):
            return call_with(name, xmlcalls.parameters(text), ctx)
        try:
            value = jsonrepair.loads(text) if text else {}
        except ValueError:
            return []
        return call_with(name, value, ctx)
    if text[:1] in ("{", "["):
        calls = _json_sequence(text, ctx) or _doubled_json(text, ctx)
        if calls:
            return calls
    calls = _python_calls(text, ctx)
    if calls or nested or "<" not in text:
        return calls
    return [call for span in _scan(text, ctx, nested=True) for call in span.calls]


def _doubled_json(text: str, ctx: CallContext) -> list[ToolCall]:
    """Calls in JSON whose string value was encoded twice, its closing quote and the next
    key escaped too (real 1.5B on js-add-function: `"new": "...\\n}\\", \\"replace_all\\":
    false }`, so nothing parsed and the task ended on that text)."""
    fixed = jsonrepair.closed_doubled_tail(text)
    if fixed is None:
        return []
    calls = _json_sequence(fixed, ctx)
    for call in calls:
        call.arguments = {key: jsonrepair.undoubled(value) if isinstance(value, str) else value
                          for key, value in call.arguments.items()}
    return calls


def _json_sequence(text: str, ctx: CallContext) -> list[ToolCall]:
    """Calls in one or more JSON values written one after another."""
    calls: list[ToolCall] = []
    pos = 0
    while pos < len(text):
        try:
            value, pos = ctx.parse_at(text, pos)
        except ValueError:
            try:  # the last call of a block may lack its closing brackets (cut short)
                value, pos = parse_cut(text, pos, ctx)
            except ValueError:
                break
        calls += calls_from_value(value, ctx)
        pos = _SEPARATORS.match(text, pos).end()  # type: ignore[union-attr]
    return calls


def _read_call_line(
    text: str, match: re.Match[str], ctx: CallContext
) -> tuple[int, list[ToolCall]]:
    """A line that is nothing but `tool(literal args)` (or a [list of such calls])."""
    name = match.group("name")
    if ctx.resolve(name) is None:
        ctx.charge(0)
        return match.end(), []
    opener = match.start("list") if match.group("list") else match.end() - 1
    end = pycalls.bracket_end(text, opener)
    if end < 0 or not _LINE_END.match(text, end):
        ctx.charge((end if end > 0 else len(text)) - opener)
        return match.end(), []
    if match.group("list"):
        found = pycalls.calls_in_expression(text[opener:end])
    else:  # parse only the argument list: "Write-File(" is not a Python name
        found = pycalls.calls_in_expression("_" + text[opener:end])
        for call in found or ():
            call.callee = name
    calls = _from_pycalls(found, ctx)
    if not calls:
        ctx.charge(end - opener)
        return match.end(), []
    return end, calls


def _python_calls(source: str, ctx: CallContext) -> list[ToolCall]:
    """Calls from source that is nothing but tool calls with literal arguments, else []."""
    start = _CALL_LINE.match(source)  # cheap: code that opens with `def` is not calls
    if not start or ctx.resolve(start.group("name")) is None or ctx.budget <= 0:
        return []
    ctx.budget -= len(source)
    return _from_pycalls(pycalls.calls_in_source(source), ctx)


def _from_pycalls(found: list[pycalls.PyCall] | None, ctx: CallContext) -> list[ToolCall]:
    """Tool calls for all of `found`, or none if any is not a call of a known tool."""
    calls: list[ToolCall] = []
    for call in found or ():
        tool = ctx.resolve(call.callee)
        order = list(ctx.params.get(tool) or ()) if tool else []
        if tool is None or len(call.args) > len(order):
            return []  # positional arguments need the tool's parameter names
        arguments = {**dict(zip(order, call.args, strict=False)), **call.kwargs}
        calls.append(finish(call.callee, tool, arguments, ctx))
    return calls
