"""The real `ca` REPL on a pseudo-terminal: Ctrl-C mid-answer, SIGKILL mid-turn, then resume."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca
from tests.repl_harness import CTRL_D, ENTER, PtyCa, call, intent

pytestmark = pytest.mark.timeout(120)
SLOW = {"text": " ".join(f"word{n}" for n in range(200)), "chunk_delay": 0.1}


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "ca.config").write_text("")
    return project


def _wait_for_requests(server: FakeModelServer, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(server.chat_requests) < count:
        assert time.monotonic() < deadline, f"only {len(server.chat_requests)} model calls"
        time.sleep(0.05)


def test_ctrl_c_cancels_the_answer_and_the_session_goes_on(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(intent("conversational"), SLOW, intent("conversational"), "still here")
    ca = PtyCa([], ca_env, _project(tmp_path))
    try:
        ca.expect("ca>")
        ca.send("tell me a long story" + ENTER)
        at = ca.expect("word3")
        ca.send("\x03")
        at = ca.expect("cancelled", after=at)
        ca.expect("ca>", after=at)
        ca.send("are you still there?" + ENTER)
        at = ca.expect("still here", after=at)
        ca.expect("ca>", after=at)  # keys typed before the prompt would be lost
        ca.send(CTRL_D)
        assert ca.wait() == 0
    finally:
        ca.close()
    last = fake_server.chat_requests[-1]["body"]["messages"]
    assert last[1]["content"] == "tell me a long story"
    assert last[2]["content"].startswith("word0 word1 word2 word3")
    assert last[2]["content"].endswith("(cancelled by the user)")
    assert "word199" not in last[2]["content"]
    assert last[3]["content"] == "are you still there?"


def test_a_session_killed_mid_turn_resumes_with_every_earlier_turn(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    fake_server.enqueue(
        intent("conversational"), "Answer one.",
        intent("conversational"), "Answer two.",
        intent("conversational"), SLOW,
    )
    ca = PtyCa([], ca_env, project)
    try:
        ca.expect("ca>")
        at = 0
        for question, answer in (("question one", "Answer one."), ("question two", "Answer two.")):
            ca.send(question + ENTER)
            at = ca.expect("ca>", after=ca.expect(answer, after=at))
        ca.send("question three" + ENTER)
        _wait_for_requests(fake_server, 6)
        ca.expect("word2")
        ca.proc.send_signal(signal.SIGKILL)
        assert ca.wait() == -signal.SIGKILL
    finally:
        ca.close()
    fake_server.enqueue(intent("conversational"), "You asked two questions.")
    resumed = run_ca(["--resume"], ca_env, project, input="what did I ask?\n")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed session" in resumed.stdout and "2 turn(s)" in resumed.stdout
    assert "1 interrupted turn(s) were not restored" in resumed.stdout
    contents = [m["content"] for m in fake_server.chat_requests[-1]["body"]["messages"][1:]]
    assert contents == [
        "question one", "Answer one.", "question two", "Answer two.", "what did I ask?"
    ]


def test_ctrl_c_stops_a_running_command_and_the_session_goes_on(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    fake_server.enqueue(
        intent("implementation"),
        call("run_shell", command="echo $$ > shell.pid; echo started; sleep 60"),
        intent("conversational"), "still here",
    )
    ca = PtyCa(["--yes"], ca_env, project)
    try:
        ca.expect("ca>")
        ca.send("run the slow script" + ENTER)
        at = ca.expect("⏺ run_shell")
        pid_file = project / "shell.pid"
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline, ca.text
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        ca.send("\x03")
        at = ca.expect("cancelled", after=at)
        ca.expect("ca>", after=at)
        assert not _alive(pid)
        ca.send("are you still there?" + ENTER)
        ca.expect("still here", after=at)
    finally:
        ca.close()
    messages = fake_server.chat_requests[-1]["body"]["messages"]
    tool = next(m for m in messages if m["role"] == "tool")
    assert tool["content"] == "(cancelled by the user)"
    assert messages[-1]["content"] == "are you still there?"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
