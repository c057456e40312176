"""A tiny counting HTTP proxy in front of the model server: how many model calls a peer made.

Every runner talks to the server through it, so the count means the same for all of them.
Responses are buffered whole (a streamed reply arrives as one body, which SSE clients accept).
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
               "proxy-connection", "upgrade", "te", "trailer"}
MODEL_PATHS = ("/chat/completions", "/completions")
UPSTREAM_TIMEOUT = 1800.0


class CountingProxy:
    """Forward to `upstream` (http://host:port); count POSTs to the completion endpoints."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.calls = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> int:
        """The calls counted since the last take (one task's worth)."""
        with self._lock:
            calls, self.calls = self.calls, 0
        return calls

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight: a killed agent's last call may still be running
        on the server, and the next task must not queue behind it unseen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.in_flight == 0:
                return True
            time.sleep(0.5)
        return self.in_flight == 0

    def _forward(self, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        if method == "POST" and path.rstrip("/").endswith(MODEL_PATHS):
            with self._lock:
                self.calls += 1
        with self._lock:
            self.in_flight += 1
        try:
            conn = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT)
            try:
                conn.request(method, path, body=body or None, headers=headers)
                reply = conn.getresponse()
                return reply.status, reply.getheaders(), reply.read()
            finally:
                conn.close()
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                try:
                    status, reply_headers, data = proxy._forward(self.command, self.path,
                                                                 headers, body)
                except OSError as exc:
                    status, reply_headers = 502, [("Content-Type", "text/plain")]
                    data = f"proxy: upstream failed: {exc}".encode()
                self.send_response(status)
                for key, value in reply_headers:
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the agent was stopped mid-call
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

            def log_message(self, *args: object) -> None:
                pass

        return Handler
