"""The harness's own scoring of a workspace: files, lines, syntax, its tests and held-out tests."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from code_assistant.bench.proc import run_process
from code_assistant.bench.scoring import (
    HELDOUT_NAME,
    file_stats,
    is_test_path,
    junit_counts,
    run_own_tests,
    score_workspace,
    syntax_errors,
    written_files,
)

STARTER = Path(__file__).resolve().parents[1] / "bench" / "suites" / "starter"


@pytest.fixture(autouse=True)
def _fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    # The child pytest needs none of this environment's plugins (and is 5x faster without).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.mark.parametrize(("task", "expected"), [
    ("01-todo-cli", 11), ("02-notes-api", 16), ("03-tabconv", 21),
])
def test_each_starter_reference_passes_its_held_out_tests(
    tmp_path: Path, task: str, expected: int
) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(STARTER / "reference" / task, workspace)
    score = score_workspace(workspace, tmp_path / "logs",
                            heldout=STARTER / f"{task}.tests.py", test_timeout=120)
    held = score["heldout"]
    assert held["ok"], held["tail"]
    assert (held["passed"], held["collected"], held["failed"]) == (expected, expected, 0)
    assert score["tests"] is None  # the reference has no tests of its own
    assert score["syntax_errors"] == 0 and score["files"] == 1
    assert not (workspace / HELDOUT_NAME).exists()
    assert (tmp_path / "logs" / "heldout.xml").is_file()


def test_starter_documents_each_have_held_out_tests() -> None:
    from code_assistant.bench.harness import discover_tasks

    tasks = discover_tasks(STARTER)
    assert [t.name for t in tasks] == ["01-todo-cli", "02-notes-api", "03-tabconv"]
    assert all(t.heldout is not None and t.heldout.is_file() for t in tasks)


def test_files_are_counted_without_tool_noise(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/main.py": "print(1)\nprint(2)\n", "app/util.py": "x = 1",  # no final newline
        "tests/test_main.py": "def test_x():\n    assert True\n", "test_top.py": "\n",
        "conftest.py": "", "logo.png": b"\x89PNG\0\0\0binary\n\n",
        ".ca/runs/x/state.json": "{}", "app/__pycache__/main.cpython-311.pyc": b"\0",
        ".pytest_cache/v": "x", "node_modules/a/index.js": "x", "pkg.egg-info/PKG-INFO": "x",
        ".venv/bin/python": "x", HELDOUT_NAME: "def test(): pass\n",
    })
    paths = written_files(tmp_path)
    assert sorted(paths) == ["app/main.py", "app/util.py", "conftest.py", "logo.png",
                             "test_top.py", "tests/test_main.py"]
    stats = file_stats(tmp_path, paths)
    assert (stats.files, stats.lines) == (6, 2 + 1 + 2 + 1 + 0 + 0)
    assert (stats.test_files, stats.test_lines) == (3, 3)


@pytest.mark.parametrize(("path", "expected"), [
    ("test_app.py", True), ("app_test.py", True), ("tests/helpers.py", True),
    ("pkg/test/data.json", True), ("conftest.py", True), ("src/app.test.ts", True),
    ("web/app.spec.js", True), ("main_test.go", True), ("app.py", False),
    ("testing.py", False), ("contest.py", False), ("src/latest/app.py", False),
])
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_every_written_python_file_is_compiled(tmp_path: Path) -> None:
    write(tmp_path, {"good.py": "x = 1\n", "bad.py": "def f(:\n    pass\n",
                     "pkg/worse.py": "x = (\n", "notes.txt": "def f(:"})
    errors = syntax_errors(tmp_path, written_files(tmp_path))
    assert len(errors) == 2
    assert any(e.startswith("bad.py:1:") for e in errors)
    assert any(e.startswith("pkg/worse.py:") for e in errors)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_is_checked_with_node(tmp_path: Path) -> None:
    write(tmp_path, {"ok.js": "const a = 1;\n", "bad.js": "function (\n"})
    errors = syntax_errors(tmp_path, ["ok.js", "bad.js"])
    assert len(errors) == 1 and errors[0].startswith("bad.js:")


def test_own_tests_are_counted_from_junit(tmp_path: Path) -> None:
    write(tmp_path, {
        "calc.py": "def double(x):\n    return x * 2\n",
        "tests/test_calc.py": (
            "import pytest\nfrom calc import double\n\n"
            "def test_ok():\n    assert double(2) == 4\n\n"
            "def test_wrong():\n    assert double(2) == 5\n\n"
            "@pytest.mark.skip\ndef test_skipped():\n    pass\n"
        ),
    })
    outcome = run_own_tests(tmp_path, written_files(tmp_path), tmp_path / "scratch", 120)
    assert outcome is not None
    assert (outcome.collected, outcome.passed, outcome.failed, outcome.skipped) == (3, 1, 1, 1)
    assert outcome.exit_code == 1 and not outcome.ok
    assert "assert 4 == 5" in outcome.tail


def test_no_tests_means_none(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": "print('hi')\n", "pyproject.toml": "[project]\nname='x'\n"})
    assert run_own_tests(tmp_path, written_files(tmp_path), tmp_path, 60) is None


def test_a_hanging_test_run_is_stopped_and_recorded(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", {
        "test_hang.py": "import time\n\ndef test_forever():\n    time.sleep(60)\n",
    })
    started = time.monotonic()
    score = score_workspace(workspace, tmp_path / "logs", heldout=None, test_timeout=2)
    assert time.monotonic() - started < 20
    tests = score["tests"]
    assert tests["timed_out"] and not tests["ok"] and tests["passed"] == 0


def test_held_out_file_is_not_seen_by_the_own_tests(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", {
        "lib.py": "VALUE = 3\n",
        "test_lib.py": "from lib import VALUE\n\ndef test_value():\n    assert VALUE == 3\n",
    })
    heldout = write(tmp_path, {"req.tests.py": (
        "from lib import VALUE\n\ndef test_a():\n    assert VALUE == 3\n\n"
        "def test_b():\n    assert VALUE == 4\n"
    )}) / "req.tests.py"
    score = score_workspace(workspace, tmp_path / "logs", heldout=heldout, test_timeout=60)
    assert (score["tests"]["collected"], score["tests"]["passed"]) == (1, 1)
    held = score["heldout"]
    assert (held["collected"], held["passed"], held["failed"], held["ok"]) == (2, 1, 1, False)
    assert score["files"] == 2 and not (workspace / HELDOUT_NAME).exists()


def test_src_layout_is_importable_by_held_out_tests(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", {"src/mypkg/__init__.py": "ANSWER = 42\n"})
    heldout = write(tmp_path, {"t.tests.py": (
        "from mypkg import ANSWER\n\ndef test_answer():\n    assert ANSWER == 42\n"
    )}) / "t.tests.py"
    score = score_workspace(workspace, tmp_path / "logs", heldout=heldout, test_timeout=60)
    assert score["heldout"]["ok"], score["heldout"]["tail"]


def test_junit_counts(tmp_path: Path) -> None:
    xml = tmp_path / "j.xml"
    xml.write_text(
        '<testsuites><testsuite tests="5" failures="1" errors="1" skipped="1"/>'
        '<testsuite tests="2" failures="0" errors="0" skipped="0"/></testsuites>'
    )
    assert junit_counts(xml) == {"collected": 7, "passed": 4, "failed": 1, "errors": 1,
                                 "skipped": 1}
    (tmp_path / "bad.xml").write_text("<testsuites")
    assert junit_counts(tmp_path / "bad.xml") is None
    assert junit_counts(tmp_path / "missing.xml") is None


def test_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    result = run_process(["bash", "-c", script], cwd=tmp_path, env=os.environ, timeout=1,
                         grace=0.5)
    assert result.timed_out and result.exit_code < 0
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_background_jobs_do_not_outlive_a_finished_run(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"sleep 60 & echo $! > {pid_file}; exit 0"
    result = run_process(["bash", "-c", script], cwd=tmp_path, env=os.environ, timeout=10)
    assert result.exit_code == 0 and not result.timed_out
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_stop_event_cancels_a_run(tmp_path: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    result = run_process([sys.executable, "-c", "import time; time.sleep(30)"], cwd=tmp_path,
                         env=os.environ, timeout=30, grace=0.5, stop=stop)
    assert result.stopped and not result.timed_out
    assert time.monotonic() - started < 5


def test_output_is_captured_without_pipes(tmp_path: Path) -> None:
    result = run_process(["bash", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path,
                         env=os.environ, timeout=10)
    assert (result.exit_code, result.output) == (3, "out\nerr\n")
    logs = tmp_path / "o.txt", tmp_path / "e.txt"
    result = run_process(["bash", "-c", "echo out; echo err >&2"], cwd=tmp_path,
                         env=os.environ, timeout=10, stdout=logs[0], stderr=logs[1])
    assert result.output == "" and logs[0].read_text() == "out\n" and logs[1].read_text() == (
        "err\n")
