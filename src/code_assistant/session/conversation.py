"""The conversation of one REPL session: turns in memory, each message written to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.backends.base import Message, ToolCall
from code_assistant.session.compact import Compaction
from code_assistant.session.store import SessionStore, Turn

CANCELLED = "(cancelled by the user)"


@dataclass
class Conversation:
    """Turns since the last compaction, the summary of those before, and the session's id.

    The session row is created with the first message, so an empty REPL leaves no trace.
    """

    store: SessionStore
    project: Path
    id: str | None = None
    name: str = ""
    summary: str = ""
    turns: list[Turn] = field(default_factory=list)
    next_turn: int = 1
    dropped_turns: int = 0

    @classmethod
    def resume(cls, store: SessionStore, ref: str, project: Path) -> Conversation:
        """The session `ref` (id, prefix, name or "latest" in this project); UsageError if none."""
        info = store.resolve(ref, project if ref in ("", "latest") else None)
        loaded = store.load(info.id)
        return cls(
            store,
            project,
            id=info.id,
            name=info.name,
            summary=info.summary,
            turns=loaded.turns,
            next_turn=store.last_turn_number(info.id) + 1,
            dropped_turns=loaded.dropped_turns,
        )

    def ensure_saved(self) -> str:
        if self.id is None:
            self.id = self.store.create(self.project)
        return self.id

    def begin(self, text: str) -> Turn:
        """Start a turn with the user's message, written at once."""
        turn = Turn(self.next_turn)
        self.next_turn += 1
        self.turns.append(turn)
        self.record(turn, Message("user", text))
        return turn

    def record(self, turn: Turn, message: Message) -> None:
        turn.messages.append(message)
        self.store.append(self.ensure_saved(), turn.number, message)

    def sync(self, turn: Turn, messages: list[Message], start: int) -> None:
        """Record what the agent appended to `messages` since the turn's user message at `start`."""
        for message in messages[start + len(turn.messages) :]:
            self.record(turn, message)

    def cancel(self, turn: Turn, partial: str = "") -> None:
        """Close a turn cut short: answer pending tool calls, keep what was said, note it."""
        self.close(turn, f"{partial.rstrip()}\n\n{CANCELLED}".strip())

    def cancel_calls(self, turn: Turn) -> None:
        for call in _unanswered(turn.messages):
            self.record(turn, Message("tool", CANCELLED, tool_call_id=call.id, name=call.name))

    def close(self, turn: Turn, note: str) -> None:
        """End a turn the agent left open (step budget, no action) so the history stays valid."""
        if not turn.complete:
            self.cancel_calls(turn)
            self.record(turn, Message("assistant", note))

    def discard(self, turn: Turn) -> None:
        """Forget a failed turn here; the store leaves it out on resume (it is incomplete)."""
        if turn in self.turns:
            self.turns.remove(turn)

    def history(self) -> list[Message]:
        return [m for turn in self.turns for m in turn.messages]

    def apply(self, compaction: Compaction) -> None:
        self.summary = compaction.summary
        self.turns = list(compaction.kept)
        self.store.set_summary(self.ensure_saved(), self.summary, compaction.through_turn)

    def save_as(self, name: str) -> str:
        session_id = self.ensure_saved()
        self.store.set_name(session_id, name)
        self.name = name.strip()
        return session_id


def _unanswered(messages: list[Message]) -> list[ToolCall]:
    """Tool calls of the last assistant message that have no tool result after it."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "assistant":
            answered = {m.tool_call_id for m in messages[index + 1 :] if m.role == "tool"}
            return [c for c in message.tool_calls if c.id not in answered]
    return []
