"""`ca sessions`: the saved interactive sessions (resume one with `ca --resume ID`)."""

from __future__ import annotations

import typer

from code_assistant.commands import JsonOut


def register(app: typer.Typer) -> None:
    app.command("sessions", help="List saved REPL sessions (resume one with ca --resume ID).")(
        sessions
    )


def sessions(
    ctx: typer.Context,
    here: bool = typer.Option(False, "--here", help="Only sessions of this project."),
    limit: int = typer.Option(30, "--limit", "-n", min=1, help="How many to list."),
    json_out: JsonOut = False,
) -> None:
    from code_assistant.cli import options_of
    from code_assistant.config import default_sessions_dir
    from code_assistant.session.store import SessionStore

    options = options_of(ctx)
    loaded = options.load()
    with SessionStore.in_dir(default_sessions_dir(loaded)) as store:
        rows = store.list(loaded.root if here else None, limit=limit)
    if json_out or options.json:
        keys = ("id", "name", "project", "started", "updated", "turns", "first_message")
        from code_assistant.jsonlines import result

        result("sessions", sessions=[{k: getattr(r, k) for k in keys} for r in rows])
        return
    if not rows:
        print("no saved sessions yet; `ca` starts one")
        return
    for row in rows:
        print(row.line())
