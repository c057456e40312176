"""Core commands: `ca config show|init` and `ca doctor`."""

from __future__ import annotations

import typer

config_app = typer.Typer(help="Show or create configuration files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.command("doctor", help="Check the backend, the configured models and optional extras.")(
        doctor
    )


@config_app.command("show", help="Every effective setting and the layer it came from.")
def config_show(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    import json

    from code_assistant.cli import options_of
    from code_assistant.config import effective_values

    options = options_of(ctx)
    loaded = options.load()
    rows = effective_values(loaded)
    if json_out or options.json:
        print(json.dumps({key: {"value": v, "source": s} for key, v, s in rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value", "from", box=None, pad_edge=False)
    for key, value, source in rows:
        table.add_row(key, json.dumps(value), source)
    Console().print(table)


@config_app.command("init", help="Write a commented ca.config here (or the machine config).")
def config_init(
    ctx: typer.Context,
    global_: bool = typer.Option(False, "--global", help="Write ~/.code-assistant/config.toml."),
) -> None:
    from code_assistant.cli import options_of
    from code_assistant.config import PROJECT_FILE, write_config_file

    loaded = options_of(ctx).load()
    path = loaded.home / "config.toml" if global_ else loaded.root / PROJECT_FILE
    if write_config_file(path, "global" if global_ else "project"):
        print(f"wrote {path}")
    else:
        print(f"{path} exists; left it as it is")


def doctor(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    import json

    from code_assistant.cli import options_of
    from code_assistant.doctor import run_checks

    options = options_of(ctx)
    checks = run_checks(options.load())
    if json_out or options.json:
        print(json.dumps([c.__dict__ for c in checks], indent=2))
    else:
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
        for check in checks:
            print(f"[{marks[check.status]}] {check.name}: {check.detail}")
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)
