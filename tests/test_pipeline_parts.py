"""Pipeline parts on real files: requirement reading, plan checks, run store, test counts."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from code_assistant.agent.architect import Plan, check_plan_path
from code_assistant.errors import CAError, UsageError
from code_assistant.pipeline.phases import drop_unfixed_round
from code_assistant.pipeline.report import build_report, render_markdown
from code_assistant.pipeline.run import read_requirement
from code_assistant.pipeline.state import (
    PHASES,
    Finding,
    RunState,
    RunStore,
    TestRound,
    check_run_id,
    new_run_id,
)
from code_assistant.pipeline.testrunner import detect_test_command, parse_counts, run_tests

WORK_PLAN = {
    "intent": "implementation",
    "summary": "a calculator",
    "files": ["calc.py", {"path": "tests/test_calc.py", "purpose": "tests"}],
    "steps": ["write calc.py"],
    "acceptance_criteria": ["evaluate('1+1') returns 2"],
}


# --- requirement file -----------------------------------------------------------------------


def test_requirement_is_read_relative_to_the_base(tmp_path: Path) -> None:
    (tmp_path / "req.md").write_text("\ufeffBuild a calculator.\n", encoding="utf-8")
    path, text = read_requirement("req.md", tmp_path)
    assert path == tmp_path / "req.md"
    assert text == "Build a calculator.\n"  # the BOM is not part of the requirement


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "is empty"),
        (b" \n\t\n", "is empty"),
        (b"PK\x03\x04\x00\x00binary", "is binary"),
        (b"\xff\xfe\xfa not utf-8", "is binary"),
        (b"x" * 200_001, "too large"),
    ],
)
def test_bad_requirement_files_are_usage_errors(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / "req.md").write_bytes(content)
    with pytest.raises(UsageError, match=message) as caught:
        read_requirement("req.md", tmp_path)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_directory_is_not_a_requirement_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        read_requirement(".", tmp_path)


# --- plan -------------------------------------------------------------------------------------


def test_plan_accepts_file_names_as_strings_and_renders_markdown() -> None:
    plan = Plan.model_validate(WORK_PLAN)
    assert [f.path for f in plan.files] == ["calc.py", "tests/test_calc.py"]
    text = plan.to_markdown()
    assert "- tests/test_calc.py: tests" in text
    assert "1. write calc.py" in text
    assert "evaluate('1+1') returns 2" in text


def test_a_work_plan_needs_steps_and_acceptance_criteria() -> None:
    with pytest.raises(ValidationError, match="acceptance_criteria"):
        Plan.model_validate({**WORK_PLAN, "acceptance_criteria": []})
    question = Plan.model_validate({"intent": "conversational", "summary": "q", "answer": "42"})
    assert question.steps == []


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x.py", "a/../../b", "C:\\x.py", "", "./"])
def test_plan_paths_must_stay_in_the_project(bad: str) -> None:
    with pytest.raises(ValueError, match=r"relative|inside"):
        check_plan_path(bad)


_SEGMENT = st.text(st.characters(blacklist_characters="/\\\0", blacklist_categories=("Cs",)),
                   min_size=1, max_size=8)


@given(st.lists(_SEGMENT, min_size=1, max_size=5))
def test_checked_plan_paths_never_escape(parts: list[str]) -> None:
    raw = "/".join(parts)
    try:
        clean = check_plan_path(raw)
    except ValueError:
        return
    assert not clean.startswith("/")
    assert ".." not in clean.split("/")
    assert "" not in clean.split("/")
    assert os.path.normpath(os.path.join("/root", clean)).startswith("/root/")


def test_findings_accept_lowercase_severity() -> None:
    finding = Finding.model_validate(
        {"severity": "medium", "file": "a.py", "line": 3, "message": "m"}
    )
    assert finding.severity == "MEDIUM"
    with pytest.raises(ValidationError):
        Finding.model_validate({"severity": "urgent", "file": "a.py", "message": "m"})


# --- run store --------------------------------------------------------------------------------


def _state(run_id: str, **changes: object) -> RunState:
    return RunState(id=run_id, root="/p", requirement_path="/p/req.md", requirement="r", **changes)


def test_store_round_trips_state_and_finds_the_latest_unfinished(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.save(_state("20260101-000000-aaaa", status="done"))
    store.save(_state("20260102-000000-bbbb", status="failed"))
    store.save(_state("20260103-000000-cccc", status="done"))
    loaded = store.load("20260102-000000-bbbb")
    assert loaded.status == "failed"
    assert [r.id for r in store.list()] == [
        "20260101-000000-aaaa", "20260102-000000-bbbb", "20260103-000000-cccc"
    ]
    latest = store.latest_unfinished()
    assert latest is not None and latest.id == "20260102-000000-bbbb"
    assert (tmp_path / ".ca" / "runs" / ".gitignore").read_text() == "*\n"


def test_store_reports_unknown_and_damaged_runs_in_one_line(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(UsageError, match="no run 'nope'"):
        store.load("nope")
    broken = tmp_path / ".ca" / "runs" / "20260101-000000-dead"
    broken.mkdir(parents=True)
    (broken / "state.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CAError, match="damaged"):
        store.load("20260101-000000-dead")
    assert store.list() == []  # a damaged run does not hide the others or crash the listing


@given(st.text(max_size=30))
def test_run_ids_never_leave_the_runs_directory(run_id: str) -> None:
    try:
        checked = check_run_id(run_id)
    except UsageError:
        return
    base = Path("/p/.ca/runs")
    assert (base / checked).resolve().parent == base


def test_new_run_ids_are_valid_and_distinct() -> None:
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) > 40
    assert all(check_run_id(i) == i for i in ids)


def test_next_phase_skips_done_and_skipped_phases() -> None:
    state = _state("r1")
    assert state.next_phase() == "architect"
    for name in ("architect", "implement"):
        state.phases[name].status = "done"
    state.phases["review"].status = "skipped"
    assert state.next_phase() == "fix"
    for name in PHASES:
        state.phases[name].status = "done"
    assert state.next_phase() is None


def test_resume_reruns_a_failed_round_whose_fix_never_ran() -> None:
    state = _state("r1")
    state.test_rounds = [TestRound(round=1, command="t", exit_code=1, failed=1, fixed=False)]
    drop_unfixed_round(state, rounds=3)
    assert state.test_rounds == []
    state.test_rounds = [TestRound(round=1, command="t", exit_code=1, failed=1, fixed=True)]
    drop_unfixed_round(state, rounds=3)
    assert len(state.test_rounds) == 1
    state.test_rounds = [TestRound(round=3, command="t", exit_code=1, failed=1)]
    drop_unfixed_round(state, rounds=3)  # the last allowed round is final
    assert len(state.test_rounds) == 1


def test_report_sums_phases_and_counts_findings() -> None:
    state = _state("r1", status="done")
    state.phases["architect"].model_calls = 2
    state.phases["implement"].model_calls = 5
    state.phases["implement"].recoveries = {"tool_errors": 2, "gave_up": 0}
    state.phases["implement"].syntax_errors = ["a.py:3: invalid syntax"]
    state.findings = [
        Finding(severity="HIGH", file="a.py", message="x"),
        Finding(severity="LOW", file="a.py", message="y"),
    ]
    state.test_rounds = [TestRound(round=1, command="t", exit_code=0, collected=4, passed=4)]
    report = build_report(state)
    assert report["totals"]["model_calls"] == 7
    assert report["totals"]["syntax_errors"] == 1
    assert report["findings"]["by_severity"] == {"HIGH": 1, "MEDIUM": 0, "LOW": 1}
    assert report["recoveries"]["total"] == 2
    assert report["tests"]["passed"] is True
    json.dumps(report)
    text = render_markdown(report)
    assert "| implement | pending |" in text
    assert "**HIGH** `a.py`: x" in text


# --- test runner ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("....F\n1 failed, 4 passed in 0.12s", (5, 4, 1, 0)),
        ("===== 3 passed, 1 skipped, 2 deselected in 1.01s =====", (4, 3, 0, 0)),
        ("E   ImportError\n1 error in 0.05s", (1, 0, 0, 1)),
        ("===== 2 failed, 1 passed, 1 error in 65.43s (0:01:05) =====", (4, 1, 2, 1)),
        ("no tests ran in 0.01s", (0, 0, 0, 0)),
        ("test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured\n"
         "test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured", (7, 5, 1, 0)),
        ("Tests:       1 failed, 5 passed, 6 total", (6, 5, 1, 0)),
        ("  4 passing (20ms)\n  1 failing", (5, 4, 1, 0)),
        ("=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\nFAIL", (2, 1, 1, 0)),
    ],
)
def test_counts_from_each_runner(output: str, expected: tuple[int, int, int, int]) -> None:
    counts = parse_counts(output)
    assert (counts.collected, counts.passed, counts.failed, counts.errors) == expected


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 50))
def test_pytest_summary_counts_round_trip(passed: int, failed: int, errors: int) -> None:
    parts = [f"{n} {word}" for n, word in ((failed, "failed"), (passed, "passed"),
                                            (errors, "error" if errors == 1 else "errors")) if n]
    line = f"{', '.join(parts) or 'no tests ran'} in 0.50s"
    counts = parse_counts(f"some output\n{line}\n")
    assert (counts.passed, counts.failed, counts.errors) == (passed, failed, errors)
    assert counts.collected == passed + failed + errors


def test_detects_the_project_runner(tmp_path: Path) -> None:
    assert detect_test_command(tmp_path) == ""
    assert detect_test_command(tmp_path, "make check") == "make check"
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("", encoding="utf-8")
    assert detect_test_command(tmp_path).endswith("-m pytest -q")
    (tmp_path / "package.json").write_text('{"scripts": {"test": "jest"}}', encoding="utf-8")
    assert detect_test_command(tmp_path) == "npm test"
    (tmp_path / "go.mod").write_text("module x\n", encoding="utf-8")
    assert detect_test_command(tmp_path) == "go test -v ./..."
    (tmp_path / "Cargo.toml").write_text("[package]\n", encoding="utf-8")
    assert detect_test_command(tmp_path) == "cargo test"


def test_npm_placeholder_test_script_is_not_a_runner(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}', encoding="utf-8"
    )
    assert detect_test_command(tmp_path) == ""


def test_runs_real_pytest_and_counts(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(
        "def test_ok():\n    assert 1 + 1 == 2\n\ndef test_bad():\n    assert 1 + 1 == 3\n",
        encoding="utf-8",
    )
    run = run_tests(tmp_path, f"{sys.executable} -m pytest -q -p no:cacheprovider", 60)
    assert run.exit_code == 1
    assert (run.counts.collected, run.counts.passed, run.counts.failed) == (2, 1, 1)
    assert "assert (1 + 1) == 3" in run.output


def test_a_hanging_test_command_is_killed(tmp_path: Path) -> None:
    run = run_tests(tmp_path, "sleep 30", 0.5)
    assert run.exit_code == 124
    assert "timed out" in run.output
    assert run.seconds < 10


def test_the_projects_virtualenv_runs_its_tests_in_the_pipeline_and_the_scorer(
    tmp_path: Path,
) -> None:
    from code_assistant.bench.scoring import _python as scoring_python

    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    assert scoring_python(tmp_path) == sys.executable  # no venv: ca's own interpreter
    assert not detect_test_command(tmp_path).startswith(str(tmp_path))
    for name in ("venv", ".venv"):  # .venv wins when both are there
        python = tmp_path / name / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text("")
        assert detect_test_command(tmp_path) == f"{python} -m pytest -q"
        assert scoring_python(tmp_path) == str(python)
