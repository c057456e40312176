"""What the rest of code-assistant calls: the MCP manager of a run, its tools, status lines."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from code_assistant.mcp_client.manager import McpManager, ServerStatus
from code_assistant.tools.registry import Tool, ToolRegistry

if TYPE_CHECKING:
    from code_assistant.app import App

Report = Callable[[str], None]


def manager_for(loaded: App) -> McpManager:
    """The run's manager (one per App, shared by every agent), connecting already."""
    return loaded.mcp.start()


def mcp_tools(loaded: App, *, wait: bool = True, report: Report | None = None) -> list[Tool]:
    """Tools of the configured servers; failures are reported once each, in one line.

    wait=True blocks until every server is ready or failed (each bounded by its `timeout`);
    wait=False returns the tools of the servers ready by now (a REPL can ask again later).
    """
    if not loaded.config.mcp.servers:
        return []
    manager = manager_for(loaded)
    if wait:
        manager.wait()
    report_failures(manager, report or _warn)
    return manager.tools()


def add_mcp_tools(
    registry: ToolRegistry, loaded: App, *, wait: bool = True, report: Report | None = None
) -> None:
    """Add the MCP tools to a registry, and the denied ones to its refusals."""
    for item in mcp_tools(loaded, wait=wait, report=report):
        registry.add(item)
    registry.refused.update(manager_for(loaded).refusals())


def report_failures(manager: McpManager, report: Report) -> None:
    for status in manager.status():
        if status.state in ("failed", "invalid") and status.name not in manager.reported:
            manager.reported.add(status.name)
            verb = "failed" if status.state == "failed" else "is misconfigured"
            report(f"MCP server {status.name!r} {verb}: {status.error}; continuing without it")


def _warn(message: str) -> None:
    print(f"ca: warning: {message}", file=sys.stderr)


def status_lines(manager: McpManager, *, verbose: bool = False) -> list[str]:
    """One line per server (name, transport, state, tools); with verbose, one per tool too."""
    lines: list[str] = []
    statuses = manager.status()
    if not statuses:
        return ["no MCP servers configured (add [mcp.servers.NAME] to the machine config)"]
    width = max(len(s.name) for s in statuses)
    for status in statuses:
        lines.append(f"{status.name:<{width}}  {status.transport or '-':<5}  {_describe(status)}")
        if verbose:
            tools = {t.name: t for t in manager.tools_of(status.name)}
            for name, item in tools.items():
                first = item.description.split("\n", 1)[0]
                lines.append(f"  {name}  {first[:100]}")
            lines.extend(f"  ({remote}: hidden by config)" for remote in status.hidden)
        if status.unknown_keys:
            keys = ", ".join(status.unknown_keys)
            lines.append(f"  note: unknown key(s) ignored: {keys}")
    return lines


def _describe(status: ServerStatus) -> str:
    if status.state == "ready":
        hidden = f", {len(status.hidden)} hidden" if status.hidden else ""
        return (
            f"ready  {len(status.tools)} tool(s){hidden}, ~{status.schema_tokens} tokens of "
            f"schema, {status.seconds:g}s: {', '.join(status.tools) or '-'}"
        )
    if status.state in ("failed", "invalid"):
        return f"{status.state}: {status.error}"
    return status.state
