"""One-shot task mode: the implementer with tools on the current project, then a summary."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape

from code_assistant.agent import freshstart, stuck
from code_assistant.agent.context import attach_named_files
from code_assistant.agent.draft import plan_draft
from code_assistant.agent.events import RetryEvent, Transcript
from code_assistant.agent.personas import IMPLEMENTER
from code_assistant.agent.runner import run_persona
from code_assistant.agent.verify import Verifier
from code_assistant.app import App
from code_assistant.backends import get_backend
from code_assistant.errors import UsageError
from code_assistant.redact import Redactor, secret_values
from code_assistant.render import ConsoleRenderer, JsonRenderer, diffstat
from code_assistant.workspace import build_context

CHANGING_TOOLS = ("write_file", "edit_file", "run_shell")
STOP_NOTES = {
    "max_steps": "stopped at the step budget (max_steps): the task may be unfinished",
    "no_action": "the model did not act on the task; try rephrasing or a larger model",
    "stuck": "stopped: the model repeated the same call without progress (see above)",
    "unverified": "the check still fails: the task is not done (see the command above)",
}


def run_task(loaded: App, task: str, *, json_out: bool = False) -> int:
    """Run the implementer on `task`; print what changed. Exit 0 when it finished its task."""
    started = time.perf_counter()
    task = task.strip()
    if not task:
        raise UsageError('empty task: say what to do, e.g. ca "add a --verbose flag to cli.py"')
    config = loaded.config
    renderer: JsonRenderer | ConsoleRenderer
    if json_out:
        renderer = JsonRenderer(secrets=secret_values(config))
        ctx = build_context(loaded, ask=None)
    else:
        console = ConsoleRenderer()
        console.redactor = Redactor(secret_values(config))
        ctx = build_context(loaded, ask=console.ask)
        console.changes = ctx.changes
        renderer = console
    backend = get_backend(config)
    # The model's "done" is checked against the task's command or the project's tests.
    verifier = Verifier(loaded.root, task, config.test_command)
    transcript = run_persona(loaded, backend, IMPLEMENTER, ctx, task, renderer,
                             prompt=attach_named_files(ctx, task), verifier=verifier,
                             draft=plan_draft(loaded.root, task, config.task_draft_lines))
    restarts = 0
    while freshstart.should_restart(transcript, config.max_steps, restarts,
                                    config.task_restarts):
        restarts += 1
        renderer(RetryEvent("fresh_start"))
        verifier.tried |= {stuck.signature(c) for c in freshstart.stuck_calls(transcript)}
        verifier.used = 0  # the fresh start has its own rounds of checks
        note = freshstart.restart_note(transcript)
        again = run_persona(
            loaded, backend, IMPLEMENTER, ctx, task, renderer, verifier=verifier,
            prompt=f"{attach_named_files(ctx, task)}\n\n{note}",
            max_steps=config.max_steps - transcript.model_calls,
            temperature=freshstart.restart_temperature(config.temperature),
            draft=plan_draft(loaded.root, task, config.task_draft_lines),
        )
        transcript = freshstart.combined(transcript, again)
    transcript.seconds = time.perf_counter() - started  # what the user waited, not the loop
    if ctx.changes:  # `ca undo --task` puts these back
        from code_assistant.commands.task_undo import save_task_changes

        save_task_changes(loaded.root, task, ctx.changes)
    stats = diffstat(ctx.changes)
    refused = sum(t in CHANGING_TOOLS for t in getattr(ctx.approver, "refused", ()))
    # Its writes refused and nothing changed: whatever the model claims, the task failed.
    blocked = bool(refused) and not ctx.changes
    if isinstance(renderer, JsonRenderer):
        renderer.write({"event": "result", "command": "do", **transcript.summary(),
                        "refused": refused, "files": _files(stats)})
    else:
        _print_summary(renderer, transcript, stats)
        if blocked:
            renderer.console.print(f"[yellow]{_blocked_note(refused)}[/]", soft_wrap=True)
    return 0 if transcript.stop_reason == "done" and not blocked else 1


def _blocked_note(refused: int) -> str:
    import sys

    why = "there was no terminal to ask" if not sys.stdin.isatty() else "you refused them"
    return (
        f"not done: {refused} action(s) needed approval and {why}, so nothing changed "
        "(the reply above is the model's claim); rerun with --yes to allow changes"
    )


def _files(stats: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"path": p, "added": a, "removed": r} for p, a, r in stats]


def _print_summary(
    renderer: ConsoleRenderer, transcript: Transcript, stats: list[tuple[str, int, int]]
) -> None:
    console = renderer.console
    renderer._newline()
    if stats:
        console.print(f"[bold]{len(stats)} file(s) changed[/]")
        for path, added, removed in stats:
            console.print(f"  {path}  [green]+{added}[/] [red]-{removed}[/]")
    else:
        console.print("[dim]no files changed[/]")
    recoveries = transcript.recoveries.total()
    console.print(
        f"[dim]{transcript.model_calls} model calls, {transcript.tool_calls} tool calls, "
        f"{recoveries} recoveries, {_elapsed(transcript.seconds)}[/]"
    )
    if transcript.verified is not None:
        state = "passed" if transcript.verified else "[red]failed[/]"
        console.print(f"[dim]checked with[/] {escape(transcript.check_command)}: {state}")
    if transcript.stop_reason in STOP_NOTES:
        console.print(f"[yellow]{STOP_NOTES[transcript.stop_reason]}[/]")


def _elapsed(seconds: float) -> str:
    """0.46s, not 0.0s: a short run is still shown to the hundredth."""
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
