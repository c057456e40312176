"""Malformed Ollama replies end in one line and exit 5, never a traceback (`-q` and a task)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca

DEEP = "[" * 100_000 + "]" * 100_000


def line(data: object) -> bytes:
    return (json.dumps(data) + "\n").encode()


def piece(**message: object) -> dict[str, object]:
    return {"model": "m", "message": {"role": "assistant", "content": "", **message}, "done": False}


def calls(function: dict[str, object]) -> bytes:
    done = {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True}
    return line(piece(tool_calls=[{"function": function}])) + line(done)


MALFORMED = {
    "html page with status 200": b"<html><body>Welcome to nginx</body></html>",
    "truncated stream line": b'{"model":"m","message":{"role":"assistant","content":"hi"',
    "empty body": b"",
    "cut before the done line": line(piece(content="half an ans")),
    "object of another API": line({"choices": []}),
    "message null": line({"model": "m", "message": None, "done": True}),
    "error line mid-stream": line(piece(content="hi")) + line({"error": "boom"}),
    "tool_calls as an object": line(piece(tool_calls={"a": 1})),
    "tool name null": calls({"name": None, "arguments": {}}),
    "arguments a string": calls({"name": "read_file", "arguments": "x.txt"}),
    "arguments a list": calls({"name": "read_file", "arguments": ["x.txt"]}),
    "arguments null": calls({"name": "read_file", "arguments": None}),
    "arguments invalid JSON": calls({"name": "read_file", "arguments": '{"path": '}),
    "arguments nested 100,000 deep": (
        b'{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":'
        b'{"name":"read_file","arguments":{"path":' + DEEP.encode() + b"}}}]},\"done\":true}\n"
    ),
}


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        self.wfile.write(self.server.body)  # type: ignore[attr-defined]
        self.close_connection = True


@pytest.fixture
def raw_server() -> Iterator[ThreadingHTTPServer]:
    """A server that answers every POST with the bytes in `server.body`, as they are."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("args", [["-q", "hi"], ["--yes", "--json", "do", "read x.txt"]])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_reply_is_one_line_and_exit_5(
    raw_server: ThreadingHTTPServer, ca_env: dict[str, str], tmp_path: Path,
    case: str, args: list[str],
) -> None:
    raw_server.body = MALFORMED[case]  # type: ignore[attr-defined]
    env = {**ca_env, "CA_OLLAMA_HOST": f"http://127.0.0.1:{raw_server.server_address[1]}"}
    result = run_ca(args, env, tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [text for text in result.stderr.splitlines() if text.startswith("ca: error:")]
    assert result.returncode == 5, result.stderr
    assert len(errors) == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_nan_in_tool_arguments_goes_back_to_the_model_as_a_tool_error(
    raw_server: ThreadingHTTPServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "x.txt").write_text("a\n")
    raw_server.body = (  # type: ignore[attr-defined]
        b'{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":'
        b'{"name":"read_file","arguments":{"path":"x.txt","start_line":NaN}}}]},"done":true}\n'
    )
    env = {**ca_env, "CA_OLLAMA_HOST": f"http://127.0.0.1:{raw_server.server_address[1]}",
           "CA_MAX_STEPS": "2"}
    result = run_ca(["--yes", "--json", "do", "read x.txt"], env, tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    events = [json.loads(text) for text in result.stdout.splitlines()]
    outputs = [e["output"] for e in events if e["event"] == "tool_result"]
    assert outputs and "must be a finite number" in outputs[0]


def test_request_timeout_bounds_the_whole_call_against_a_dripping_server(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue({"text": "drip " * 40, "chunk_delay": 0.15})  # 6 s, no gap over 1 s
    started = time.monotonic()
    result = run_ca(["-q", "hi"], {**ca_env, "CA_REQUEST_TIMEOUT": "1"}, tmp_path)
    assert time.monotonic() - started < 5
    assert result.returncode == 6, result.stderr
    assert "within request_timeout (1 s)" in result.stderr
    assert "Traceback" not in result.stderr
