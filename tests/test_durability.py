"""kill -9 in the middle of a tool turn: --resume still knows what the tools did."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from code_assistant.fileio import STALE_TEMP_SECONDS
from code_assistant.session.store import INTERRUPTED_TURN
from code_assistant.tools.textfile import atomic_write
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca

pytestmark = pytest.mark.timeout(120)


def intent(kind: str) -> dict[str, str]:
    return {"text": json.dumps({"intent": kind, "reason": "test"})}


def test_a_write_before_a_kill_is_known_on_resume(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    fake_server.enqueue(
        intent("implementation"),
        {"tool_calls": [{"name": "write_file",
                         "arguments": {"path": "made.txt", "content": "made\n"}}]},
        {"text": "never sent", "delay": 60},  # the model is thinking when ca is killed
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "code_assistant", "--yes"], env=ca_env, cwd=project,
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("create made.txt\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while len(fake_server.chat_requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (project / "made.txt").read_text() == "made\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdin.close()

    fake_server.reset()
    fake_server.enqueue(intent("conversational"), "You asked me to create made.txt.")
    result = run_ca(["--resume"], ca_env, project, input="what did you do?\n")
    assert result.returncode == 0, result.stderr
    history = fake_server.chat_requests[-1]["body"]["messages"]
    calls = [c for m in history for c in m.get("tool_calls") or []]
    assert [c["function"]["name"] for c in calls] == ["write_file"]
    tool = [m for m in history if m["role"] == "tool"]
    assert tool and "made.txt" in tool[0]["content"]
    assert any(m.get("content") == INTERRUPTED_TURN for m in history if m["role"] == "assistant")


def test_temp_files_left_by_a_killed_writer_are_removed_by_the_next_write(
    tmp_path: Path,
) -> None:
    script = (
        "import os, signal, sys, tempfile\n"
        "fd, _ = tempfile.mkstemp(dir=sys.argv[1], prefix='.f.txt.', suffix='.tmp')\n"
        "os.write(fd, b'half a fi')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    for _ in range(2):
        killed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
        assert killed.returncode == -signal.SIGKILL
    stale = sorted(tmp_path.glob(".f.txt.*.tmp"))
    assert len(stale) == 2
    old = time.time() - STALE_TEMP_SECONDS - 5
    for path in stale:
        os.utime(path, (old, old))
    fresh = tmp_path / ".g.txt.abcd1234.tmp"  # a write that may still be going on
    fresh.write_bytes(b"x")
    (tmp_path / "notes.tmp").write_bytes(b"not ours")
    atomic_write(tmp_path / "f.txt", b"whole\n", "f.txt")
    assert (tmp_path / "f.txt").read_bytes() == b"whole\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".g.txt.abcd1234.tmp", "f.txt",
                                                          "notes.tmp"]
