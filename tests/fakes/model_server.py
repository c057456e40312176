"""A scripted Ollama + OpenAI-compatible model server on 127.0.0.1, for tests (in-process or CLI).

    python -m tests.fakes.model_server --script replies.json --port 0 [--record requests.jsonl]
        [--dialect llama-cpp-python]

prints `listening on http://127.0.0.1:PORT` as its first line, then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tests.fakes import dialects, ollama_api, openai_api
from tests.fakes.script import ReplySource, Script
from tests.fakes.state import CHAT_PATHS, Failure, Response, State

ROUTES = {**ollama_api.ROUTES, **openai_api.ROUTES}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()

    def __init__(self, port: int, state: State) -> None:
        self.state = state
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are not errors
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


def _error_for(path: str, failure: Failure) -> Response:
    return openai_api.error(failure) if path.startswith("/v1/") else ollama_api.error(failure)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real servers
    disable_nagle_algorithm = True  # else small writes wait ~40 ms for delayed ACKs
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the recording is the log

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        state = self.server.state
        if path.startswith("/_fake/"):
            self._write(_control(state, method, path, raw))
            return
        try:
            body: Any = json.loads(raw) if raw else {}
            bad_json = False
        except ValueError:
            body, bad_json = raw.decode("utf-8", "replace"), True
        request = state.record(method, path, {k.lower(): v for k, v in self.headers.items()}, body)
        route = ROUTES.get((method, path))
        if bad_json or (route and not isinstance(body, dict)):
            response = _error_for(path, Failure(400, "invalid JSON body", "invalid_request_error"))
        elif route is None:
            response = Response(404, "404 page not found", content_type="text/plain")
        else:
            try:
                response = route(state, request)
            except Exception as exc:  # a broken reply function must fail the test, not hang it
                response = _error_for(path, Failure(500, f"fake server: handler error: {exc!r}"))
        self._write(response)

    def _write(self, response: Response) -> None:
        # The model is unloaded before the last bytes go out, so a client that has its answer
        # sees the unload already (real Ollama does it just after; tests need no race).
        finished = False

        def finish_once() -> None:
            nonlocal finished
            if not finished and response.after:
                finished = True
                response.after()

        try:
            if response.disconnect:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif response.stream is None:
                finish_once()
                self._write_body(response)
            else:
                self._write_stream(response, finish_once)
        except OSError:  # the client went away mid-answer
            self.close_connection = True
        finally:
            finish_once()

    def _write_body(self, response: Response) -> None:
        if isinstance(response.body, str):
            data = response.body.encode()
        else:
            data = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _write_stream(self, response: Response, before_last: Callable[[], None]) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        chunks = list(response.stream or ())
        if response.cut:  # half the stream, then the connection drops without the last chunk
            for chunk in chunks[: max(1, len(chunks) // 2)]:
                self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        for n, chunk in enumerate(chunks):
            if n and response.chunk_delay:
                time.sleep(response.chunk_delay)
            if n == len(chunks) - 1:
                before_last()
            self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def _control(state: State, method: str, path: str, raw: bytes) -> Response:
    """/_fake/*: lets a test drive a server that runs in another process."""
    try:
        if (method, path) == ("GET", "/_fake/requests"):
            with state.lock:
                return Response(body=list(state.requests))
        if (method, path) == ("GET", "/_fake/state"):
            return Response(body=state.snapshot())
        if (method, path) == ("POST", "/_fake/script"):
            state.set_script(Script.from_dict(json.loads(raw or b"{}")))
            return Response(body={"ok": True})
        if (method, path) == ("POST", "/_fake/enqueue"):
            state.enqueue(*json.loads(raw or b"[]"))
            return Response(body={"ok": True})
        if (method, path) == ("POST", "/_fake/dialect"):
            state.dialect = dialects.get(json.loads(raw or b'""')).name
            return Response(body={"ok": True})
        if (method, path) == ("POST", "/_fake/reset"):
            state.reset()
            return Response(body={"ok": True})
    except (ValueError, TypeError) as exc:
        return Response(400, {"error": f"fake server: {exc}"})
    return Response(404, {"error": f"fake server: no control endpoint {method} {path}"})


class FakeModelServer:
    """The scripted server; `with FakeModelServer(Script(replies=[...])) as server: ...`."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        port: int = 0,
        record_path: Path | None = None,
        dialect: str = "openai",
    ) -> None:
        self.state = State(
            script or Script(), record_path=record_path, dialect=dialects.get(dialect).name
        )
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeModelServer:
        self._server = _Server(self._port, self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake model server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] in CHAT_PATHS]

    @property
    def loaded(self) -> list[str]:
        return self.state.snapshot()["loaded"]

    @property
    def max_loaded(self) -> int:
        return self.state.max_loaded

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.state.snapshot()["events"]

    @property
    def remaining(self) -> int:
        return self.state.snapshot()["remaining"]

    def enqueue(self, *replies: ReplySource) -> None:
        self.state.enqueue(*replies)

    def set_script(self, script: Script) -> None:
        self.state.set_script(script)

    def reset(self) -> None:
        self.state.reset()

    def set_dialect(self, name: str) -> None:
        """Answer /v1 like another server from now on (see tests/fakes/dialects.py)."""
        self.state.dialect = dialects.get(name).name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.model_server")
    parser.add_argument("--script", type=Path, help="JSON script: models, replies, default")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--record", type=Path, help="append each request as a JSON line here")
    parser.add_argument("--dialect", default="openai", choices=sorted(dialects.DIALECTS),
                        help="which local server /v1 behaves like")
    args = parser.parse_args(argv)
    try:
        script = Script.load(args.script) if args.script else Script()
    except (OSError, ValueError, TypeError) as exc:
        print(f"fake server: bad script {args.script}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeModelServer(
        script, port=args.port, record_path=args.record, dialect=args.dialect
    ) as server:
        print(f"listening on {server.url}", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
