"""Stopping a run (Ctrl-C, backend outage, bad architect JSON) and resuming it; bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from code_assistant.errors import ToolError
from code_assistant.pipeline.ask import ask_architect
from code_assistant.tools.registry import ToolContext
from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca
from tests.test_pipeline_e2e import ARCHITECT, IMPLEMENTER, TESTER, make_project, pipeline_env

DOCS = "llama3.2:3b"
PLAN = {
    "intent": "implementation",
    "summary": "A greet function.",
    "files": ["hello.py"],
    "steps": ["write hello.py"],
    "acceptance_criteria": ['greet("Ann") returns "Hello, Ann!"'],
}
HELLO = 'def greet(name):\n    return f"Hello, {name}!"\n'
TEST_HELLO = (
    'from hello import greet\n\n\ndef test_greet():\n    assert greet("Ann") == "Hello, Ann!"\n'
)


def write(path: str, content: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "write_file", "arguments": {"path": path, "content": content}}]}


def env_for(ca_env: dict[str, str]) -> dict[str, str]:
    return pipeline_env(
        ca_env,
        CA_DOCS_MODEL=DOCS,
        CA_TEST_COMMAND=f"{sys.executable} -m pytest -q -p no:cacheprovider",
    )


def is_architect_plan(request: dict[str, Any]) -> bool:
    messages = request["body"].get("messages") or []
    return bool(messages) and messages[0]["content"].startswith("You are the Architect")


def run_state(project: Path) -> dict[str, Any]:
    (run_dir,) = [p for p in (project / ".ca" / "runs").iterdir() if p.is_dir()]
    return json.loads((run_dir / "state.json").read_text(encoding="utf-8"))


def assert_one_line_error(stderr: str, *parts: str) -> None:
    assert "Traceback" not in stderr
    # The notice of the first run in a repository (ca.config written) is not an error line.
    lines = [x for x in stderr.strip().splitlines() if not x.startswith("ca: created ")]
    assert len(lines) == 1, stderr
    for part in parts:
        assert part in lines[0]


def wait_for(condition: Any, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_interrupted_and_failed_runs_resume_without_redoing_finished_phases(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path)
    env = env_for(ca_env)
    fake_server.enqueue(
        {"model": ARCHITECT, "text": json.dumps(PLAN)},
        {"model": IMPLEMENTER, "delay": 20, **write("hello.py", "never written")},
        # resume 1: implement again, then the backend fails during review
        {"model": IMPLEMENTER, **write("hello.py", HELLO)},
        {"model": IMPLEMENTER, "text": "Wrote hello.py."},
        {"model": IMPLEMENTER, "error": {"status": 500, "message": "model runner crashed"}},
        # resume 2: review, (fix skipped: no findings), test, docs
        {"model": IMPLEMENTER, "text": '{"findings": []}'},
        {"model": TESTER, **write("tests/test_hello.py", TEST_HELLO)},
        {"model": TESTER, "text": "Wrote tests/test_hello.py."},
        {"model": DOCS, **write("README.md", "# hello\n\n`greet(name)` greets.\n")},
        {"model": DOCS, "text": "Wrote README.md."},
    )

    # 1. Ctrl-C while the implementer's first call is in flight.
    proc = subprocess.Popen(
        [sys.executable, "-m", "code_assistant", "--yes", "run", "req.md"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_for(lambda: len(fake_server.chat_requests) == 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert_one_line_error(stderr, "interrupted in phase implement", "ca run --resume")
    state = run_state(project)
    assert state["status"] == "interrupted"
    assert state["phases"]["architect"]["status"] == "done"
    assert state["phases"]["implement"]["status"] == "failed"
    assert not (project / "hello.py").exists()
    listed = run_ca(["runs", "--json"], env, project)
    assert [(r["status"], r["phase"]) for r in json_result(listed.stdout)["runs"]] == [
        ("interrupted", "implement")
    ]

    # 2. Resume (latest run): implement finishes, then the backend fails in review.
    second = run_ca(["--yes", "run", "--resume"], env, project, timeout=60)
    assert second.returncode == 5, second.stderr
    assert_one_line_error(second.stderr, "phase review failed", "model runner crashed",
                          f"ca run --resume {state['id']}")
    state = run_state(project)
    assert state["status"] == "failed"
    assert state["phases"]["implement"]["status"] == "done"
    assert state["phases"]["review"]["status"] == "failed"
    assert (project / "hello.py").read_text(encoding="utf-8") == HELLO

    # 3. Resume by id: the rest runs, nothing finished runs again.
    third = run_ca(["--yes", "run", "--resume", state["id"]], env, project, timeout=60)
    assert third.returncode == 0, third.stderr + third.stdout
    assert fake_server.remaining == 0
    chats = fake_server.chat_requests
    assert sum(is_architect_plan(r) for r in chats) == 1
    assert len(chats) == 10

    state = run_state(project)
    assert state["status"] == "done" and state["resumes"] == 2
    attempts = {name: p["attempts"] for name, p in state["phases"].items()}
    assert attempts == {"architect": 1, "implement": 2, "review": 2, "fix": 1, "test": 1,
                        "docs": 1}
    assert state["phases"]["fix"]["status"] == "skipped"
    report = json.loads((project / ".ca" / "runs" / state["id"] / "report.json").read_text())
    phases = {p["name"]: p for p in report["phases"]}
    # Every call the server saw is in the report, the interrupted and failed ones included.
    assert phases["implement"]["model_calls"] + phases["implement"]["failed_calls"] == 3
    assert phases["review"]["failed_calls"] == 1
    assert report["totals"]["model_calls"] + report["totals"]["failed_calls"] == len(chats)
    assert [(r["passed"], r["failed"]) for r in report["tests"]["rounds"]] == [(1, 0)]
    assert fake_server.max_loaded == 1


def test_invalid_architect_json_twice_stops_cleanly_and_resumes(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path, git=False)
    env = env_for(ca_env)
    fake_server.enqueue(
        {"model": ARCHITECT, "text": "Sure! Here is the plan: build it."},
        {"model": ARCHITECT, "text": '{"intent": "implementation", "summary": "x"}'},
    )
    first = run_ca(["--yes", "run", "req.md"], env, project)
    assert first.returncode == 1
    assert_one_line_error(first.stderr, "phase architect failed",
                          "did not return valid Plan JSON after 2 tries", "ca run --resume")
    state = run_state(project)
    assert state["status"] == "failed"
    assert state["phases"]["architect"]["status"] == "failed"
    assert state["phases"]["architect"]["model_calls"] == 2
    assert state["checkpoints"] == {"start": ""}  # not a git repository
    log = (project / ".ca" / "runs" / state["id"] / "transcripts" / "architect.jsonl").read_text()
    assert "Sure! Here is the plan" in log

    # The repair request told the model what was wrong.
    repair = fake_server.chat_requests[1]["body"]["messages"][-1]["content"]
    assert "not valid JSON" in repair

    answer = "Use a dict: it has O(1) lookups."
    fake_server.enqueue({"model": ARCHITECT, "text": json.dumps(
        {"intent": "conversational", "summary": "a question", "answer": answer}
    )})
    second = run_ca(["--yes", "run", "--resume"], env, project)
    assert second.returncode == 0, second.stderr
    assert answer in second.stdout
    state = run_state(project)
    assert state["status"] == "done"
    assert [p["status"] for p in state["phases"].values()] == ["done"] + ["skipped"] * 5

    again = run_ca(["--yes", "run", "--resume", state["id"]], env, project)
    assert again.returncode == 2
    assert_one_line_error(again.stderr, "is finished")


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["run", "missing.md"], None, "requirement file 'missing.md' not found"),
        (["run", "req.md"], b"", "is empty"),
        (["run", "--req-file", "req.md"], b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary"),
        (["run", "-req-file", "req.md"], b"ok", "long options take two dashes (--req-file)"),
        (["run", "req.md", "--req-file", "req.md"], b"ok", "give the requirement file once"),
        (["run", "--resume", "--req-file", "req.md"], b"ok", "takes a run id"),
        (["run", "--resume", "../../etc"], b"ok", "invalid run id"),
        (["run", "req.md"], b"build it", "pass --yes"),
    ],
)
def test_bad_invocations_fail_with_one_line_and_exit_2(
    ca_env: dict[str, str], tmp_path: Path, args: list[str], content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "req.md").write_bytes(content)
    result = run_ca(args, {**ca_env, "CA_APPROVAL": "ask"}, tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, message)
    assert not (tmp_path / ".ca").exists()


def test_ask_architect_outside_the_pipeline_tells_the_model_to_decide(tmp_path: Path) -> None:
    ctx = ToolContext(root=tmp_path)
    with pytest.raises(ToolError, match="decide yourself"):
        ask_architect(ctx, question="Which?")
    ctx.ask_architect = lambda q: f"answer to {q}"
    assert ask_architect(ctx, question="  Which?  ") == "answer to Which?"
    with pytest.raises(ToolError, match="empty"):
        ask_architect(ctx, question="   ")


def test_sigterm_saves_the_run_like_ctrl_c(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path, git=False)
    fake_server.enqueue({"model": ARCHITECT, "delay": 20, "text": json.dumps(PLAN)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "code_assistant", "--yes", "run", "req.md"],
        cwd=project, env=env_for(ca_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: len(fake_server.chat_requests) == 1, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert_one_line_error(stderr, "interrupted in phase architect", "ca run --resume")
    state = run_state(project)
    assert state["status"] == "interrupted"
    assert state["phases"]["architect"]["failed_calls"] == 1
