"""Best-of-n implementer samples: copies, scoring by tests, ties, concurrency, the kept files."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from code_assistant.errors import CAError
from code_assistant.pipeline.report import build_report, render_markdown
from code_assistant.pipeline.run import run_phase
from code_assistant.pipeline.runtime import Runtime
from code_assistant.pipeline.samples import adopt, changes_between, manifest
from code_assistant.pipeline.state import RunState, SampleScore
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca
from tests.test_pipeline_e2e import (
    ARCHITECT,
    BUGGY_EXPR,
    FIXED_EXPR,
    IMPLEMENTER,
    INIT,
    NO_UNARY_PLUS,
    PARSER,
    PLAN,
    PYPROJECT,
    PYTHON,
    README,
    TESTER,
    TESTS,
    UNARY_PLUS,
    call,
    make_project,
    only_run,
    pipeline_env,
)
from tests.test_pipeline_resume import DOCS, HELLO, TEST_HELLO, env_for, run_state, wait_for, write
from tests.test_pipeline_resume import PLAN as HELLO_PLAN
from tests.test_pipeline_runtime import BIG, SMALL, new_state, runtime, runtimes  # noqa: F401

GOOD_PARSER = PARSER.replace(BUGGY_EXPR, FIXED_EXPR).replace(NO_UNARY_PLUS, UNARY_PLUS)
BROKEN_PARSER = PARSER.replace("def evaluate(text: str)", "def evaluate(text: str")
CHEAT_TESTS = "def test_everything():\n    assert True\n"
SCRATCH = {".git", ".ca", "__pycache__", ".pytest_cache", ".home"}  # .home: the tests' CA_HOME
# This environment's pytest plugins are not needed by the tiny test suites (5x faster without).
PYTEST = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {PYTHON} -m pytest -q -p no:cacheprovider"
ROOT_LINE = re.compile(r"Project root \(working directory\): (\S+)")


def project_files(root: Path) -> dict[str, str]:
    """Every file of the project as text, walked with os.walk (not the code under test)."""
    found = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SCRATCH]
        for name in files:
            path = Path(directory) / name
            found[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    found.pop("ca.config", None)  # written by `ca` itself on its first run in a repository
    return found


def sample_writes(*files: tuple[str, str], note: str = "done") -> list[dict[str, Any]]:
    """One implementer sample: write the files, then finish."""
    writes = [call("write_file", path=path, content=content) for path, content in files]
    return [{"model": IMPLEMENTER, "tool_calls": writes}, {"model": IMPLEMENTER, "text": note}]


def sample_roots(server: FakeModelServer) -> set[Path]:
    """The copies the samples worked in, read from the system prompts they were given."""
    roots = set()
    for request in server.chat_requests:
        system = request["body"]["messages"][0]["content"]
        match = ROOT_LINE.search(system)
        if match and "ca-samples-" in match.group(1):
            roots.add(Path(match.group(1)))
    return roots


def best_of_three_script() -> list[dict[str, Any]]:
    """Tests first, then three samples of which only the second passes them, then the rest."""
    return [
        {"model": ARCHITECT, "text": json.dumps(PLAN)},
        {"model": TESTER, "tool_calls": [call("write_file", path="tests/test_calc.py",
                                              content=TESTS)]},
        {"model": TESTER, "text": "Wrote tests/test_calc.py for the acceptance criteria."},
        # sample 1: the left-recursion bug and no unary plus, and a draft file of its own
        *sample_writes(("pyproject.toml", PYPROJECT), ("calc/__init__.py", INIT),
                       ("calc/parser.py", PARSER), ("calc/draft_one.py", "DRAFT = 1\n")),
        # sample 2: correct
        *sample_writes(("pyproject.toml", PYPROJECT), ("calc/__init__.py", INIT),
                       ("calc/parser.py", GOOD_PARSER)),
        # sample 3: a syntax error, a notes file, and tests rewritten to pass
        *sample_writes(("pyproject.toml", PYPROJECT), ("calc/__init__.py", INIT),
                       ("calc/parser.py", BROKEN_PARSER), ("notes3.md", "# notes\n"),
                       ("tests/test_calc.py", CHEAT_TESTS)),
        {"model": IMPLEMENTER, "text": json.dumps({"findings": []})},  # review
        {"model": ARCHITECT, "tool_calls": [call("write_file", path="README.md", content=README)]},
        {"model": ARCHITECT, "text": "Wrote README.md."},
    ]


def test_best_of_three_keeps_the_only_sample_that_passes_the_tests(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    fake_server.enqueue(*best_of_three_script())
    env = pipeline_env(ca_env, CA_IMPLEMENTER_SAMPLES="3", TMPDIR=str(temp))
    result = run_ca(["--yes", "run", "req.md"], env, project, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    assert fake_server.remaining == 0
    for shown in ("◆ sample 1 of 3", "◆ sample 3 of 3", "sample 1: 5 passed, 2 failed, 0 errors",
                  "sample 2: 7 passed, 0 failed, 0 errors", "sample 3: 0 passed, 0 failed, 1 "
                  "errors", "kept sample 2 of 3", "tests round 1: 7 passed, 0 failed"):
        assert shown in result.stdout, shown

    # The workspace holds exactly the second sample's files, and the tester's tests.
    assert project_files(project) == {
        "req.md": (project / "req.md").read_text(encoding="utf-8"),
        "pyproject.toml": PYPROJECT, "calc/__init__.py": INIT, "calc/parser.py": GOOD_PARSER,
        "tests/test_calc.py": TESTS, "README.md": README,
    }

    run_dir = only_run(project)
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    rows = [(s["sample"], s["passed"], s["failed"], s["errors"], s["kept"])
            for s in report["samples"]]
    assert rows == [(1, 5, 2, 0, False), (2, 7, 0, 0, True), (3, 0, 0, 1, False)]
    by_sample = {s["sample"]: s for s in report["samples"]}
    assert by_sample[1]["files"] == ["calc/__init__.py", "calc/draft_one.py", "calc/parser.py",
                                     "pyproject.toml"]
    assert "tests/test_calc.py" not in by_sample[3]["files"]  # its test edit was undone
    assert all(s["findings"] is None for s in report["samples"])  # no tie: nobody reviewed
    assert by_sample[2]["diff_lines"] == len(GOOD_PARSER.splitlines()) + 11
    assert by_sample[1]["diff_lines"] == by_sample[2]["diff_lines"] - 2 + 1
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "## Implementer samples" in markdown
    assert re.search(r"^\| 2 \| 7 \| 0 \| 0 \| - \| \d+ \| 3 \| [\d.]+ \| \*\*yes\*\* \|$",
                     markdown, re.M)
    for row in (r"1 \| 5 \| 2 \| 0", r"3 \| 0 \| 0 \| 1"):
        assert re.search(rf"^\| {row} \| - \| \d+ \| 4 \| [\d.]+ \| no \|$", markdown, re.M)

    phases = {p["name"]: p for p in report["phases"]}
    assert phases["implement"]["model_calls"] == 2 + 3 * 2  # the tester, then three samples
    assert phases["implement"]["files"] == ["tests/test_calc.py", "calc/__init__.py",
                                            "calc/parser.py", "pyproject.toml"]
    assert phases["fix"]["status"] == "skipped"
    assert [r["passed"] for r in report["tests"]["rounds"]] == [7]
    transcripts = sorted(p.name for p in (run_dir / "transcripts").iterdir())
    assert transcripts == ["architect.jsonl", "docs.jsonl", "implement.jsonl",
                           "implement.sample-1.jsonl", "implement.sample-2.jsonl",
                           "implement.sample-3.jsonl", "review.jsonl"]

    # One local model at a time: the samples ran one after another on the implementer.
    events = [(e["event"], e["model"]) for e in fake_server.events]
    assert events == [("load", ARCHITECT), ("unload", ARCHITECT), ("load", TESTER),
                      ("unload", TESTER), ("load", IMPLEMENTER), ("unload", IMPLEMENTER),
                      ("load", ARCHITECT)]
    # Nothing is left behind: the copies, their worktrees and the snapshot ref are gone.
    assert list(temp.iterdir()) == []
    assert len(sample_roots(fake_server)) == 3
    worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=project,
                               capture_output=True, text=True, check=True).stdout
    assert worktrees.count("worktree ") == 1
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=project,
                          capture_output=True, text=True, check=True).stdout.split()
    assert refs and not [r for r in refs if r.endswith("/samples")]


def _mod_tests(root: Path) -> None:
    (root / "tests").mkdir()
    (root / "tests" / "test_mod.py").write_text(
        "from mod import VALUE\n\n\ndef test_value():\n    assert VALUE == 1\n", encoding="utf-8"
    )


def _ready(root: Path) -> RunState:
    state = new_state(root)
    state.tests_written = True  # the project's tests score the samples; no tester call
    return state


def _review(*severities: str) -> dict[str, Any]:
    findings = [{"severity": s, "file": "mod.py", "message": "style"} for s in severities]
    return {"model": SMALL, "text": json.dumps({"findings": findings})}


@pytest.mark.parametrize(
    ("first_review", "second_review", "kept"),
    [(("LOW",), (), 2), ((), ("LOW", "LOW"), 1), (("HIGH",), ("LOW",), 1)],
    ids=["fewer-findings-beats-smaller-diff", "fewer-findings", "equal-count-smaller-diff"],
)
def test_a_tie_on_tests_goes_to_fewer_findings_then_the_smaller_diff(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime],  # noqa: F811
    first_review: tuple[str, ...], second_review: tuple[str, ...], kept: int,
) -> None:
    _mod_tests(tmp_path)
    rt, _ = runtime(runtimes, fake_server, tmp_path, implementer_samples=3, reviewer_model=SMALL,
                    test_command=PYTEST)
    short, long = "VALUE = 1\n", "# the value\nVALUE = 1\n"
    fake_server.enqueue(
        *[{**r, "model": BIG} for r in sample_writes(("mod.py", short))],
        *[{**r, "model": BIG} for r in sample_writes(("mod.py", long))],
        *[{**r, "model": BIG} for r in sample_writes(("mod.py", "VALUE = 2\n"))],
        _review(*first_review), _review(*second_review),
    )
    state = run_phase(rt, _ready(tmp_path), "implement")
    assert fake_server.remaining == 0
    scores = [(s.sample, s.passed, s.failed, s.findings, s.diff_lines) for s in state.samples]
    assert scores == [(1, 1, 0, len(first_review), 1), (2, 1, 0, len(second_review), 2),
                      (3, 0, 1, None, 1)]
    assert [s.sample for s in state.samples if s.kept] == [kept]
    assert (tmp_path / "mod.py").read_text(encoding="utf-8") == (short if kept == 1 else long)
    # The reviewer read each leader in its own copy.
    reviewed = [r["body"]["messages"][1]["content"] for r in fake_server.chat_requests[-2:]]
    assert "### mod.py" in reviewed[0] and "the value" not in reviewed[0]
    assert "the value" in reviewed[1]
    record = state.phases["implement"]
    assert record.model_calls == 8 and record.files == ["mod.py"]


def test_concurrent_samples_on_a_remote_server(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]  # noqa: F811
) -> None:
    _mod_tests(tmp_path)
    rt, _ = runtime(runtimes, fake_server, tmp_path, implementer_samples=3, backend="openai",
                    openai_base_url=fake_server.openai_url,
                    test_command=PYTEST)
    # Each sample's first request waits for the other two: sequential samples would time out.
    together = threading.Barrier(3, timeout=15)
    lock = threading.Lock()
    contents = iter(["VALUE = 3\n", "VALUE = 1\n", "VALUE = 2\n"])

    def reply(request: dict[str, Any]) -> dict[str, Any]:
        if request["body"]["messages"][-1]["role"] == "tool":
            return {"text": "done"}
        together.wait()
        with lock:
            content = next(contents)
        return {"tool_calls": [call("write_file", path="mod.py", content=content)]}

    fake_server.enqueue(*[reply] * 6)
    state = run_phase(rt, _ready(tmp_path), "implement")
    assert not together.broken
    assert [s.error for s in state.samples] == ["", "", ""]
    assert sorted(s.passed for s in state.samples) == [0, 0, 1]
    (kept,) = [s for s in state.samples if s.kept]
    assert kept.passed == 1
    assert (tmp_path / "mod.py").read_text(encoding="utf-8") == "VALUE = 1\n"
    record = state.phases["implement"]
    assert (record.model_calls, record.tool_calls) == (6, 3)  # every sample's meter counted
    assert record.prompt_tokens > 0 and record.models == [BIG]
    assert len(sample_roots(fake_server)) == 3
    assert not any(root.exists() for root in sample_roots(fake_server))


def test_ctrl_c_during_concurrent_samples_does_not_wait_for_them(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]  # noqa: F811
) -> None:
    rt, _ = runtime(runtimes, fake_server, tmp_path, implementer_samples=3, backend="openai",
                    openai_base_url=fake_server.openai_url, test_command=PYTEST)

    def interrupt(request: dict[str, Any]) -> dict[str, Any]:
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return {"text": "done"}

    slow = {"text": "done", "delay": 30}
    fake_server.enqueue(interrupt, slow, slow)
    state = _ready(tmp_path)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_phase(rt, state, "implement")
    assert time.monotonic() - started < 15
    assert state.phases["implement"].status == "failed"
    assert not any(root.exists() for root in sample_roots(fake_server))


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout


def test_git_worktrees_carry_uncommitted_work_and_the_winner_lands_exactly(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]  # noqa: F811
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitignore").write_text(".env\n.home/\n", encoding="utf-8")
    (root / "old.py").write_text("X = 0\n", encoding="utf-8")
    (root / "test_x.py").write_text(
        "from old import X\n\n\ndef test_x():\n    assert X == 2\n", encoding="utf-8"
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    head = git(root, "rev-parse", "HEAD")
    (root / "old.py").write_text("X = 1\n", encoding="utf-8")  # uncommitted
    (root / "draft.txt").write_text("untracked\n", encoding="utf-8")
    (root / ".env").write_text("SECRET=1\n", encoding="utf-8")  # ignored: not in the copies
    rt, _ = runtime(runtimes, fake_server, root, implementer_samples=2,
                    test_command=PYTEST)
    edit = call("edit_file", path="old.py", old="X = 1", new="X = 2")
    fake_server.enqueue(
        *sample_writes(("loser.py", "L = 1\n")),
        {"model": BIG, "tool_calls": [edit, call("write_file", path="new.py", content="N = 1\n"),
                                      call("run_shell", command="rm draft.txt")]},
        {"model": BIG, "text": "done"},
    )
    state = run_phase(rt, _ready(root), "implement")
    assert [(s.sample, s.passed, s.failed, s.kept) for s in state.samples] == [
        (1, 0, 1, False), (2, 1, 0, True),
    ]
    assert state.samples[1].files == ["draft.txt", "new.py", "old.py"]
    assert project_files(root) == {
        ".gitignore": ".env\n.home/\n", ".env": "SECRET=1\n", "old.py": "X = 2\n",
        "new.py": "N = 1\n",
        "test_x.py": (root / "test_x.py").read_text(encoding="utf-8"),
    }
    assert state.phases["implement"].files == ["draft.txt", "new.py", "old.py"]
    assert state.files_touched == ["draft.txt", "new.py", "old.py"]
    # HEAD and the index are the user's; the worktrees and the snapshot ref are gone.
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "diff", "--cached", "--name-only") == ""
    assert git(root, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert "samples" not in git(root, "for-each-ref")
    assert not any(r.exists() for r in sample_roots(fake_server))


def test_failed_samples_rank_last_and_sampling_is_redone_after_a_failure(
    fake_server: FakeModelServer, tmp_path: Path, runtimes: list[Runtime]  # noqa: F811
) -> None:
    leftovers = list(Path(tempfile.gettempdir()).glob("ca-samples-*"))
    _mod_tests(tmp_path)
    rt, _ = runtime(runtimes, fake_server, tmp_path, implementer_samples=2,
                    test_command=PYTEST)
    broken = {"model": BIG, "error": {"status": 400, "message": "model exploded"}}
    fake_server.enqueue(broken, broken)
    state = _ready(tmp_path)
    with pytest.raises(CAError, match=r"every implementer sample failed.*model exploded"):
        run_phase(rt, state, "implement")
    assert state.phases["implement"].status == "failed"
    assert [(s.sample, s.kept) for s in state.samples] == [(1, False), (2, False)]
    assert all("model exploded" in s.error for s in state.samples)
    assert state.phases["implement"].failed_calls == 2
    assert not (tmp_path / "mod.py").exists()
    assert list(Path(tempfile.gettempdir()).glob("ca-samples-*")) == leftovers

    # Again (as `ca run --resume` does): the first sample fails, the second works.
    fake_server.enqueue(broken, *[{**r, "model": BIG} for r in sample_writes(("mod.py",
                                                                               "VALUE = 1\n"))])
    state = run_phase(rt, state, "implement")
    assert [(s.sample, bool(s.error), s.kept) for s in state.samples] == [
        (1, True, False), (2, False, True),
    ]
    assert "model exploded" in state.samples[0].error
    assert state.phases["implement"].attempts == 2
    assert (tmp_path / "mod.py").read_text(encoding="utf-8") == "VALUE = 1\n"
    assert list(Path(tempfile.gettempdir()).glob("ca-samples-*")) == leftovers
    markdown = render_markdown(build_report(state))
    assert "| 1 | 0 | 0 | 0 | - | 0 | 0 |" in markdown and "no (error: " in markdown


def test_the_report_has_no_samples_section_with_one_sample(tmp_path: Path) -> None:
    state = new_state(tmp_path)
    report = build_report(state)
    assert report["samples"] == []
    assert "Implementer samples" not in render_markdown(report)
    state.samples = [SampleScore(sample=1, passed=3, kept=True, findings=2, diff_lines=9,
                                 files=["a.py"], seconds=1.25),
                     SampleScore(sample=2, exit_code=1, error="server said a | b")]
    markdown = render_markdown(build_report(state))
    assert "| 1 | 3 | 0 | 0 | 2 | 9 | 1 | 1.2 | **yes** |" in markdown
    assert "| 2 | 0 | 0 | 0 | - | 0 | 0 | 0.0 | no (error: server said a / b) |" in markdown


# --- changes_between + adopt: the workspace ends up holding exactly the sample's files ----

PATHS = ["a.py", "b.txt", "d/c.py", "d/e/f.md", "g h.txt", "ü.py", "x/y/z/deep.rs"]
CONTENT = st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.dictionaries(st.sampled_from(PATHS), CONTENT, max_size=len(PATHS)),
    writes=st.dictionaries(st.sampled_from(PATHS), CONTENT, max_size=len(PATHS)),
    deletes=st.sets(st.sampled_from(PATHS)),
)
def test_adopting_a_sample_makes_the_workspace_equal_to_its_copy(
    base: dict[str, bytes], writes: dict[str, bytes], deletes: set[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, copy = Path(tmp) / "ws", Path(tmp) / "copy"
        for rel, data in base.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        root.mkdir(exist_ok=True)
        shutil.copytree(root, copy)
        before = manifest(copy)
        for rel in deletes:
            (copy / rel).unlink(missing_ok=True)
        for rel, data in writes.items():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).write_bytes(data)
        (copy / "__pycache__").mkdir(exist_ok=True)
        (copy / "__pycache__" / "a.pyc").write_bytes(b"cache")
        changes = changes_between(root, copy, before)
        final = {rel: (copy / rel).read_bytes() for rel in PATHS if (copy / rel).is_file()}
        assert {c.path for c in changes} == {
            rel for rel in PATHS if base.get(rel) != final.get(rel)
        }
        for change in changes:
            assert change.before == base.get(change.path)
            assert change.after == final.get(change.path)
        adopt(root, copy, changes)
        assert manifest(root) == manifest(copy)
        assert {rel: (root / rel).read_bytes() for rel in manifest(root)} == final


def test_ctrl_c_during_sampling_then_resume_redoes_the_samples(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = env_for(ca_env)
    env.update(CA_IMPLEMENTER_SAMPLES="2", TMPDIR=str(temp))
    wrong = 'def greet(name):\n    return "hi"\n'
    fake_server.enqueue(
        {"model": ARCHITECT, "text": json.dumps(HELLO_PLAN)},
        {"model": TESTER, **write("tests/test_hello.py", TEST_HELLO)},
        {"model": TESTER, "text": "Wrote tests/test_hello.py."},
        *sample_writes(("hello.py", wrong)),
        {"model": IMPLEMENTER, "delay": 20, **write("hello.py", "never written")},
        # resume: both samples again, the second passes; review; docs
        *sample_writes(("hello.py", wrong)),
        *sample_writes(("hello.py", HELLO)),
        {"model": IMPLEMENTER, "text": '{"findings": []}'},
        {"model": DOCS, **write("README.md", "# hello\n")},
        {"model": DOCS, "text": "Wrote README.md."},
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "code_assistant", "--yes", "run", "req.md"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_for(lambda: len(fake_server.chat_requests) == 6, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    state = run_state(project)
    assert state["phases"]["implement"]["status"] == "failed"
    assert state["tests_written"] is True
    assert not (project / "hello.py").exists()
    assert list(temp.iterdir()) == []

    resumed = run_ca(["--yes", "run", "--resume"], env, project, timeout=120)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert fake_server.remaining == 0  # the tester was not asked again
    state = run_state(project)
    assert state["phases"]["implement"]["attempts"] == 2
    assert [(s["sample"], s["passed"], s["failed"], s["kept"]) for s in state["samples"]] == [
        (1, 0, 1, False), (2, 1, 0, True),
    ]
    assert (project / "hello.py").read_text(encoding="utf-8") == HELLO
    assert list(temp.iterdir()) == []
    worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=project,
                               capture_output=True, text=True, check=True).stdout
    assert worktrees.count("worktree ") == 1
