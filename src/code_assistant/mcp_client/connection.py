"""One MCP server connection (stdio or streamable HTTP), held open by a task on the MCP loop."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Literal

from code_assistant.config import McpServer
from code_assistant.redact import redact

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

State = Literal["disabled", "invalid", "connecting", "ready", "failed", "closed"]
MAX_TOOL_PAGES = 20  # a server whose tools/list never ends must not hang start-up
MAX_LOG_BYTES = 1_000_000  # a server's stderr log starts over beyond this
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class NotConnected(Exception):
    """The server is not (or no longer) connected; the message says why."""


def transport_of(server: McpServer) -> tuple[str, str]:
    """("stdio" | "http", "") for a usable definition, else ("", what is wrong)."""
    kind = server.type.strip().lower().replace("_", "-")
    if kind in ("http", "streamable-http", "streamablehttp"):
        kind = "http"
    if kind == "sse":
        return "", "the SSE transport is not supported; use the server's streamable HTTP url"
    if kind not in ("", "stdio", "http"):
        return "", f"unknown type {server.type!r}; use stdio (command) or http (url)"
    if not kind:
        if server.command and server.url:
            return "", "set either command (stdio) or url (streamable HTTP), not both"
        kind = "stdio" if server.command else "http" if server.url else ""
    if kind == "stdio" and not server.command:
        return "", "a stdio server needs a command"
    if kind == "http" and not re.match(r"(?i)https?://", server.url):
        return "", "an http server needs a url starting with http:// or https://"
    if not kind:
        return "", "set command (+ args) for a stdio server or url for streamable HTTP"
    return kind, ""


def safe_name(name: str) -> str:
    """A server or tool name reduced to the characters tool names and file names allow."""
    return _UNSAFE.sub("_", name).strip("_") or "server"


class Connection:
    """Connects to one server, lists its tools, keeps the session open until `stop()`.

    `serve()` runs on the MCP loop; every other method is safe to call from any thread.
    """

    def __init__(
        self,
        name: str,
        server: McpServer,
        *,
        root: Path,
        log_dir: Path | None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.server = server
        self.root = root
        self.log_path = log_dir / f"mcp-{safe_name(name)}.log" if log_dir else None
        self.environ = os.environ if environ is None else environ
        self.transport, problem = transport_of(server)
        self.state: State = "invalid" if problem else "connecting"
        self.error = problem
        self.tools: list[Any] = []  # mcp Tool objects as listed by the server
        self.seconds = 0.0
        self.settled = threading.Event()  # set once ready, failed or closed
        self._session: Any = None
        self._stop = asyncio.Event()
        self._log_offset = 0
        if problem:
            self.settled.set()

    # -- life cycle (on the loop) ---------------------------------------------------------

    async def serve(self) -> None:
        """Connect, initialize, list tools; then hold the session open until stopped."""
        import anyio

        started = time.perf_counter()
        try:
            async with AsyncExitStack() as stack:
                session = await self._open(stack)
                with anyio.fail_after(self.server.timeout):
                    await session.initialize()
                    self.tools = await _list_tools(session)
                if self.state != "connecting":  # wait() gave up on us meanwhile
                    return
                self.seconds = time.perf_counter() - started
                self._session = session
                self.state = "ready"
                self.settled.set()
                await self._stop.wait()
                self._session = None
        except Exception as exc:  # the SDK raises many kinds (OSError, MCPError, httpx, groups)
            self.fail(self.describe(exc, during="start-up" if not self.settled.is_set() else ""))
        finally:
            self._session = None
            self.seconds = self.seconds or time.perf_counter() - started
            if self.state in ("ready", "connecting"):
                self.state = "closed"
            self.settled.set()

    async def _open(self, stack: AsyncExitStack) -> Any:
        from mcp import ClientSession

        if self.transport == "stdio":
            read, write = await self._open_stdio(stack)
        else:
            read, write = await self._open_http(stack)
        return await stack.enter_async_context(ClientSession(read, write))

    async def _open_stdio(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=self.server.command,
            args=list(self.server.args),
            env=dict(self.server.env) or None,
            cwd=str(self.root / Path(self.server.cwd).expanduser()),  # absolute cwd wins
            encoding_error_handler="replace",
        )
        errlog = stack.enter_context(self._open_log())
        streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        return streams[0], streams[1]

    def _open_log(self) -> Any:
        """The server's stderr goes to a log file: it must not scribble over our terminal."""
        if self.log_path is None:
            return open(os.devnull, "w", encoding="utf-8")  # the stack closes it
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        big = self.log_path.exists() and self.log_path.stat().st_size > MAX_LOG_BYTES
        mode = "w" if big else "a"  # a chatty server must not fill the disk over the months
        handle = open(self.log_path, mode, encoding="utf-8")  # noqa: SIM115 (the stack closes it)
        handle.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n")
        handle.flush()
        self._log_offset = handle.tell()
        return handle

    async def _open_http(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        headers = dict(self.server.headers)
        variable = self.server.bearer_token_env_var
        if variable:
            token = self.environ.get(variable, "")
            if not token:
                raise NotConnected(f"environment variable {variable} (bearer_token_env_var) unset")
            headers["Authorization"] = f"Bearer {token}"
        client = await stack.enter_async_context(create_mcp_http_client(headers=headers))
        streams = await stack.enter_async_context(
            streamable_http_client(self.server.url, http_client=client)
        )
        return streams[0], streams[1]

    def stop(self) -> None:
        """Ask `serve()` to close the session (call on the loop, or via call_soon_threadsafe)."""
        self._stop.set()

    # -- calls (on the loop) --------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """tools/call with the server's tool timeout; raises NotConnected or TimeoutError."""
        import anyio

        session = self._session
        if session is None:
            raise NotConnected(self.unavailable())
        if self.log_path is not None and self.log_path.exists():
            # If the server dies in this call, its last words are the ones written from here.
            self._log_offset = self.log_path.stat().st_size
        with anyio.fail_after(self.server.tool_timeout):
            return await session.call_tool(tool, arguments)

    # -- reporting ------------------------------------------------------------------------

    def fail(self, error: str) -> None:
        if self.state != "failed":
            self.state, self.error = "failed", error
        self._session = None
        self.settled.set()

    def unavailable(self) -> str:
        if self.state == "failed":
            return f"MCP server {self.name!r} is not available: {self.error}"
        return f"MCP server {self.name!r} is not connected ({self.state})"

    def describe(self, exc: BaseException, during: str = "") -> str:
        """One line for a connection failure, with the server's own last words when it died."""
        leaf = _leaf(exc)
        if isinstance(leaf, ModuleNotFoundError) and (leaf.name or "").split(".")[0] == "mcp":
            from code_assistant.install_hint import pip_extra

            return f"the MCP SDK is not installed: {pip_extra('mcp')}"
        if isinstance(leaf, TimeoutError):
            limit = self.server.timeout if during else self.server.tool_timeout
            text = f"no answer within {limit:g}s" + (f" at {during}" if during else "")
        elif isinstance(leaf, FileNotFoundError) and self.transport == "stdio":
            text = f"cannot start {self.server.command!r}: command not found"
        elif isinstance(leaf, OSError) and self.transport == "stdio":
            text = f"cannot start {self.server.command!r}: {leaf.strerror or leaf}"
        elif isinstance(leaf, NotConnected):
            text = str(leaf)
        elif type(leaf).__name__ == "MCPError" and "closed" in str(leaf).lower():
            text = "the server closed the connection" + (
                " (it exited)" if self.transport == "stdio" else ""
            )
        elif type(leaf).__name__ == "MCPError" and self.transport == "http" and during:
            text = f"{self.server.url} answered with an error ({leaf}); check the url and headers"
        elif type(leaf).__name__.endswith(("ConnectError", "ConnectTimeout")):
            text = f"cannot connect to {self.server.url}"
        else:
            text = f"{type(leaf).__name__}: {leaf}".rstrip(": ")
        last = self.last_stderr()
        if last and not isinstance(leaf, TimeoutError):
            text += f"; its last stderr line: {last}"
        secrets = [*self.server.env.values(), *self.server.headers.values()]
        if self.server.bearer_token_env_var:
            secrets.append(self.environ.get(self.server.bearer_token_env_var, ""))
        return redact(text, [s for s in secrets if len(s) >= 4])

    def last_stderr(self) -> str:
        """The last non-blank line the server wrote to stderr since it was started."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as handle:
            handle.seek(self._log_offset)
            tail = handle.read()[-4000:].decode("utf-8", "replace")
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups; task groups wrap everything."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


async def _list_tools(session: Any) -> list[Any]:
    from mcp.types import PaginatedRequestParams

    result = await session.list_tools()
    tools = list(result.tools)
    for _ in range(MAX_TOOL_PAGES - 1):
        if not result.next_cursor:
            break
        result = await session.list_tools(params=PaginatedRequestParams(cursor=result.next_cursor))
        tools.extend(result.tools)
    return tools
