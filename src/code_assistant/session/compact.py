"""Compaction: when the history is over its token budget, old turns become a short summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from code_assistant.agent.personas import load_prompt
from code_assistant.backends.base import Backend, ChatOptions, Message, estimate_tokens
from code_assistant.session.store import Turn

MESSAGE_CHARS = 1500  # each old message is cut to this before it is summarised
TOOL_OUTPUT_CHARS = 300


@dataclass
class Compaction:
    summary: str
    kept: list[Turn]
    summarised: list[Turn]

    @property
    def through_turn(self) -> int:
        return self.summarised[-1].number if self.summarised else 0


def message_tokens(message: Message) -> int:
    calls = json.dumps([c.to_dict() for c in message.tool_calls]) if message.tool_calls else ""
    return estimate_tokens(message.content) + estimate_tokens(calls) + 4


def turn_tokens(turn: Turn) -> int:
    return sum(message_tokens(m) for m in turn.messages)


def history_tokens(summary: str, turns: Sequence[Turn]) -> int:
    """The estimated size of what the history adds to every prompt."""
    return estimate_tokens(summary) + sum(turn_tokens(t) for t in turns)


def split_turns(turns: Sequence[Turn], keep_tokens: int) -> tuple[list[Turn], list[Turn]]:
    """(old, recent): the newest turns that fit in `keep_tokens` stay; at least one is old."""
    recent: list[Turn] = []
    used = 0
    for turn in reversed(turns[1:]):  # the oldest turn is always summarised
        used += turn_tokens(turn)
        if used > keep_tokens:
            break
        recent.insert(0, turn)
    return list(turns[: len(turns) - len(recent)]), recent


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"


def render_transcript(turns: Sequence[Turn]) -> str:
    """Old turns as plain text for the summariser: tool calls brief, tool output cut short."""
    lines: list[str] = []
    for turn in turns:
        for message in turn.messages:
            if message.role == "user":
                lines.append(f"User: {_cut(message.content, MESSAGE_CHARS)}")
            elif message.role == "assistant":
                if message.content.strip():
                    lines.append(f"Assistant: {_cut(message.content, MESSAGE_CHARS)}")
                for call in message.tool_calls:
                    args = _cut(json.dumps(call.arguments), 200)
                    lines.append(f"[assistant called {call.name}({args})]")
            elif message.role == "tool":
                output = _cut(message.content, TOOL_OUTPUT_CHARS)
                lines.append(f"[{message.name or 'tool'} -> {output}]")
        lines.append("")
    return "\n".join(lines).strip()


def summarise(
    backend: Backend,
    model: str,
    options: ChatOptions,
    previous: str,
    turns: Sequence[Turn],
    max_tokens: int,
) -> str:
    """Ask the model for a summary of `previous` plus `turns`, at most about `max_tokens`."""
    # Leave room in the context window for the prompt and the answer.
    room = max(2000, (options.num_ctx - max_tokens) * 3)
    transcript = _cut(render_transcript(turns), room)
    parts = []
    if previous.strip():
        parts.append(f"Summary so far:\n{previous.strip()}")
    parts.append(f"Conversation to add to the summary:\n{transcript}")
    parts.append(f"Write the updated summary in at most {max(50, max_tokens * 3 // 4)} words.")
    messages = [Message("system", load_prompt("compact")), Message("user", "\n\n".join(parts))]
    result = backend.chat(model, messages, options=options)
    summary = result.text.strip()
    # A model that ignores the length limit must not blow the budget it is meant to save.
    return _cut(summary, max_tokens * 4) if estimate_tokens(summary) > max_tokens else summary


def compact(
    backend: Backend,
    model: str,
    options: ChatOptions,
    summary: str,
    turns: Sequence[Turn],
    budget: int,
    *,
    force: bool = False,
) -> Compaction | None:
    """Summarise old turns when the history is over `budget` tokens (or `force`); else None.

    Recent turns up to half the budget stay verbatim; the summary gets a quarter.
    """
    if not turns or (not force and history_tokens(summary, turns) <= budget):
        return None
    old, recent = split_turns(turns, budget // 2)
    new_summary = summarise(backend, model, options, summary, old, max(64, budget // 4))
    return Compaction(new_summary, recent, old)
