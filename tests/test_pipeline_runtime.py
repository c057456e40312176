"""Pipeline pieces in-process against the fake server: model switching, phases, the seam."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from code_assistant.agent.architect import Plan
from code_assistant.backends import get_backend
from code_assistant.config import load_config
from code_assistant.pipeline.progress import JsonProgress
from code_assistant.pipeline.report import build_report
from code_assistant.pipeline.run import execute, run_phase
from code_assistant.pipeline.runtime import MeteredBackend, Runtime
from code_assistant.pipeline.state import Finding, RunState, RunStore
from code_assistant.pipeline.step import implement_work, open_step
from tests.fakes.model_server import FakeModelServer

SMALL, BIG = "qwen2.5-coder:7b", "qwen2.5-coder:14b"
PLAN = {
    "intent": "implementation",
    "summary": "a module",
    "files": ["mod.py"],
    "steps": ["write mod.py"],
    "acceptance_criteria": ["mod.VALUE == 1"],
}


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    """Every Runtime a test makes; their backends' connections are closed afterwards."""
    made: list[Runtime] = []
    yield made
    for rt in made:
        rt.backend.close()


def runtime(
    made: list[Runtime], server: FakeModelServer, root: Path, **settings: Any
) -> tuple[Runtime, io.StringIO]:
    cli = {
        "ollama_host": server.url, "max_retries": 0, "approval": "auto",
        "symbol_map_tokens": 0, "checkpoint": "none", "architect_model": SMALL,
        "implementer_model": BIG, **settings,
    }
    loaded = load_config(root, cli=cli, env={"CA_HOME": str(root / ".home")})
    events = io.StringIO()
    backend = MeteredBackend(get_backend(loaded.config))
    made.append(Runtime(loaded, backend, RunStore(root), JsonProgress(events)))
    return made[-1], events


def new_state(root: Path) -> RunState:
    state = RunState(id="r1", root=str(root), requirement_path="req.md", requirement="make mod")
    state.plan = Plan.model_validate(PLAN)
    state.phases["architect"].status = "done"
    return state


def unload_requests(server: FakeModelServer) -> list[str]:
    return [r["body"]["model"] for r in server.requests if r["path"] == "/api/generate"]


def test_models_are_unloaded_only_when_the_next_one_differs(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    rt, events = runtime(runtimes, fake_server, tmp_path)
    state = new_state(tmp_path)
    rt.use_model(state, SMALL, "architect")
    rt.use_model(state, SMALL, "architect")
    assert unload_requests(fake_server) == []
    rt.use_model(state, BIG, "implement")
    rt.use_model(state, SMALL, "docs")
    assert unload_requests(fake_server) == [SMALL, BIG]
    assert [(s.unloaded, s.loading, s.phase) for s in state.switches] == [
        (SMALL, BIG, "implement"), (BIG, SMALL, "docs"),
    ]
    assert [json.loads(line)["event"] for line in events.getvalue().splitlines()] == ["unload"] * 2


def test_no_unloading_when_one_model_at_a_time_is_off(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    rt, _ = runtime(runtimes, fake_server, tmp_path, one_model_at_a_time=False)
    state = new_state(tmp_path)
    rt.use_model(state, SMALL, "architect")
    rt.use_model(state, BIG, "implement")
    assert unload_requests(fake_server) == []
    assert state.loaded_model == BIG


def test_a_failed_unload_is_a_warning_not_a_stop(
    tmp_path: Path, runtimes: list[Runtime]
) -> None:
    with FakeModelServer() as server:
        rt, events = runtime(runtimes, server, tmp_path)
    state = new_state(tmp_path)  # the server is gone now
    state.loaded_model = SMALL
    rt.use_model(state, BIG, "implement")
    assert state.loaded_model == BIG and state.switches == []
    (event,) = [json.loads(line) for line in events.getvalue().splitlines()]
    assert event["event"] == "warning" and f"could not unload {SMALL}" in event["message"]


def test_implement_work_runs_in_a_copy_of_the_workspace(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "existing.py").write_text("OLD = 0\n", encoding="utf-8")
    copy = tmp_path / "sample-1"
    shutil.copytree(project, copy)
    rt, _ = runtime(runtimes, fake_server, project)
    state = new_state(project)
    fake_server.enqueue(
        {"model": BIG, "tool_calls": [
            {"name": "write_file", "arguments": {"path": "mod.py", "content": "VALUE = 1\n"}},
            {"name": "edit_file", "arguments": {"path": "existing.py", "old": "OLD = 0",
                                                "new": "OLD = 1"}},
        ]},
        {"model": BIG, "text": "done"},
    )
    step = open_step(rt, "implement", root=copy)
    implement_work(step, state)
    assert (copy / "mod.py").read_text(encoding="utf-8") == "VALUE = 1\n"
    assert (copy / "existing.py").read_text(encoding="utf-8") == "OLD = 1\n"
    assert not (project / "mod.py").exists()
    assert (project / "existing.py").read_text(encoding="utf-8") == "OLD = 0\n"
    assert [c.path for c in step.ctx.changes] == ["mod.py", "existing.py"]
    system = fake_server.chat_requests[0]["body"]["messages"][0]["content"]
    assert str(copy) in system and str(project) not in system


def test_run_phase_records_syntax_errors_lines_and_recoveries(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    rt, _ = runtime(runtimes, fake_server, tmp_path)
    state = new_state(tmp_path)
    fake_server.enqueue(
        {"model": BIG, "tool_calls": [
            {"name": "write_file", "arguments": {"path": "mod.py", "content": "def f(:\n"}},
            {"name": "read_file", "arguments": {"path": "missing.py"}},
        ]},
        {"model": BIG, "text": "done"},
    )
    state = run_phase(rt, state, "implement")
    record = state.phases["implement"]
    assert record.status == "done" and record.attempts == 1
    assert len(record.syntax_errors) == 1
    assert record.syntax_errors[0].startswith("mod.py:1: ")
    assert (record.model_calls, record.tool_calls, record.lines_added) == (2, 2, 1)
    assert record.recoveries["tool_errors"] == 1
    assert record.prompt_tokens > 0 and record.completion_tokens > 0
    assert state.files_touched == ["mod.py"]
    report = build_report(state)
    assert report["totals"]["syntax_errors"] == 1
    assert report["recoveries"]["tool_errors"] == 1
    saved = RunStore(tmp_path).load("r1")
    assert saved.phases["implement"].syntax_errors == record.syntax_errors
    assert (tmp_path / ".ca" / "runs" / "r1" / "report.json").is_file()


def test_review_without_written_files_is_skipped(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    rt, _ = runtime(runtimes, fake_server, tmp_path)
    state = new_state(tmp_path)
    state.phases["implement"].status = "done"
    state = run_phase(rt, state, "review")
    assert state.phases["review"].status == "skipped"
    assert state.phases["review"].note == "no files were written"
    assert fake_server.chat_requests == []


@pytest.mark.parametrize("severity", ["LOW", None])
def test_fix_is_skipped_without_serious_findings(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime], severity: str | None
) -> None:
    rt, _ = runtime(runtimes, fake_server, tmp_path)
    state = new_state(tmp_path)
    if severity:
        state.findings = [Finding(severity=severity, file="a.py", message="style")]
    state = run_phase(rt, state, "fix")
    assert state.phases["fix"].status == "skipped"
    assert fake_server.chat_requests == []


FAILING_TESTS = (
    "echo 'FAILED tests/test_mod.py::test_value - assert 2 == 1'; "
    "echo '1 failed, 2 passed in 0.01s'; exit 1"
)


def test_tests_that_keep_failing_stop_after_the_last_round_with_exit_1(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rt, _ = runtime(runtimes, fake_server, tmp_path, test_rounds=2, test_command=FAILING_TESTS,
                    tester_model=SMALL, docs_model=SMALL)
    state = new_state(tmp_path)
    for name in ("implement", "review", "fix"):
        state.phases[name].status = "done"
    rt.store.save(state)
    fake_server.enqueue(
        {"model": SMALL, "tool_calls": [{"name": "write_file", "arguments": {
            "path": "tests/test_mod.py", "content": "def test_value():\n    assert 2 == 1\n"}}]},
        {"model": SMALL, "text": "wrote tests"},
        {"model": BIG, "text": "I could not find the cause."},  # the fix after round 1
        {"model": SMALL, "text": "README is fine as it is."},  # docs
    )
    code = execute(rt.loaded, rt.store, state, None, json_out=True)
    assert code == 1
    assert fake_server.remaining == 0
    saved = rt.store.load("r1")
    assert saved.status == "done"
    assert [(r.round, r.failed, r.passed, r.fixed) for r in saved.test_rounds] == [
        (1, 1, 2, True), (2, 1, 2, False),
    ]
    fix_prompt = fake_server.chat_requests[2]["body"]["messages"][1]["content"]
    assert "round 1 of 2" in fix_prompt
    assert "FAILED tests/test_mod.py::test_value - assert 2 == 1" in fix_prompt
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    run_end = next(e for e in events if e["event"] == "run_end")
    assert run_end["tests_passed"] is False
    assert run_end["hint"] == "tests still fail after 2 rounds"
    assert events[-1]["event"] == "result" and events[-1]["tests_passed"] is False
