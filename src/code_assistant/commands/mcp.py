"""`ca mcp list` and `ca mcp test NAME`: the configured MCP servers, their state and tools."""

from __future__ import annotations

from typing import Any

import typer

from code_assistant.app import App
from code_assistant.commands import JsonOut

mcp_app = typer.Typer(
    help="MCP servers of the machine config ([mcp.servers.NAME]): list them, test one.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(mcp_app, name="mcp")


@mcp_app.command("list", help="Connect to every enabled server; show its state and tools.")
def mcp_list(
    ctx: typer.Context,
    json_out: JsonOut = False,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="One line per tool."),
) -> None:
    from code_assistant.cli import options_of

    options = options_of(ctx)
    loaded = options.load()
    servers = loaded.config.mcp.servers
    if not servers and not (json_out or options.json):
        print(f"no MCP servers configured; add [mcp.servers.NAME] to {loaded.home / 'config.toml'}")
        raise typer.Exit(0)
    raise typer.Exit(_show(loaded, servers, json_out or options.json, verbose))


@mcp_app.command("test", help="Connect to one server (even a disabled one); list or call tools.")
def mcp_test(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The server's name in [mcp.servers.NAME]."),
    call: str | None = typer.Option(None, "--call", help="Call this tool (its MCP name)."),
    args: str = typer.Option("{}", "--args", help="Arguments of --call as a JSON object."),
    json_out: JsonOut = False,
) -> None:
    from code_assistant.cli import options_of
    from code_assistant.errors import UsageError

    options = options_of(ctx)
    loaded = options.load()
    servers = loaded.config.mcp.servers
    if name not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise UsageError(
            f"no MCP server {name!r} in {loaded.home / 'config.toml'} (configured: {known})"
        )
    arguments = _parse_arguments(args) if call else {}
    server = servers[name].model_copy(update={"enabled": True})
    code = _show(loaded, {name: server}, json_out or options.json, True, call, arguments)
    raise typer.Exit(code)


def _parse_arguments(text: str) -> dict[str, Any]:
    import json

    from code_assistant.errors import UsageError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError('--args must be a JSON object, e.g. --args \'{"a": 1}\'')
    return value


def _show(
    loaded: App,
    servers: Any,
    json_out: bool,
    verbose: bool,
    call: str | None = None,
    arguments: dict[str, Any] | None = None,
) -> int:
    """Connect, print the status (and a call's result); 1 when a server or the call failed."""
    from dataclasses import asdict

    from code_assistant.errors import ToolError
    from code_assistant.mcp_client import McpManager, render_result, status_lines

    with McpManager(servers, root=loaded.root, log_dir=loaded.home / "logs") as manager:
        manager.wait()
        statuses = manager.status()
        failed = any(s.state in ("failed", "invalid") for s in statuses)
        output: dict[str, Any] = {"servers": [asdict(s) for s in statuses]}
        lines = status_lines(manager, verbose=verbose)
        if call:
            server = next(iter(servers))
            try:
                result = manager.call(server, call, arguments or {})
                output["result"] = {"ok": not result.is_error, "text": render_result(result)}
            except ToolError as exc:
                output["result"] = {"ok": False, "text": str(exc)}
            failed = failed or not output["result"]["ok"]
    if json_out:
        from code_assistant import jsonlines

        jsonlines.result("mcp", **output)
    else:
        print("\n".join(lines))
        if call:
            mark = "ok" if output["result"]["ok"] else "error"
            print(f"\n{call} ({mark}):\n{output['result']['text']}")
    return 1 if failed else 0
