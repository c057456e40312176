"""A small web server on 127.0.0.1 for the web tool tests: routes are plain functions."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

Handler = Callable[["_Handler"], None]


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Stats:
    requests: list[Seen] = field(default_factory=list)
    bytes_sent: dict[str, int] = field(default_factory=dict)  # path -> body bytes written
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, routes: dict[str, Handler], stats: Stats) -> None:
        self.routes = routes
        self.stats = stats
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that stop reading (the byte cap, timeouts) reset the connection: expected.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        with self.server.stats.lock:
            self.server.stats.requests.append(Seen(method, self.path, dict(self.headers), body))
        route = self.server.routes.get(path)
        if route is None:
            self.reply(404, b"not found", "text/plain")
            return
        # The client may stop reading early: that is what several tests want.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    @property
    def stopping(self) -> threading.Event:
        return self.server.stopping

    def reply(
        self, status: int, body: bytes, content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.write(body)

    def write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        path = self.path.split("?", 1)[0]
        with self.server.stats.lock:
            sent = self.server.stats.bytes_sent
            sent[path] = sent.get(path, 0) + len(data)


class WebServer:
    """`with WebServer() as web: web.route("/x", fn); httpx.get(web.url("/x"))`."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.stats = Stats()
        self._server = _Server(self.routes, self.stats)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def page(self, path: str, body: bytes | str, content_type: str | None = "text/html; "
             "charset=utf-8", status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Serve a fixed response at path."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.route(path, lambda h: h.reply(status, data, content_type, headers))

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.route(path, lambda h: h.reply(status, b"", None, {"Location": location}))

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class RouteTo(httpx.BaseTransport):
    """A transport that sends connections for some addresses to this machine's server
    instead (like NAT), so a test can play a public host without touching the internet."""

    def __init__(self, mapping: dict[str, int]) -> None:
        self.mapping = mapping  # address the client connects to -> local port
        self.seen: list[tuple[str, str]] = []  # (address connected to, Host header)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.host, request.headers.get("host", "")))
        if request.url.host not in self.mapping:
            raise httpx.ConnectError(f"test network: no route to {request.url.host}")
        request.url = request.url.copy_with(host="127.0.0.1", port=self.mapping[request.url.host])
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
