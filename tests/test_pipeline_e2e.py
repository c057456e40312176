"""`ca run req.md` end to end: the fake server plays every persona to build a real package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca

ARCHITECT = "qwen2.5-coder:7b"
IMPLEMENTER = "qwen2.5-coder:14b"
TESTER = "qwen2.5-coder:1.5b"
PYTHON = sys.executable

REQUIREMENT = """\
# Calculator

Write a Python package `calc` with a function `evaluate(text)` that evaluates arithmetic
expressions with + - * /, unary minus and plus, and parentheses, with the usual precedence and
left-to-right evaluation. Invalid input raises `calc.ParseError`.
"""

PLAN = {
    "intent": "implementation",
    "summary": "A calc package with a recursive-descent expression parser.",
    "files": [
        {"path": "calc/__init__.py", "purpose": "exports evaluate and ParseError"},
        {"path": "calc/parser.py", "purpose": "tokenizer and parser"},
        {"path": "pyproject.toml", "purpose": "package metadata and pytest config"},
    ],
    "steps": ["Write the tokenizer", "Write the parser", "Export evaluate"],
    "acceptance_criteria": [
        'evaluate("2+3*4") returns 14',
        'evaluate("10-4-3") returns 3',
        'evaluate("+3") returns 3',
        'evaluate("1/0") raises ZeroDivisionError',
        'evaluate("2+") raises ParseError',
    ],
}

PYPROJECT = """\
[project]
name = "calc"
version = "0.1.0"

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

INIT = '''"""A small calculator."""

from calc.parser import ParseError, evaluate

__all__ = ["ParseError", "evaluate"]
'''

# The deliberate bug: `expr` recurses for its right operand, so 10-4-3 is 10-(4-3).
BUGGY_EXPR = """\
        if self.peek() in ("+", "-"):
            op = self.take()
            right = self.expr()
            return left + right if op == "+" else left - right
        return left
"""
FIXED_EXPR = """\
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            left = left + right if op == "+" else left - right
        return left
"""
NO_UNARY_PLUS = """\
        if tok == "-":
            return -self.factor()
"""
UNARY_PLUS = """\
        if tok == "-":
            return -self.factor()
        if tok == "+":
            return self.factor()
"""

PARSER = f'''"""Evaluate arithmetic: + - * / and parentheses with the usual precedence."""

from __future__ import annotations

import re

TOKEN = re.compile(r"\\s*(?:(\\d+\\.?\\d*)|(.))")


class ParseError(ValueError):
    """The text is not a valid expression."""


def tokenize(text: str) -> list[str]:
    tokens = []
    for number, op in TOKEN.findall(text):
        if number:
            tokens.append(number)
        elif op.strip():
            if op not in "+-*/()":
                raise ParseError(f"unexpected character {{op!r}}")
            tokens.append(op)
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def expr(self) -> float:
        left = self.term()
{BUGGY_EXPR}
    def term(self) -> float:
        left = self.factor()
        while self.peek() in ("*", "/"):
            op = self.take()
            right = self.factor()
            if op == "/":
                if right == 0:
                    raise ZeroDivisionError("division by zero")
                left /= right
            else:
                left *= right
        return left

    def factor(self) -> float:
        tok = self.take()
        if tok is None:
            raise ParseError("unexpected end of expression")
{NO_UNARY_PLUS}        if tok == "(":
            value = self.expr()
            if self.take() != ")":
                raise ParseError("missing )")
            return value
        try:
            return float(tok)
        except ValueError:
            raise ParseError(f"unexpected token {{tok!r}}") from None


def evaluate(text: str) -> float:
    parser = _Parser(tokenize(text))
    value = parser.expr()
    if parser.peek() is not None:
        raise ParseError(f"unexpected token {{parser.peek()!r}}")
    return value
'''

TESTS = '''import pytest

from calc import ParseError, evaluate


def test_precedence():
    assert evaluate("2+3*4") == 14


def test_parentheses():
    assert evaluate("(2+3)*4") == 20


def test_subtraction_is_left_to_right():
    assert evaluate("10-4-3") == 3


def test_division():
    assert evaluate("7/2") == 3.5


def test_unary_signs():
    assert evaluate("-3+5") == 2
    assert evaluate("+3") == 3


def test_division_by_zero():
    with pytest.raises(ZeroDivisionError):
        evaluate("1/0")


def test_invalid_input():
    with pytest.raises(ParseError):
        evaluate("2+")
'''

README = """# calc

    >>> from calc import evaluate
    >>> evaluate("2+3*4")
    14.0

Run the tests with `python -m pytest`.
"""


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def calculator_script() -> list[dict[str, Any]]:
    """Every reply of the run, in order, each tagged with the model that must ask for it."""
    smoke = f"{PYTHON} -c \"from calc import evaluate; print(evaluate('2+3*4'))\""
    return [
        # architect
        {"model": ARCHITECT, "text": json.dumps(PLAN)},
        # implement (the architect answers one question in the middle)
        {"model": IMPLEMENTER, "tool_calls": [
            call("write_file", path="pyproject.toml", content=PYPROJECT),
            call("write_file", path="calc/__init__.py", content=INIT),
            call("write_file", path="calc/parser.py", content=PARSER),
        ]},
        {"model": IMPLEMENTER, "tool_calls": [
            call("ask_architect", question="Should 1/0 raise ZeroDivisionError or ParseError?"),
        ]},
        {"model": ARCHITECT, "text": "Raise ZeroDivisionError: it is not a syntax problem."},
        {"model": IMPLEMENTER, "tool_calls": [call("run_shell", command=smoke)]},
        {"model": IMPLEMENTER, "text": "Wrote the calc package; 2+3*4 gives 14."},
        # review
        {"model": IMPLEMENTER, "text": json.dumps({"findings": [
            {"severity": "MEDIUM", "file": "calc/parser.py", "line": 52,
             "message": "unary plus ('+3') is rejected", "suggestion": "handle '+' in factor"},
            {"severity": "low", "file": "calc/__init__.py", "line": 1,
             "message": "docstring could be longer", "suggestion": ""},
        ]})},
        # fix
        {"model": IMPLEMENTER, "tool_calls": [
            call("edit_file", path="calc/parser.py", old=NO_UNARY_PLUS, new=UNARY_PLUS),
        ]},
        {"model": IMPLEMENTER, "text": "Unary plus is handled in factor."},
        # test: the tester writes tests and runs them once (they fail: the bug)
        {"model": TESTER, "tool_calls": [
            call("write_file", path="tests/test_calc.py", content=TESTS),
        ]},
        {"model": TESTER, "tool_calls": [call("run_shell", command=f"{PYTHON} -m pytest -q")]},
        {"model": TESTER, "text": "Wrote tests/test_calc.py; test_subtraction fails."},
        # round 1 fails -> the implementer fixes from the output tail
        {"model": IMPLEMENTER, "tool_calls": [
            call("edit_file", path="calc/parser.py", old=BUGGY_EXPR, new=FIXED_EXPR),
        ]},
        {"model": IMPLEMENTER, "text": "expr now loops, so - and + go left to right."},
        # docs
        {"model": ARCHITECT, "tool_calls": [call("write_file", path="README.md", content=README)]},
        {"model": ARCHITECT, "text": "Wrote README.md."},
    ]


def pipeline_env(ca_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        **ca_env,
        "CA_ARCHITECT_MODEL": ARCHITECT,
        "CA_IMPLEMENTER_MODEL": IMPLEMENTER,
        "CA_REVIEWER_MODEL": IMPLEMENTER,
        "CA_TESTER_MODEL": TESTER,
        "CA_DOCS_MODEL": ARCHITECT,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
        # The generated package's pytest needs none of this environment's plugins (5x faster).
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        **extra,
    }


def make_project(tmp_path: Path, git: bool = True) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "req.md").write_text(REQUIREMENT, encoding="utf-8")
    if git:
        subprocess.run(["git", "init", "-q"], cwd=project, check=True,
                       env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    return project


def only_run(project: Path) -> Path:
    runs = [p for p in (project / ".ca" / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


def test_run_builds_a_calculator_whose_bug_is_fixed_in_test_round_two(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path)
    fake_server.enqueue(*calculator_script())
    result = run_ca(["--yes", "run", "req.md"], pipeline_env(ca_env), project, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    assert fake_server.remaining == 0
    run_dir = only_run(project)
    for shown in ("▶ implement (qwen2.5-coder:14b)", "⏺ ask_architect(",
                  "unloaded qwen2.5-coder:1.5b before qwen2.5-coder:14b",
                  "review: 0 HIGH, 1 MEDIUM, 1 LOW",
                  "tests round 1: 6 passed, 1 failed, 0 errors (7 collected, exit 1)",
                  "tests round 2: 7 passed, 0 failed", f"run {run_dir.name} done"):
        assert shown in result.stdout

    # The package is real and its own tests pass with the real pytest.
    check = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=project, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
    assert "7 passed" in check.stdout
    assert "while self.peek()" in (project / "calc" / "parser.py").read_text(encoding="utf-8")
    assert (project / "README.md").read_text(encoding="utf-8") == README

    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    phases = {p["name"]: p for p in report["phases"]}
    assert report["status"] == "done"
    assert [p["status"] for p in report["phases"]] == ["done"] * 6
    chats = fake_server.chat_requests
    assert report["totals"]["model_calls"] == len(chats) == 16
    assert {n: p["model_calls"] for n, p in phases.items()} == {
        "architect": 1, "implement": 5, "review": 1, "fix": 2, "test": 5, "docs": 2,
    }
    assert {n: p["tool_calls"] for n, p in phases.items()} == {
        "architect": 0, "implement": 5, "review": 0, "fix": 1, "test": 3, "docs": 1,
    }
    assert report["totals"]["prompt_tokens"] > 0
    assert report["totals"]["completion_tokens"] > 0
    assert phases["implement"]["files"] == ["pyproject.toml", "calc/__init__.py", "calc/parser.py"]
    assert phases["implement"]["lines_added"] == len(PARSER.splitlines()) + 11
    assert phases["test"]["files"] == ["tests/test_calc.py", "calc/parser.py"]
    assert report["totals"]["syntax_errors"] == 0

    rounds = report["tests"]["rounds"]
    assert [(r["round"], r["collected"], r["passed"], r["failed"], r["fixed"]) for r in rounds] == [
        (1, 7, 6, 1, True), (2, 7, 7, 0, False),
    ]
    assert report["tests"]["passed"] is True
    assert "-m pytest -q" in report["tests"]["command"]
    assert report["findings"]["by_severity"] == {"HIGH": 0, "MEDIUM": 1, "LOW": 1}
    assert report["recoveries"]["failed_commands"] == 1  # the tester's own failing pytest run
    assert [q["answer"] for q in report["architect_questions"]] == [
        "Raise ZeroDivisionError: it is not a syntax problem."
    ]
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "| 1 | 7 | 6 | 1 | 0 | 1 | yes |" in markdown

    # One model in memory at a time, with an unload before each different model.
    assert fake_server.max_loaded == 1
    events = [(e["event"], e["model"]) for e in fake_server.events]
    assert events == [
        ("load", ARCHITECT), ("unload", ARCHITECT),
        ("load", IMPLEMENTER), ("unload", IMPLEMENTER),  # ask_architect mid-phase
        ("load", ARCHITECT), ("unload", ARCHITECT),
        ("load", IMPLEMENTER), ("unload", IMPLEMENTER),  # review and fix reuse it
        ("load", TESTER), ("unload", TESTER),
        ("load", IMPLEMENTER), ("unload", IMPLEMENTER),
        ("load", ARCHITECT),
    ]
    unloads = [r for r in fake_server.requests if r["path"] == "/api/generate"]
    assert [r["body"]["keep_alive"] for r in unloads] == [0] * 6
    assert len(report["model_switches"]) == 6

    # State, transcripts, checkpoints.
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    assert state["status"] == "done"
    transcripts = sorted(p.name for p in (run_dir / "transcripts").iterdir())
    assert transcripts == [f"{n}.jsonl" for n in sorted(phases)]
    implement_log = [json.loads(line) for line in
                     (run_dir / "transcripts" / "implement.jsonl").read_text().splitlines()]
    assert implement_log[0]["persona"] == "implementer"
    assert any(m.get("name") == "ask_architect" for m in implement_log[0]["messages"])
    for name in ("start", *phases):
        commit = state["checkpoints"]["start"] if name == "start" else phases[name]["checkpoint"]
        assert commit, name
    show = subprocess.run(["git", "show", f"{phases['implement']['checkpoint']}:calc/parser.py"],
                          cwd=project, capture_output=True, text=True, check=True)
    assert "right = self.expr()" in show.stdout  # the buggy version, as it was after implement
    listed = run_ca(["runs", "--json"], pipeline_env(ca_env), project)
    assert json_result(listed.stdout)["runs"][0]["status"] == "done"


def test_json_event_stream_and_undo(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_project(tmp_path)
    fake_server.enqueue(*calculator_script())
    env = pipeline_env(ca_env, CA_CHECKPOINT="ref")
    result = run_ca(["--yes", "run", "--json", "--req-file", "req.md"], env, project, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_start" and kinds[-2:] == ["run_end", "result"]
    starts = [e for e in events if e["event"] == "phase_start"]
    assert [(e["phase"], e["model"]) for e in starts] == [
        ("architect", ARCHITECT), ("implement", IMPLEMENTER), ("review", IMPLEMENTER),
        ("fix", IMPLEMENTER), ("test", TESTER), ("docs", ARCHITECT),
    ]
    assert [e["ok"] for e in events if e["event"] == "test_round"] == [False, True]
    assert sum(e["event"] == "unload" for e in events) == 6
    assert all("phase" in e for e in events if e["event"] in ("tool_call", "tool_result"))
    assert "token" not in kinds

    undo = run_ca(["undo"], env, project)
    assert undo.returncode == 0, undo.stderr
    for made in ("calc", "tests", "README.md", "pyproject.toml"):
        assert not (project / made).exists(), made
    assert (project / "req.md").read_text(encoding="utf-8") == REQUIREMENT
    assert "restored calc/parser.py" in undo.stdout
