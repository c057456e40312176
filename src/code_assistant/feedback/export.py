"""Training data from feedback pairs: ChatML (Qwen tool-call text) or ShareGPT JSON lines."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from code_assistant.backends.base import ToolSpec
from code_assistant.feedback.pairs import Call, Pair
from code_assistant.fileio import atomic_write

Format = Literal["chatml", "sharegpt"]
FORMATS: tuple[Format, ...] = ("chatml", "sharegpt")
SpecsFor = Callable[[Sequence[str]], list[ToolSpec]]
DEFAULT_SYSTEM = "You are a coding agent working on the user's project through tools."

# Qwen2.5's chat template puts the tool signatures in the system turn in these words; a LoRA
# trained on the same text sees at training time what it will see at inference.
QWEN_TOOLS = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    "{tools}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)


@dataclass
class Turn:
    """One turn of a training conversation, before it is written in a format."""

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    calls: list[Call] = field(default_factory=list)


@dataclass
class ExportResult:
    written: int = 0
    duplicates: int = 0
    skipped: int = 0  # pairs with nothing to imitate (a rejected answer without a correction)


def turns(pair: Pair) -> list[Turn] | None:
    """The conversation a model should learn from `pair`; it ends on an assistant turn.

    A failed command is kept with its output (the fix only makes sense after it); every other
    mistake is left out, so the model learns to answer right the first time.
    """
    if pair.good.is_empty():
        return None
    conversation = [Turn("user", pair.task)]
    good = pair.good
    if pair.category == "failed_commands" and pair.bad.calls:
        conversation.append(Turn("assistant", pair.bad.text, pair.bad.calls[:1]))
        conversation.append(Turn("tool", _result(pair.bad.results, 0)))
        for index, call in enumerate(good.calls):
            conversation.append(Turn("assistant", "", [call]))
            if index < len(good.calls) - 1:
                conversation.append(Turn("tool", _result(good.results, index)))
    else:
        conversation.append(Turn("assistant", good.text, list(good.calls)))
    return conversation


def _result(results: Sequence[str], index: int) -> str:
    return results[index] if index < len(results) else ""


def _call_json(call: Call) -> dict[str, Any]:
    return {"name": call.name, "arguments": call.arguments}


def qwen_assistant_text(turn: Turn) -> str:
    """Text, then each call as Qwen writes it: <tool_call>\\n{json}\\n</tool_call>."""
    blocks = [turn.text.strip()] if turn.text.strip() else []
    for call in turn.calls:
        body = json.dumps(_call_json(call), ensure_ascii=False)
        blocks.append(f"<tool_call>\n{body}\n</tool_call>")
    return "\n".join(blocks)


def qwen_system(system: str, specs: Sequence[ToolSpec]) -> str:
    if not specs:
        return system
    tools = "\n".join(json.dumps(s.openai_schema(), ensure_ascii=False) for s in specs)
    return f"{system}\n\n{QWEN_TOOLS.format(tools=tools)}"


def to_chatml(
    conversation: Sequence[Turn], system: str, specs: Sequence[ToolSpec]
) -> dict[str, Any]:
    messages: list[dict[str, str]] = [{"role": "system", "content": qwen_system(system, specs)}]
    for turn in conversation:
        if turn.role == "assistant":
            messages.append({"role": "assistant", "content": qwen_assistant_text(turn)})
        else:
            messages.append({"role": turn.role, "content": turn.text})
    return {"messages": messages}


def to_sharegpt(
    conversation: Sequence[Turn], system: str, specs: Sequence[ToolSpec]
) -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT: tool calls as function_call turns, results as observations.

    A function_call turn holds only the call(s), so text written beside a call is dropped.
    """
    rows: list[dict[str, str]] = [{"from": "system", "value": system}]
    for turn in conversation:
        if turn.role == "user":
            rows.append({"from": "human", "value": turn.text})
        elif turn.role == "tool":
            rows.append({"from": "observation", "value": turn.text})
        elif turn.calls:
            calls = [_call_json(c) for c in turn.calls]
            value = calls[0] if len(calls) == 1 else calls
            rows.append({"from": "function_call", "value": json.dumps(value, ensure_ascii=False)})
        else:
            rows.append({"from": "gpt", "value": turn.text})
    record: dict[str, Any] = {"conversations": rows}
    if specs:
        functions = [{"name": s.name, "description": s.description, "parameters": s.parameters}
                     for s in specs]
        record["tools"] = json.dumps(functions, ensure_ascii=False)
    return record


def system_prompt_for(persona: str) -> str:
    """The persona's own prompt (the one it ran with, minus project context), else a default."""
    from code_assistant.agent.personas import load_prompt

    if not re.fullmatch(r"[a-z][a-z_]*", persona):  # a name from the store, never a path
        return DEFAULT_SYSTEM
    try:
        return load_prompt(persona).strip()
    except OSError:
        return DEFAULT_SYSTEM


def records(
    pairs: Iterable[Pair], fmt: Format, specs_for: SpecsFor, result: ExportResult
) -> list[dict[str, Any]]:
    """One training record per distinct pair that shows what to do; counts go to `result`."""
    write = to_chatml if fmt == "chatml" else to_sharegpt
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for pair in pairs:
        conversation = turns(pair)
        if conversation is None:
            result.skipped += 1
            continue
        names = pair.tools or sorted({c.name for c in [*pair.bad.calls, *pair.good.calls]})
        record = write(conversation, system_prompt_for(pair.persona), specs_for(names))
        key = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        out.append(record)
    result.written = len(out)
    return out


def export_pairs(pairs: Iterable[Pair], fmt: Format, out: str, specs_for: SpecsFor) -> ExportResult:
    """Write the records as JSON lines to `out` ('-': standard output), replacing it whole."""
    if fmt not in FORMATS:
        from code_assistant.errors import UsageError

        raise UsageError(f"unknown export format {fmt!r}: use chatml or sharegpt")
    result = ExportResult()
    text = "".join(
        json.dumps(r, ensure_ascii=False) + "\n" for r in records(pairs, fmt, specs_for, result)
    )
    if out == "-":
        sys.stdout.write(text)
    else:
        atomic_write(Path(out), text)
    return result


