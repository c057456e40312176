"""`ca do TASK` (also `ca "TASK"`): the implementer with tools, one task, then exit."""

from __future__ import annotations

import typer

from code_assistant.commands import JsonOut


def register(app: typer.Typer) -> None:
    app.command("do", help='Run one task with tools in this project (also: ca "TASK").')(do)


def do(
    ctx: typer.Context,
    task: list[str] = typer.Argument(..., help="What to do, e.g. add a --verbose flag."),
    json_out: JsonOut = False,
) -> None:
    from code_assistant.agent.task import run_task
    from code_assistant.cli import options_of

    options = options_of(ctx)
    code = run_task(options.load(project=True), " ".join(task), json_out=json_out or options.json)
    raise typer.Exit(code)
