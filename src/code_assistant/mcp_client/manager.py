"""The configured MCP servers: connect in the background, offer their tools, call them, close."""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from code_assistant.config import McpServer
from code_assistant.errors import ToolError
from code_assistant.mcp_client.connection import Connection, NotConnected, State
from code_assistant.mcp_client.runner import LoopThread
from code_assistant.mcp_client.tools import make_tool, matches, tool_name
from code_assistant.tools.registry import Tool

START_GRACE = 2.0  # beyond each server's own timeout, before wait() gives up on it
CALL_GRACE = 5.0  # beyond a tool timeout, before the caller stops waiting for the loop
CLOSE_TIMEOUT = 8.0  # stdio shutdown: close stdin, then SIGTERM, then SIGKILL


@dataclass
class ServerStatus:
    """What `ca mcp list` and `/mcp` show for one server."""

    name: str
    transport: str  # stdio | http | "" when the definition is unusable
    state: State
    error: str = ""
    tools: list[str] = field(default_factory=list)  # offered, as the model sees them
    hidden: list[str] = field(default_factory=list)  # MCP names kept from the model
    seconds: float = 0.0
    schema_tokens: int = 0  # rough size of the offered tools' specs in every request
    unknown_keys: list[str] = field(default_factory=list)


class McpManager:
    """Every configured server; one background loop; tools for the registry; bounded waits."""

    def __init__(
        self,
        servers: Mapping[str, McpServer],
        *,
        root: Path,
        log_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.connections: dict[str, Connection] = {}
        for name, server in servers.items():
            connection = Connection(name, server, root=root, log_dir=log_dir, environ=environ)
            if not server.enabled:
                connection.state = "disabled"
                connection.settled.set()
            self.connections[name] = connection
        self._loop: LoopThread | None = None
        self._tasks: dict[str, concurrent.futures.Future[None]] = {}
        self._tools: dict[str, list[Tool]] = {}
        self._hidden: dict[str, dict[str, str]] = {}  # server -> MCP tool -> config key
        self.reported: set[str] = set()  # failures already told to the user

    def __enter__(self) -> McpManager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> McpManager:
        """Begin connecting every enabled server in the background; returns at once."""
        if self._loop is not None:
            return self
        pending = [c for c in self.connections.values() if c.state == "connecting"]
        if not pending:
            return self
        self._loop = LoopThread()
        for connection in pending:
            self._tasks[connection.name] = self._loop.submit(connection.serve())
        atexit.register(self.close)
        return self

    def wait(self, timeout: float | None = None) -> None:
        """Block until every server is ready or failed, at most each one's timeout (+ grace)."""
        started = time.monotonic()
        for connection in self.connections.values():
            limit = timeout if timeout is not None else connection.server.timeout + START_GRACE
            remaining = max(0.0, started + limit - time.monotonic())
            if not connection.settled.wait(remaining) and connection.state == "connecting":
                connection.fail(f"no answer within {connection.server.timeout:g}s at start-up")
                task = self._tasks.get(connection.name)
                if task is not None:
                    task.cancel()

    def status(self) -> list[ServerStatus]:
        return [self._status(c) for c in self.connections.values()]

    def _status(self, connection: Connection) -> ServerStatus:
        offered = self.tools_of(connection.name)
        hidden = list(self._hidden.get(connection.name, {}))
        size = sum(len(json.dumps(t.spec.__dict__, default=str)) for t in offered)
        return ServerStatus(
            name=connection.name,
            transport=connection.transport,
            state=connection.state,
            error=connection.error,
            tools=[t.name for t in offered],
            hidden=hidden,
            seconds=round(connection.seconds, 2),
            schema_tokens=size // 4,
            unknown_keys=sorted(connection.server.model_extra or {}),
        )

    def tools(self) -> list[Tool]:
        """The tools of every ready server, as the model will see them."""
        return [t for name in self.connections for t in self.tools_of(name)]

    def tools_of(self, server: str) -> list[Tool]:
        """A ready server's tools; none once it failed or closed (calls would only fail)."""
        connection = self.connections[server]
        if connection.state != "ready":
            return []
        if server not in self._tools:
            self._tools[server] = self._build_tools(connection)
        return self._tools[server]

    def _build_tools(self, connection: Connection) -> list[Tool]:
        config = connection.server
        built: dict[str, Tool] = {}
        hidden = self._hidden.setdefault(connection.name, {})
        for mcp_tool in connection.tools:
            remote = mcp_tool.name
            if config.tools and not matches(remote, config.tools):
                hidden[remote] = "tools"
                continue
            if matches(remote, config.deny):
                hidden[remote] = "deny"
                continue
            name = tool_name(connection.name, remote)
            if name in built:  # two names that differ only in characters we cannot send
                continue
            built[name] = make_tool(
                connection.name,
                mcp_tool,
                self.call,
                name=name,
                needs_approval=not matches(remote, config.allow),
            )
        return list(built.values())

    def refusals(self) -> dict[str, str]:
        """Tools a server has but the user's config keeps from the model, with what to say."""
        refused: dict[str, str] = {}
        for server in self.connections:
            self.tools_of(server)
            for remote, key in self._hidden.get(server, {}).items():
                name = tool_name(server, remote)
                refused[name] = (
                    f"{name} is disabled by the user's configuration (mcp.servers.{server}.{key}); "
                    "do not call it. Use another tool, or tell the user it is needed."
                )
        return refused

    def call(self, server: str, tool: str, arguments: dict[str, Any]) -> Any:
        """tools/call on one server; every failure comes back as a ToolError for the model."""
        connection = self.connections[server]
        name = tool_name(server, tool)
        if self._loop is None or connection.state != "ready":
            raise ToolError(f"{connection.unavailable()}. Do not call its tools again.")
        try:
            return self._loop.run(
                connection.call(tool, arguments), connection.server.tool_timeout + CALL_GRACE
            )
        except TimeoutError:
            raise ToolError(
                f"{name} did not answer within {connection.server.tool_timeout:g}s and was "
                "cancelled; try a smaller request, or continue without it."
            ) from None
        except NotConnected as exc:
            raise ToolError(f"{exc}. Do not call its tools again.") from None
        except Exception as exc:  # the SDK's edge: MCPError, closed streams, transport errors
            raise self._call_failed(connection, name, exc) from None

    def _call_failed(self, connection: Connection, name: str, exc: Exception) -> ToolError:
        task = self._tasks.get(connection.name)
        closed = "closed" in str(exc).lower() or type(exc).__name__.endswith("ResourceError")
        if closed or (task is not None and task.done()):
            connection.fail(connection.describe(exc))
            return ToolError(
                f"MCP server {connection.name!r} stopped while running {name}: "
                f"{connection.error}. Its tools are unavailable for the rest of this session."
            )
        return ToolError(f"{name} failed: {connection.describe(exc)}")

    def close(self) -> None:
        """Close every session (stdio servers are stopped) and the background loop."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        atexit.unregister(self.close)
        for connection in self.connections.values():
            task = self._tasks.get(connection.name)
            if task is not None and connection.state == "connecting":
                task.cancel()  # still in its handshake: it is not waiting for stop()
            loop.loop.call_soon_threadsafe(connection.stop)
        concurrent.futures.wait(list(self._tasks.values()), timeout=CLOSE_TIMEOUT)
        loop.close()
