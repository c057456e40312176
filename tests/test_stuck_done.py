"""Stuck repeating a change already made: a passing check ends the task as done, else stuck."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca


def write(path: str, content: str) -> dict[str, object]:
    return {"tool_calls": [{"name": "write_file", "arguments": {"path": path, "content": content}}]}


def result_of(stdout: str) -> dict[str, object]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()][-1]


def test_a_finished_file_rewritten_until_stopped_is_done(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(*[write("hello.py", "print('hello world')\n")] * 3)
    ran = run_ca(["--yes", "--json", "Create hello.py that prints hello world"], ca_env, tmp_path)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr
    result = result_of(ran.stdout)
    assert result["stop_reason"] == "done" and result["verified"] is True
    assert (tmp_path / "hello.py").read_text() == "print('hello world')\n"


def test_a_broken_file_rewritten_until_stopped_stays_stuck(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(*[write("hello.py", "hello world\n")] * 3)
    ran = run_ca(["--yes", "--json", "Create hello.py that prints hello world"], ca_env, tmp_path)
    assert ran.returncode == 1
    assert result_of(ran.stdout)["stop_reason"] == "stuck"
