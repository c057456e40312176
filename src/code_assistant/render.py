"""Terminal and JSON renderings of agent events, diffs, and the approval prompt."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import IO, Any, TextIO

from code_assistant.agent.events import (
    Event,
    RetryEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    WarningEvent,
)
from code_assistant.redact import Redactor, redact, secret_values
from code_assistant.tools.registry import Change
from code_assistant.tools.textfile import unified_diff

WRITE_TOOLS = ("write_file", "edit_file")
TAIL_LINES = 4  # of a failed command's output, shown under its line


def diffstat(changes: list[Change]) -> list[tuple[str, int, int]]:
    """(path, added, removed) per file, from its first `before` to its last `after`."""
    first: dict[str, bytes | None] = {}
    last: dict[str, bytes | None] = {}
    for change in changes:
        first.setdefault(change.path, change.before)
        last[change.path] = change.after
    rows = []
    for path, before in first.items():
        added = removed = 0
        for line in unified_diff(path, before, last[path], line_ends=True).splitlines()[2:]:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
        rows.append((path, added, removed))
    return rows


class ConsoleRenderer:
    """Streams tokens, shows tool calls as compact lines and edits as coloured diffs."""

    def __init__(self, changes: list[Change] | None = None, stream: IO[str] | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stdout, highlight=False)
        self.changes = changes if changes is not None else []
        self._at_line_start = True
        self.diff_shown = False  # the approval prompt already showed this write's diff
        self.redactor = Redactor(secret_values())

    def __call__(self, event: Event) -> None:
        if isinstance(event, TokenEvent):
            self.console.file.write(event.text)
            self.console.file.flush()
            self._at_line_start = event.text.endswith("\n")
            return
        self._newline()
        match event:
            case ToolCallEvent(name=name, arguments=arguments):
                shown = brief_args(arguments, self.redactor)
                self.console.print(f"[cyan]⏺ {name}[/]({shown})")
            case ToolResultEvent():
                self._tool_result(event)
            case RetryEvent(strategy=strategy):
                self.console.print(f"[yellow]↻ recovering: {strategy}[/]")
            case WarningEvent(message=message):
                self.console.print(f"[yellow]warning: {message}[/]")

    def _newline(self) -> None:
        if not self._at_line_start:
            self.console.file.write("\n")
            self._at_line_start = True

    def _tool_result(self, result: ToolResultEvent) -> None:
        lines = self.redactor.text(result.output).strip().split("\n")
        first = _escape(lines[0][:160])
        if not result.ok:
            self.console.print(f"  [red]✗[/] {_escape(user_facing(lines[0])[:160])}")
            return
        if result.failed:  # the command ran and failed: show the end, where errors are
            self.console.print(f"  [yellow]✗[/] {first}")
            self._tail(lines[1:])
            return
        shown, self.diff_shown = self.diff_shown, False
        if result.name in WRITE_TOOLS:
            self._write_result(lines, shown)
            return
        self.console.print(f"  [green]✓[/] {first}")
        if result.name == "run_shell":  # what the command printed, not only its exit code
            self._tail(lines[1:])

    def _tail(self, lines: list[str]) -> None:
        for line in [line for line in lines if line.strip()][-TAIL_LINES:]:
            self.console.print(f"    [dim]{_escape(line[:160])}[/]")

    def _write_result(self, lines: list[str], shown: bool) -> None:
        """An edit's summary, then its diff; the model-facing "lines N-M now read:" and the
        numbered lines are for the model (the diff shows them to the user)."""
        head = next((line for line in lines if " now read:" in line), lines[0])
        head = head.split("; lines ", 1)[0] if " now read:" in head else head
        self.console.print(f"  [green]✓[/] {_escape(head[:160])}")
        if shown:
            return
        if self.changes:
            change = self.changes[-1]
            self.show_diff(unified_diff(change.path, change.before, change.after, line_ends=True))
            return
        at = next((i for i, line in enumerate(lines) if " now read:" in line), None)
        if at is not None:  # no change log (e.g. no approval path): the new lines as text
            self._tail(lines[at + 1 :])

    def show_diff(self, diff: str) -> None:
        from rich.syntax import Syntax

        if diff.strip():
            self.console.print(Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark"))

    def ask(self, tool: str, summary: str, detail: str) -> str:
        """The approval prompt: shows the diff or command, asks y/n/a."""
        self._newline()
        if not sys.stdin.isatty():
            self.console.print(
                f"[yellow]{tool} {summary}: needs approval but there is no terminal; "
                "rerun with --yes to allow changes[/]"
            )
            return "n"
        if detail:
            self.show_diff(detail)
            self.diff_shown = True
        self.console.print(
            f"[bold]Allow {tool}[/] {_escape(summary)}? \\[y]es \\[n]o \\[a]lways ", end=""
        )
        key = read_key()
        self.console.print(key if key.isprintable() else "")
        if key.lower() == "n":
            instead = self.console.input("  what should it do instead? (Enter: nothing) ")
            return f"n:{instead}" if instead.strip() else "n"
        return key


class JsonRenderer:
    """One JSON object per line per event, for scripts (`--json`); secrets redacted."""

    def __init__(self, stream: TextIO | None = None, secrets: Sequence[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redactor = Redactor(secret_values() if secrets is None else secrets)
        self._pending = ""  # streamed text not yet written: a key may be split across tokens

    def __call__(self, event: Event) -> None:
        if not isinstance(event, TokenEvent):
            self.write(event.to_dict())
            return
        # Tokens go out a line at a time, so redaction sees a whole key and its label.
        self._pending += event.text
        cut = self._pending.rfind("\n") + 1
        if cut:
            text, self._pending = self._pending[:cut], self._pending[cut:]
            self._emit({"event": "token", "text": text})

    def write(self, payload: dict[str, Any]) -> None:
        if self._pending:
            text, self._pending = self._pending, ""
            self._emit({"event": "token", "text": text})
        self._emit(payload)

    def _emit(self, payload: dict[str, Any]) -> None:
        payload = self.redactor.data(payload)
        self.stream.write(json.dumps(payload, default=str) + "\n")
        self.stream.flush()


def user_facing(message: str) -> str:
    """A refusal as the user should read it (the rest of the text is advice for the model)."""
    message = message.removeprefix("error: ")
    if message.startswith("the user's deny_commands list denied "):
        return "blocked by deny_commands: " + message.split(" denied ", 1)[1].split(". ", 1)[0]
    if message.startswith("the user denied "):
        action = message.removeprefix("the user denied ").split(". Do not retry", 1)[0]
        what, *told_model = action.split(", and said what to do instead: ", 1)
        told = f" (told the model: {told_model[0]})" if told_model else ""
        return f"not allowed: {what.rstrip('.')}{told}"
    return message


def brief_args(arguments: dict[str, Any], redactor: Redactor | None = None) -> str:
    """Tool arguments on one line, each value cut at 60 characters, markup-escaped."""
    parts = []
    for key, value in arguments.items():
        text = value if isinstance(value, str) else json.dumps(value)
        text = redactor.text(text) if redactor else redact(text)
        text = text.replace("\n", "⏎")
        parts.append(f"{key}={_escape(text[:60])}{'…' if len(text) > 60 else ''}")
    return ", ".join(parts)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def read_key() -> str:
    """One key press, no Enter needed (a terminal in raw mode); Ctrl-C still interrupts."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:  # not a real terminal after all: a line
        return sys.stdin.readline().strip()[:1]
    try:
        # TCSANOW: the default (TCSAFLUSH) would throw away a key typed before the prompt.
        tty.setcbreak(fd, termios.TCSANOW)
        # The fd itself: a buffered sys.stdin may wait for more bytes than the one key.
        key = os.read(fd, 4).decode("utf-8", "replace")[:1]
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if key == "\x03":
        raise KeyboardInterrupt
    return key
