"""REPL conventions users bring from aider, Claude Code and Codex: /init (AGENTS.md), /mode
(edits auto, commands ask), /cost (tokens and time), and `!cmd` (a shell escape)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from code_assistant.pipeline.runtime import MeteredBackend
from code_assistant.pipeline.testrunner import detect_test_command
from code_assistant.repl.commands import ProjectGroup

if TYPE_CHECKING:
    from code_assistant.backends.base import Backend
    from code_assistant.config import Config
    from code_assistant.tools.approval import Approver


EDIT_TOOLS = frozenset({"write_file", "edit_file"})
MODES = ("ask", "edits", "auto")
MODE_HELP = {
    "ask": "every edit and command asks first",
    "edits": "edits are applied without asking; commands still ask",
    "auto": "edits and commands run without asking",
}
SHELL_TIMEOUT = 120
SHELL_TAIL_CHARS = 20_000


class SessionMeter(MeteredBackend):
    """The REPL's backend: counts calls, tokens and model time for /cost."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.model_seconds = 0.0
        self.started = time.monotonic()

    def chat(self, model: str, messages: Sequence[Any], **kwargs: Any) -> Any:
        began = time.monotonic()
        try:
            return super().chat(model, messages, **kwargs)
        finally:
            self.model_seconds += time.monotonic() - began


class PeerCommands(ProjectGroup):
    """/init, /mode and /cost."""

    def cmd_init(self, arg: str) -> None:
        """/init  Write AGENTS.md (layout and test command) for ca and other agents."""
        path = self.root / "AGENTS.md"
        if path.exists():
            self.console.print(f"{escape(str(path))} exists; left it as it is (/memory shows it)")
            return
        path.write_text(agents_md(self.root, self.loaded.config), encoding="utf-8")
        self.console.print(
            f"wrote {escape(str(path))}: add your project's rules under Conventions; "
            "every session reads it (and CLAUDE.md)"
        )

    def cmd_mode(self, arg: str) -> None:
        """/mode [ask|edits|auto]  Approval mode; no argument: the next one (Shift-Tab style)."""
        approver = self.ctx.approver
        assert approver is not None, "the REPL's tool context always has an approver"
        current = current_mode(approver)
        wanted = arg.strip().lower() or MODES[(MODES.index(current) + 1) % len(MODES)]
        if wanted not in MODES:
            self.console.print(f"[yellow]unknown mode {escape(wanted)}: ask, edits or auto[/]")
            return
        set_mode(approver, wanted)
        self.console.print(f"approval mode [bold]{wanted}[/]: {MODE_HELP[wanted]}")

    def cmd_cost(self, arg: str) -> None:
        """/cost  Model calls, tokens and time of this session."""
        meter = self.backend
        if not isinstance(meter, SessionMeter):
            self.console.print("[dim]no counts for this backend[/]")
            return
        counts = meter.meter
        elapsed = time.monotonic() - meter.started
        self.console.print(
            f"{counts.model_calls} model calls · {counts.prompt_tokens} prompt + "
            f"{counts.completion_tokens} completion tokens · {meter.model_seconds:.1f}s in the "
            f"model · {elapsed:.0f}s in this session (local models: no money spent)"
        )


def current_mode(approver: Approver) -> str:
    if approver.policy == "auto":
        return "auto"
    return "edits" if approver.always >= EDIT_TOOLS else "ask"


def set_mode(approver: Approver, mode: str) -> None:
    approver.policy = "auto" if mode == "auto" else "ask"
    if mode == "edits":
        approver.always |= EDIT_TOOLS
    elif mode == "ask":
        approver.always -= EDIT_TOOLS


def agents_md(root: Path, config: Config) -> str:
    """Facts only (a small model follows every line of it): layout and how to test."""
    skip = {"node_modules", "venv", "dist", "build", "__pycache__"}
    dirs = sorted(
        p.name for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in skip
    )
    lines = ["# AGENTS.md", "", "Instructions for coding agents working in this repository.", ""]
    if dirs:
        lines += ["## Layout", "", *[f"- `{name}/`" for name in dirs], ""]
    test = detect_test_command(root, getattr(config, "test_command", "") or "")
    if test:
        lines += ["## Commands", "", f"- Run the tests: `{test}`", ""]
    lines += ["## Conventions", ""]
    return "\n".join(lines)


def shell_escape(
    console: Console, root: Path, command: str, run: Callable[..., Any] = subprocess.run
) -> None:
    """`!cmd`: run it in the project root and show its output; the model does not see it
    (the user typed it, so no approval is asked)."""
    if not command.strip():
        console.print("[yellow]!COMMAND runs a shell command, e.g. !git status[/]")
        return
    try:
        done = run(
            command, shell=True, cwd=root, capture_output=True, text=True,
            errors="replace", timeout=SHELL_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        console.print(f"[yellow]stopped after {SHELL_TIMEOUT}s[/]")
        return
    output = (done.stdout + done.stderr)[-SHELL_TAIL_CHARS:]
    if output:
        console.print(escape(output.rstrip("\n")), soft_wrap=True)
    colour = "green" if done.returncode == 0 else "yellow"
    console.print(f"[{colour}]exit {done.returncode}[/]")
