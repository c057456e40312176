"""Slash commands about the session: save, resume, sessions, compact, clear, undo, diff,
feedback, mcp, exit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape

from code_assistant.agent.personas import IMPLEMENTER
from code_assistant.errors import UsageError
from code_assistant.feedback.store import feedback_on_last_turn
from code_assistant.session.conversation import Conversation
from code_assistant.tools.textfile import unified_diff

if TYPE_CHECKING:
    from code_assistant.repl.session import Repl


class SessionCommands:
    """Commands that replace the session's conversation or read its changes: they get the
    session itself."""

    def __init__(self, repl: Repl) -> None:
        self.repl = repl
        self.console = repl.console

    def completions(self) -> dict[str, Any]:
        return {"resume": lambda: [s.name or s.id for s in self.repl.store.list(limit=30)]}

    def cmd_exit(self, arg: str) -> None:
        """/exit  Leave the session (it is saved; `ca --resume` continues it)."""
        self.repl.running = False

    # --- sessions ------------------------------------------------------------------------------

    def cmd_save(self, arg: str) -> None:
        """/save NAME  Name this session, to resume it with `ca --resume NAME`."""
        if not arg:
            raise UsageError("/save needs a name, e.g. /save fix-parser")
        session_id = self.repl.conversation.save_as(arg)
        self.console.print(f"session {session_id} saved as {escape(arg)}")

    def cmd_resume(self, arg: str) -> None:
        """/resume [ID|NAME]  Continue a saved session (the latest of this project by default)."""
        repl = self.repl
        conversation = Conversation.resume(repl.store, arg or "latest", repl.loaded.root)
        repl.conversation = conversation
        self.console.print(
            f"resumed session {conversation.id}: {len(conversation.turns)} turn(s)"
            + (" and a summary of earlier ones" if conversation.summary else "")
        )
        for turn in conversation.turns[-3:]:
            first = " ".join(turn.messages[0].content.split())[:70]
            self.console.print(f"  [dim]> {escape(first)}[/]")

    def cmd_sessions(self, arg: str) -> None:
        """/sessions  List saved sessions: id, project, started, turns, first message."""
        rows = self.repl.store.list(limit=30)
        if not rows:
            self.console.print("no saved sessions yet")
            return
        for info in rows:
            self.console.print(f"  {escape(info.line(self.repl.loaded.root))}", soft_wrap=True)

    def cmd_compact(self, arg: str) -> None:
        """/compact  Summarise older turns now, keeping recent ones verbatim."""
        if not self.repl.conversation.turns:
            self.console.print("nothing to compact yet")
        elif not self.repl.compact(force=True):
            self.console.print("nothing to compact")

    def cmd_clear(self, arg: str) -> None:
        """/clear  Start a fresh session (pinned files stay pinned)."""
        self.repl.conversation = Conversation(self.repl.store, self.repl.loaded.root)
        self.repl.pending_plan = ""
        self.console.print("started a fresh session; the old one can be resumed")

    # --- changes -------------------------------------------------------------------------------

    def cmd_undo(self, arg: str) -> None:
        """/undo  Revert the files changed by the last task (one step per /undo)."""
        if not self.repl.change_sets:
            self.console.print("nothing to undo in this session")
            return
        change_set = self.repl.change_sets.pop()
        for line in change_set.revert(self.repl.loaded.root):
            self.console.print(f"  {escape(line)}")
        self.repl.ctx.changes[:] = [c for c in self.repl.ctx.changes if c not in change_set.changes]
        left = len(self.repl.change_sets)
        self.console.print(f"undone; {left} earlier change set(s) can still be undone")

    def cmd_diff(self, arg: str) -> None:
        """/diff  Show what this session changed (every change set not undone)."""
        first: dict[str, bytes | None] = {}
        for change in self.repl.ctx.changes:
            first.setdefault(change.path, change.before)
        if not first:
            self.console.print("no changes in this session")
            return
        for rel, before in first.items():
            path = self.repl.loaded.root / rel
            now = path.read_bytes() if path.is_file() else None
            diff = unified_diff(rel, before, now, line_ends=True)
            if diff.strip():
                self.repl.renderer.show_diff(diff)
            else:
                self.console.print(f"[dim]{escape(rel)}: unchanged now[/]")

    # --- feedback and MCP ----------------------------------------------------------------------

    def cmd_feedback(self, arg: str) -> None:
        """/feedback good|bad [NOTE]  Judge the last answer; lessons reach later sessions."""
        verdict, _, note = arg.partition(" ")
        turns = self.repl.conversation.turns
        if not turns:
            raise UsageError("nothing to give feedback on yet: ask something first")
        pair = feedback_on_last_turn(
            self.repl.loaded,
            verdict.lower(),
            note.strip(),
            persona=IMPLEMENTER.name,
            model=IMPLEMENTER.model(self.repl.loaded.config),
            messages=turns[-1].messages,
        )
        self.console.print(f"recorded {escape(pair.category)} feedback {pair.id[:8]}")

    def cmd_mcp(self, arg: str) -> None:
        """/mcp  MCP servers of the machine config: state and tools."""
        from code_assistant.mcp_client import manager_for, status_lines  # the MCP SDK: on use

        for line in status_lines(manager_for(self.repl.loaded), verbose=True):
            self.console.print(f"  {escape(line)}", soft_wrap=True)
