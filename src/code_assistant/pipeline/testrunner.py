"""The project's real test runner: detect it (pytest, cargo, npm, go), run it, count results."""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

TEST_OUTPUT_LINES = 200
_PYTEST_COUNT = re.compile(
    r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b"
)
_CARGO_RESULT = re.compile(
    r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored"
)
_JEST_TESTS = re.compile(r"^Tests:\s+(.*\d+ total)", re.M)
_JEST_COUNT = re.compile(r"(\d+) (passed|failed|skipped|todo)")
_MOCHA = re.compile(r"^\s*(\d+) (passing|failing|pending)\b", re.M)
_GO_RESULT = re.compile(r"^\s*--- (PASS|FAIL|SKIP):", re.M)


@dataclass
class Counts:
    collected: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0


@dataclass
class TestRun:
    """One run of the test command."""

    __test__ = False

    command: str
    exit_code: int
    seconds: float
    output: str
    counts: Counts


def venv_python(root: Path) -> str | None:
    """The interpreter of the project's virtualenv (.venv or venv), if it has one."""
    for venv in (".venv", "venv"):
        candidate = root / venv / "bin" / "python"
        if candidate.is_file():
            return str(candidate)
    return None


def _python(root: Path) -> str:
    """The project's own interpreter when it has a virtualenv, else python on PATH."""
    return venv_python(root) or shutil.which("python") or shutil.which("python3") or sys.executable


def _has_python_tests(root: Path) -> bool:
    markers = ("pytest.ini", "conftest.py", "pyproject.toml", "setup.py", "setup.cfg", "tox.ini")
    if any((root / marker).is_file() for marker in markers):
        return True
    return any(root.glob("test_*.py")) or any(root.glob("tests/**/test_*.py"))


def _npm_has_tests(root: Path) -> bool:
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    test = (package.get("scripts") or {}).get("test", "") if isinstance(package, dict) else ""
    return bool(test) and "no test specified" not in test


def detect_test_command(root: Path, configured: str = "") -> str:
    """The configured command, else one found from the project's files; "" when none fits."""
    if configured.strip():
        return configured.strip()
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    if (root / "go.mod").is_file():
        return "go test -v ./..."
    if (root / "package.json").is_file() and _npm_has_tests(root):
        return "npm test"
    if _has_python_tests(root):
        return f"{_python(root)} -m pytest -q"
    return ""


def parse_counts(output: str) -> Counts:
    """Tests collected/passed/failed from pytest, cargo, jest, mocha or `go test -v` output."""
    counts = Counts()
    tail = "\n".join(output.splitlines()[-30:])
    pytest_counts = _pytest_counts(tail)
    if pytest_counts is not None:
        return pytest_counts
    cargo = _CARGO_RESULT.findall(output)
    if cargo:
        for passed, failed, ignored in cargo:
            counts.passed += int(passed)
            counts.failed += int(failed)
            counts.skipped += int(ignored)
    elif _JEST_TESTS.search(output):
        for number, kind in _JEST_COUNT.findall(_JEST_TESTS.findall(output)[-1]):
            _add(counts, {"passed": "passed", "failed": "failed"}.get(kind, "skipped"), number)
    elif _MOCHA.search(output):
        for number, kind in _MOCHA.findall(output):
            _add(counts, {"passing": "passed", "failing": "failed"}.get(kind, "skipped"), number)
    else:
        for kind in _GO_RESULT.findall(output):
            _add(counts, {"PASS": "passed", "FAIL": "failed"}.get(kind, "skipped"), "1")
    counts.collected = counts.passed + counts.failed + counts.skipped
    return counts


def _pytest_counts(tail: str) -> Counts | None:
    """From pytest's last summary line: '1 failed, 4 passed in 0.12s' (with or without ===)."""
    for line in reversed(tail.splitlines()):
        if not re.search(r"\b(passed|failed|errors?|no tests ran)\b.* in [\d.]+s", line):
            continue
        counts = Counts()
        for number, kind in _PYTEST_COUNT.findall(line):
            key = {"error": "errors", "xpassed": "passed", "xfailed": "skipped"}.get(kind, kind)
            if key != "deselected":
                _add(counts, key, number)
        counts.collected = counts.passed + counts.failed + counts.skipped + counts.errors
        return counts
    return None


def _add(counts: Counts, key: str, number: str) -> None:
    setattr(counts, key, getattr(counts, key) + int(number))


def run_tests(root: Path, command: str, timeout: float) -> TestRun:
    """Run the command in the project root with the shell tool's runner (group kill on timeout)."""
    from code_assistant.tools.shell import run_command

    result = run_command(command, root.resolve(), timeout, TEST_OUTPUT_LINES)
    exit_code = 124 if result.timed_out else result.exit_code
    output = result.output
    if result.timed_out:
        output += f"\n[the test command timed out after {timeout:g}s and was killed]"
    return TestRun(command, exit_code, result.seconds, output, parse_counts(output))


def failure_tail(output: str, lines: int = 60) -> str:
    """The end of a failing run, where the assertion and the summary are."""
    return "\n".join(output.rstrip().splitlines()[-lines:])
