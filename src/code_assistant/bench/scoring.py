"""Independent scoring of a workspace: files and lines written, syntax errors, and tests run
by the harness itself (the workspace's own tests, then the held-out file the agent never saw)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from code_assistant.bench.proc import run_process
from code_assistant.config import PROJECT_FILE

# Tool and cache directories: what a run leaves behind that nobody wrote as a deliverable.
NOISE_DIRS = frozenset({
    ".ca", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
    ".venv", "venv", "node_modules", "target", ".tox", "dist", "build",
})
HELDOUT_NAME = "ca_heldout_test.py"
TEST_NAME = re.compile(
    r"(^test_.*\.py$|_test\.py$|^conftest\.py$|_test\.go$|\.(test|spec)\.[cm]?[jt]sx?$)"
)
JS_SUFFIXES = (".js", ".mjs", ".cjs")


@dataclass
class FileStats:
    """What is in the workspace after a run; tests counted apart as well as in the totals."""

    files: int = 0
    lines: int = 0
    test_files: int = 0
    test_lines: int = 0
    paths: list[str] = field(default_factory=list)


@dataclass
class TestOutcome:
    """One test run by the harness: its counts from junit XML (or the output when none)."""

    __test__ = False

    command: str
    exit_code: int
    timed_out: bool = False
    seconds: float = 0.0
    collected: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    tail: str = ""
    note: str = ""  # why the tests were not run, when they were not

    @property
    def ok(self) -> bool:
        return (not self.timed_out and self.exit_code == 0 and self.passed > 0
                and self.failed == 0 and self.errors == 0)


def _noise(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in NOISE_DIRS or p.endswith(".egg-info") for p in parts[:-1]) or parts[-1] in {
        ".DS_Store"
    } or parts[-1].endswith((".pyc", ".pyo"))


def written_files(root: Path) -> list[str]:
    """The files of the workspace (it started empty, so every one was written by the run)."""
    from code_assistant.tools.paths import walk_files

    # ca.config is written by `ca` itself on its first run in a repository, not by the agent.
    ignored = {HELDOUT_NAME, PROJECT_FILE}
    return [rel for rel in walk_files(root) if not _noise(rel) and rel not in ignored]


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    return bool(TEST_NAME.search(parts[-1])) or any(p in ("tests", "test") for p in parts[:-1])


def _line_count(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if b"\0" in data[:8192]:
        return 0  # binary
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def file_stats(root: Path, paths: list[str]) -> FileStats:
    stats = FileStats(paths=list(paths))
    for rel in paths:
        lines = _line_count(root / rel)
        stats.files += 1
        stats.lines += lines
        if is_test_path(rel):
            stats.test_files += 1
            stats.test_lines += lines
    return stats


def syntax_errors(root: Path, paths: list[str]) -> list[str]:
    """Every written Python file compiled; cargo check, tsc and node --check where installed."""
    from code_assistant.pipeline.checks import syntax_errors as compile_errors

    errors = compile_errors(root, paths)
    node = shutil.which("node")
    for rel in paths:
        if node and rel.endswith(JS_SUFFIXES):
            result = run_process([node, "--check", rel], cwd=root, env=os.environ, timeout=60)
            if result.exit_code != 0:
                first = next((ln for ln in result.output.splitlines() if "Error" in ln), "")
                errors.append(f"{rel}: {first or 'node --check failed'}")
    return errors


def test_env(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment tests run in: the workspace (and its src/) importable, no bytecode."""
    env = dict(os.environ if base is None else base)
    paths = [str(root), str(root / "src")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env.update(PYTHONPATH=os.pathsep.join(paths), PYTHONDONTWRITEBYTECODE="1")
    return env


def _python(root: Path) -> str:
    from code_assistant.pipeline.testrunner import venv_python

    return venv_python(root) or sys.executable


def junit_counts(path: Path) -> dict[str, int] | None:
    """collected/passed/failed/errors/skipped from a junit XML file; None when unreadable."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return None
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key) or 0)
    passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
    return {"collected": total["tests"], "passed": max(0, passed), "failed": total["failures"],
            "errors": total["errors"], "skipped": total["skipped"]}


def run_pytest(
    root: Path, args: list[str], junit: Path, timeout: float, env: dict[str, str] | None = None
) -> TestOutcome:
    """pytest in the workspace with junit XML written outside it, where the code cannot reach."""
    from code_assistant.pipeline.testrunner import parse_counts

    junit.unlink(missing_ok=True)
    argv = [_python(root), "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"--junitxml={junit}", *args]
    result = run_process(argv, cwd=root, env=test_env(root, env), timeout=timeout)
    counts = junit_counts(junit)
    if counts is None:
        parsed = parse_counts(result.output)
        counts = {k: getattr(parsed, k) for k in ("collected", "passed", "failed", "errors",
                                                  "skipped")}
    command = " ".join(["pytest", *args]).strip()
    return TestOutcome(command, result.exit_code, result.timed_out, round(result.seconds, 3),
                       counts["collected"], counts["passed"], counts["failed"],
                       counts["errors"], counts["skipped"], tail=result.tail[-1500:])


def run_other_tests(root: Path, command: str, timeout: float) -> TestOutcome:
    """cargo / go / npm tests through the pipeline's runner and counters."""
    from code_assistant.pipeline.testrunner import run_tests

    result = run_tests(root, command, timeout)
    c = result.counts
    return TestOutcome(command, result.exit_code, result.exit_code == 124,
                       round(result.seconds, 3), c.collected, c.passed, c.failed, c.errors,
                       c.skipped, result.output[-1500:])


def run_own_tests(
    root: Path, paths: list[str], scratch: Path, timeout: float
) -> TestOutcome | None:
    """The workspace's own tests, or None when it has none."""
    from code_assistant.pipeline.testrunner import detect_test_command

    command = detect_test_command(root)
    if command and "pytest" not in command:
        return run_other_tests(root, command, timeout)
    if not any(rel.endswith(".py") and is_test_path(rel) for rel in paths):
        return None
    return run_pytest(root, [], scratch / "own-tests.xml", timeout)


def run_heldout(root: Path, heldout: Path, scratch: Path, timeout: float) -> TestOutcome:
    """The held-out test file, copied in only now and removed again afterwards."""
    target = root / HELDOUT_NAME
    shutil.copyfile(heldout, target)
    try:
        return run_pytest(root, [HELDOUT_NAME], scratch / "heldout.xml", timeout)
    finally:
        target.unlink(missing_ok=True)


def unwritten(heldout: Path) -> TestOutcome:
    """The held-out outcome of a run that wrote no file: each test counted, none passed."""
    import ast

    try:
        tree = ast.parse(heldout.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("Test")]
    scopes: list[ast.Module | ast.ClassDef] = [tree, *classes]
    count = sum(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
        for scope in scopes for node in scope.body
    )  # fmt: skip
    return TestOutcome("", -1, collected=count, failed=count, note="nothing written")


def score_workspace(
    root: Path, scratch: Path, *, heldout: Path | None, test_timeout: float, tests: bool = True
) -> dict[str, Any]:
    """Files, lines, syntax errors, own tests and held-out tests, as plain JSON data.

    `tests=False` (a cancelled run) counts files and syntax only.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    paths = written_files(root)
    stats = file_stats(root, paths)
    errors = syntax_errors(root, paths)
    own = run_own_tests(root, paths, scratch, test_timeout) if tests else None
    held = None
    if heldout and tests:
        # On an empty workspace a held-out test that asserts nothing of the code would pass:
        # "2/11" for a run that wrote nothing. Nothing written fails every held-out test.
        held = run_heldout(root, heldout, scratch, test_timeout) if paths else unwritten(heldout)
    return {
        "files": stats.files,
        "lines": stats.lines,
        "test_files": stats.test_files,
        "test_lines": stats.test_lines,
        "code_lines": stats.lines - stats.test_lines,
        "paths": stats.paths,
        "syntax_errors": len(errors),
        "syntax_error_details": errors,
        "tests": _outcome(own),
        "heldout": _outcome(held),
    }


def _outcome(outcome: TestOutcome | None) -> dict[str, Any] | None:
    return None if outcome is None else {**asdict(outcome), "ok": outcome.ok}
