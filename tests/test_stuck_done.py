"""Stuck repeating a change already made: a passing check ends the task as done, else stuck."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca


def write(path: str, content: str) -> dict[str, object]:
    return {"tool_calls": [{"name": "write_file", "arguments": {"path": path, "content": content}}]}


def events_of_run(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


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


def test_a_broken_file_rewritten_until_stopped_gets_its_check_then_ends_unverified(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Each stuck stop runs the check and sends its failure back, within the verifier's rounds.
    fake_server.enqueue(*[write("hello.py", "hello world\n")] * 5)
    one_attempt = {**ca_env, "CA_TASK_RESTARTS": "0"}  # how one attempt ends (no fresh start)
    ran = run_ca(["--yes", "--json", "Create hello.py that prints hello world"], one_attempt,
                 tmp_path)
    assert ran.returncode == 1
    result = result_of(ran.stdout)
    assert (result["stop_reason"], result["verified"], result["model_calls"]) == (
        "unverified", False, 5)
    writes = [e for e in events_of_run(ran.stdout) if e["event"] == "tool_call"
              and e["name"] == "write_file"]
    assert len(writes) == 2  # the repeated call ran twice; each later repeat got the check
    assert fake_server.remaining == 0


def test_stuck_on_a_broken_file_the_checks_failure_lets_the_model_fix_it(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(*[write("hello.py", "hello world\n")] * 3,
                        write("hello.py", "print('hello world')\n"), {"text": "Fixed hello.py."})
    ran = run_ca(["--yes", "--json", "Create hello.py that prints hello world"], ca_env, tmp_path)
    assert ran.returncode == 0, ran.stdout
    result = result_of(ran.stdout)
    assert (result["stop_reason"], result["verified"]) == ("done", True)
    feedback = [m["content"] for m in fake_server.chat_requests[3]["body"]["messages"]
                if m["role"] == "user"][-1]
    # The task says hello.py prints: ca runs it (which shows the SyntaxError too).
    assert "hello.py` to check your change and it failed" in feedback
    assert "SyntaxError" in feedback


def test_a_change_made_then_a_passing_run_repeated_until_stopped_is_done(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on add-function: added variance, then ran `python stats.py` until stopped.
    (tmp_path / "stats.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    run = {"tool_calls": [{"name": "run_shell", "arguments": {"command": "python stats.py"}}]}
    fake_server.enqueue(
        {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "stats.py", "old": "", "new": "def variance(xs):\n    return 0.0\n"}}]},
        run, run, run,
    )
    ran = run_ca(["--yes", "--json", "Add a function variance(xs) to stats.py"], ca_env, tmp_path)
    assert ran.returncode == 0, ran.stdout
    result = result_of(ran.stdout)
    assert (result["stop_reason"], result["verified"]) == ("done", True)
    assert str(result["final_text"]).endswith("; the change is made and its check passed")


def test_an_edit_made_then_sent_again_until_stopped_is_done(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on add-function (s27a): its first edit added the function, then it sent the
    # same edit three more times ("the change is made"), was stopped and started over.
    (tmp_path / "stats.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    edit = {"tool_calls": [{"name": "edit_file", "arguments": {
        "path": "stats.py", "old": "def mean(xs):\n    return sum(xs) / len(xs)\n",
        "new": "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n"
               "    return 0.0\n"}}]}
    fake_server.enqueue(*[edit] * 3)
    ran = run_ca(["--yes", "--json", "Add a function variance(xs) to stats.py"], ca_env, tmp_path)
    assert ran.returncode == 0, ran.stdout
    result = result_of(ran.stdout)
    assert (result["stop_reason"], result["verified"]) == ("done", True)
    assert str(result["final_text"]).endswith("; the change is made and its check passed")
    assert (tmp_path / "stats.py").read_text().count("def variance") == 1
    assert result["model_calls"] == 3 and fake_server.remaining == 0  # no fresh start
    answers = [e["output"] for e in events_of_run(ran.stdout) if e["event"] == "tool_result"]
    assert "already holds new at line 1, so this change is made" in answers[1]


def test_an_edit_made_then_sent_with_old_equal_to_new_until_stopped_is_done(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # The shape of s27a add-function: the edit was made, then the model sent new as both old
    # and new ("the change is made") until stopped; the check passed but ca started over.
    (tmp_path / "stats.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    added = "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef variance(xs):\n    return 0.0\n"
    first = {"tool_calls": [{"name": "edit_file", "arguments": {
        "path": "stats.py", "old": "def mean(xs):\n    return sum(xs) / len(xs)\n",
        "new": added}}]}
    again = {"tool_calls": [{"name": "edit_file", "arguments": {
        "path": "stats.py", "old": added, "new": added}}]}
    fake_server.enqueue(first, again, again, again)
    ran = run_ca(["--yes", "--json", "Add a function variance(xs) to stats.py"], ca_env, tmp_path)
    assert ran.returncode == 0, ran.stdout
    result = result_of(ran.stdout)
    assert (result["stop_reason"], result["verified"]) == ("done", True)
    assert str(result["final_text"]).endswith("; the change is made and its check passed")
    assert result["model_calls"] == 4 and fake_server.remaining == 0  # no fresh start
    answers = [e["output"] for e in events_of_run(ran.stdout) if e["event"] == "tool_result"]
    assert "already holds this text (lines 1-6): the change is made" in answers[1]
    assert "Call read_file" not in answers[2]  # the stuck warning says the change is there
