"""Core commands: `ca config show|init` and `ca doctor`."""

from __future__ import annotations

import typer

from code_assistant.commands import JsonOut

config_app = typer.Typer(help="Show or create configuration files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.command("doctor", help="Check the backend, the configured models and optional extras.")(
        doctor
    )
    app.command("trust", help="Honour this project's ca.config settings that need trust.")(
        trust_project
    )


@config_app.command("show", help="Every effective setting and the layer it came from.")
def config_show(
    ctx: typer.Context,
    json_out: JsonOut = False,
) -> None:
    import json

    from code_assistant.cli import options_of
    from code_assistant.config import effective_values

    options = options_of(ctx)
    loaded = options.load()
    rows = effective_values(loaded)
    if json_out or options.json:
        from code_assistant.jsonlines import result

        data = {key: {"value": v, "source": s} for key, v, s in rows}
        for key in loaded.untrusted:
            data[key]["trusted"] = False
        result("config show", settings=data)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value", "from", box=None, pad_edge=False)
    for key, value, source in rows:
        table.add_row(key, json.dumps(value), source)
    Console().print(table)
    if loaded.untrusted:
        from code_assistant.trust import describe

        lines = ["ca.config sets these, ignored until you run `ca trust` in this project:"]
        print("\n".join([*lines, *describe(loaded.untrusted)]))


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


def trust_project(
    ctx: typer.Context,
    revoke: bool = typer.Option(False, "--revoke", help="Stop trusting this project."),
) -> None:
    """Show the trust-gated values of the project file and trust them (an explicit act)."""
    from code_assistant import trust
    from code_assistant.cli import options_of
    from code_assistant.config import PROJECT_FILE, read_toml

    loaded = options_of(ctx).load()
    if revoke:
        done = trust.revoke_trust(loaded.home, loaded.root)
        print(f"{'revoked' if done else 'was not trusted'}: {loaded.root}")
        return
    if not loaded.untrusted:
        project = read_toml(loaded.root / PROJECT_FILE)
        machine = {k: getattr(loaded.config, k) for k in trust.KEYED_BACKENDS.values()}
        gated = trust.gated_values(project, machine)
        state = "already trusted" if gated else "nothing to trust: it sets no trust-gated keys"
        print(f"{loaded.root / PROJECT_FILE}: {state}")
        return
    trust.record_trust(loaded.home, loaded.root, loaded.untrusted)
    lines = [f"trusted {loaded.root / PROJECT_FILE}; these settings now apply:"]
    print("\n".join([*lines, *trust.describe(loaded.untrusted)]))


def doctor(
    ctx: typer.Context,
    json_out: JsonOut = False,
) -> None:
    from code_assistant.cli import options_of
    from code_assistant.doctor import run_checks
    from code_assistant.jsonlines import result

    options = options_of(ctx)
    checks = run_checks(options.load())
    if json_out or options.json:
        ok = not any(c.status == "fail" for c in checks)
        result("doctor", ok=ok, checks=[c.__dict__ for c in checks])
    else:
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
        for check in checks:
            print(f"[{marks[check.status]}] {check.name}: {check.detail}")
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)
