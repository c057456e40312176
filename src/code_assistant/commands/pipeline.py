"""`ca run REQ.md` (pipeline mode), `ca runs` (list runs) and `ca undo` (restore a checkpoint)."""

from __future__ import annotations

from typing import Any

import typer

from code_assistant.commands import JsonOut


def register(app: typer.Typer) -> None:
    app.command(
        "run", help="Pipeline mode: plan, implement, review, fix, test and document a requirement."
    )(run)
    app.command("runs", help="List pipeline runs of this project with their status.")(runs)
    app.command("undo", help="Restore the project's files to a run's git checkpoint.")(undo)


def _interrupt_on_sigterm() -> None:
    """A killed run saves its state like Ctrl-C does, so it can be resumed."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run(
    ctx: typer.Context,
    target: str | None = typer.Argument(
        None, metavar="[REQ.md | RUN_ID]", help="The requirement file (with --resume: a run id)."
    ),
    req_file: str | None = typer.Option(None, "--req-file", help="The requirement file."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue a run (RUN_ID, default the latest unfinished)."
    ),
    json_out: JsonOut = False,
) -> None:
    from pathlib import Path

    from code_assistant.cli import options_of
    from code_assistant.errors import UsageError
    from code_assistant.pipeline.run import resume_run, start_run

    options = options_of(ctx)
    if resume and req_file:
        raise UsageError("--resume continues a saved run; it takes a run id, not --req-file")
    if not resume and target and req_file:
        raise UsageError("give the requirement file once: either REQ.md or --req-file REQ.md")
    if not resume and not (target or req_file):
        raise UsageError("missing requirement file: ca run REQ.md (or --resume to continue)")
    loaded = options.load(project=True)
    json_out = json_out or options.json
    _interrupt_on_sigterm()
    if resume:
        raise typer.Exit(resume_run(loaded, target, json_out=json_out))
    base = Path(options.cwd) if options.cwd else Path.cwd()
    path = req_file or target or ""
    raise typer.Exit(start_run(loaded, path, base=base, json_out=json_out))


def runs(
    ctx: typer.Context,
    json_out: JsonOut = False,
) -> None:
    import time

    from code_assistant.cli import options_of
    from code_assistant.pipeline.state import RunStore

    options = options_of(ctx)
    store = RunStore(options.load().root)
    rows: list[dict[str, Any]] = []
    for state in store.list():
        rows.append({
            "id": state.id,
            "status": state.status,
            "phase": state.next_phase() or "",
            "tests_passed": state.tests_passed,
            "requirement": state.requirement_path,
            "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(state.updated_at)),
            "error": state.error,
        })
    if json_out or options.json:
        from code_assistant.jsonlines import result

        result("runs", runs=rows)
        return
    if not rows:
        print(f"no runs in {store.dir}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    # The id is what users copy for --resume: never wrapped or cut, whatever the width.
    widest = max(len(row["id"]) for row in rows)
    table.add_column("run", no_wrap=True, min_width=widest)
    for name in ("status", "next phase", "tests", "updated"):
        table.add_column(name, no_wrap=True)
    table.add_column("requirement", overflow="fold")
    for row in rows:
        tests = {True: "pass", False: "FAIL", None: "-"}[row["tests_passed"]]
        table.add_row(row["id"], row["status"], row["phase"] or "-", tests, row["updated"],
                      row["requirement"])
    Console(highlight=False).print(table)


def undo(
    ctx: typer.Context,
    run_id: str | None = typer.Argument(None, help="The run (default: the latest)."),
    to: str = typer.Option(
        "start", "--to", help="start (before the run) or a phase: the checkpoint after it."
    ),
    task: bool = typer.Option(False, "--task", help="Undo the last `ca do` task instead."),
) -> None:
    from pathlib import Path

    from code_assistant.cli import options_of
    from code_assistant.errors import UsageError
    from code_assistant.pipeline.checkpoint import restore
    from code_assistant.pipeline.state import PHASES, RunStore

    loaded = options_of(ctx).load()
    if task:
        from code_assistant.commands.task_undo import undo_last_task

        print("\n".join(undo_last_task(Path(loaded.root))))
        return
    store = RunStore(loaded.root)
    if run_id:
        state = store.load(run_id)
    else:
        every = store.list()
        if not every:
            raise UsageError(
                f"no runs in {store.dir}: nothing to undo (a `ca do` task: ca undo --task)"
            )
        state = every[-1]
    if to != "start" and to not in PHASES:
        raise UsageError(f"--to must be start or one of: {', '.join(PHASES)}")
    commit = state.checkpoints.get("start") if to == "start" else state.phases[to].checkpoint
    if not commit:
        raise UsageError(
            f"run {state.id} has no checkpoint {to!r} (not a git repository, checkpoint = "
            "\"none\", or the phase did not finish)"
        )
    changed = restore(loaded.root, commit)
    for path in changed:
        print(f"restored {path}")
    print(f"files now match run {state.id} at {to} ({commit[:10]}); "
          "the state before this undo is saved as refs/ca/undo")
