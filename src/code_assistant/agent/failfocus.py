"""Point a failing check at the code to fix: the function a failing assertion called, or the
function a traceback ended in, shown with its line numbers.

A 1.5B model shown `E  +  where -1800.0 = apply_discount(200.0, 10)` edits the test, or pastes
the assertion into the code, in a loop; shown the six lines of apply_discount and what it
returned, it has the one place to look at. Only the project's own Python files are read.
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from code_assistant.agent.taskrules import is_test_path
from code_assistant.tools.edits import numbered
from code_assistant.tools.paths import walk_files

MAX_LINES = 30  # a longer function is shown by its first lines; read_file has the rest
_FUNCTIONS: tuple[type[ast.stmt], ...] = (ast.FunctionDef, ast.AsyncFunctionDef)
MAX_FILES = 400  # Python files parsed at most: in a large project the note is only a help
# pytest's assertion rewriting: "E    +  where -1800.0 = apply_discount(200.0, 10)"
_WHERE = re.compile(r"^E\s+\+\s+where (?P<value>.+?) = (?P<call>(?P<name>[A-Za-z_][\w.]*)\(.*\))$")
_NAME_ERROR = re.compile(r"NameError: name '(?P<name>[A-Za-z_]\w*)' is not defined")
_NO_FIXTURE = re.compile(r"^E\s+fixture '(\w+)' not found")
_TEST_DEF = re.compile(r"^(?:async\s+)?def (?P<name>test\w*)\((?P<params>[^)]+)\):")
_USED_AT = re.compile(r"^(?P<path>[\w./-]+\.py):\d+: NameError")  # pytest's short location
# a traceback frame: '  File "/p/report.py", line 11, in load_hours'
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>[\w<>]+)')


@dataclass(frozen=True)
class Definition:
    path: str  # relative to the project root
    first: int  # 1-based
    last: int
    lines: list[str]


def focus_note(root: Path, output: str) -> str:
    """A note naming the function to fix and showing it ("" when the output names none)."""
    project = _Project(root)
    lines = output.splitlines()
    return (_fixture_note(lines) or _import_hint(project, output)
            or _assertion_note(project, lines) or _traceback_note(project, lines))


def _fixture_note(lines: list[str]) -> str:
    """Test functions with parameters pytest cannot fill (a 1.5B model wrote
    `def test_words(text):` and ran it again and again)."""
    tests: dict[str, str] = {}  # test name -> its parameters
    fixtures: list[str] = []
    for index, line in enumerate(lines):
        missing = _NO_FIXTURE.match(line.strip())
        if missing is None:
            continue
        for above in reversed(lines[max(0, index - 8) : index]):
            test = _TEST_DEF.match(above.strip())
            if test is not None:
                tests.setdefault(test.group("name"), test.group("params"))
                fixtures += [missing.group(1)] if missing.group(1) not in fixtures else []
                break
    if not tests:
        return ""
    changes = "; ".join(f"`def {name}({params}):` must become `def {name}():`"
                        for name, params in list(tests.items())[:5])
    return (
        f"pytest passes a test function nothing but fixtures, and there is no fixture named "
        f"{' or '.join(fixtures)}: {changes}, with the values each test needs written inside it."
    )


class _Project:
    """The project's Python files outside the tests, parsed once per note, on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parsed: list[tuple[str, ast.Module, list[str]]] | None = None

    def files(self) -> list[tuple[str, ast.Module, list[str]]]:
        if self._parsed is None:
            self._parsed = []
            rels = (r for r in walk_files(self.root) if r.endswith(".py") and not is_test_path(r))
            for rel in itertools.islice(rels, MAX_FILES):
                parsed = _parsed(self.root / rel)
                if parsed is not None:
                    self._parsed.append((rel, *parsed))
        return self._parsed

    def find(self, name: str, kinds: tuple[type[ast.stmt], ...],
             top: bool = False) -> Definition | None:
        """The one node of `kinds` named `name` (top level only with `top`); None when there
        is none or more than one."""
        found = [
            _definition(rel, node, lines) for rel, tree, lines in self.files()
            for node in (tree.body if top else ast.walk(tree))
            if isinstance(node, kinds) and getattr(node, "name", None) == name
        ]
        return found[0] if len(found) == 1 else None


def _assertion_note(project: _Project, lines: list[str]) -> str:
    for line in lines:
        match = _WHERE.match(line.strip())
        if match is None:
            continue
        name = match.group("name").rsplit(".", 1)[-1]
        found = project.find(name, _FUNCTIONS)
        if found is None:
            continue
        call, value = (_cut(match.group(g)) for g in ("call", "value"))
        wanted = _expected(lines, match.group("value"))
        should = f" It must return {_cut(wanted)}." if wanted else ""
        return (
            f"The failing assertion calls {call}, which returned {value}.{should} {name} is "
            f"in {found.path}, lines {found.first}-{found.last}:\n{_shown(found)}\n"
            f"The bug is most likely in these lines: change {name} in {found.path} so the "
            "assertion holds."
        )
    return ""


def _traceback_note(project: _Project, lines: list[str]) -> str:
    frame = _last_project_frame(project.root, lines)
    if frame is None:
        return ""
    rel, number, func = frame
    found = _enclosing_function(project.root, rel, number)
    if found is None:
        return ""
    return (
        f"The error happens in {rel} line {number}, in {func}, lines {found.first}-{found.last}:"
        f"\n{_shown(found)}\nThe cause is in or called from these lines."
    )


def _import_hint(project: _Project, output: str) -> str:
    """A NameError for a project module or a name one module defines: the missing import
    (a 1.5B model wrote tests calling wordcount.words() with no `import wordcount`)."""
    match = _NAME_ERROR.search(output)
    if match is None:
        return ""
    name = match.group("name")
    if (project.root / f"{name}.py").is_file():
        line = f"import {name}"
    else:
        found = project.find(name, (*_FUNCTIONS, ast.ClassDef), top=True)
        if found is None:
            return ""
        line = f"from {found.path.removesuffix('.py').replace('/', '.')} import {name}"
    used = [m.group("path") for m in map(_USED_AT.match, output.splitlines()) if m]
    frame = _last_project_frame(project.root, output.splitlines(), tests=True)
    where = used[-1] if used else frame[0] if frame else "the file that uses it"
    return (
        f"NameError: {name} is not defined in {where} because it is never imported. Add the "
        f"line `{line}` at the top of {where}, above the code that uses {name}."
    )


def _expected(lines: list[str], value: str) -> str:
    """B in pytest's `E  assert A == B` when A is the value the call returned."""
    prefix = f"assert {value} == "
    for line in lines:
        text = line.strip().removeprefix("E").strip()
        if text.startswith(prefix):
            return text[len(prefix):]
    return ""


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(found: Definition) -> str:
    shown = found.lines[:MAX_LINES]
    more = "\n[... more lines: read_file shows them]" if len(found.lines) > MAX_LINES else ""
    return numbered(shown, found.first) + more


def _parsed(path: Path) -> tuple[ast.Module, list[str]] | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        return ast.parse(text), text.splitlines()
    except (OSError, SyntaxError, ValueError):
        return None


def _definition(rel: str, node: ast.stmt, lines: list[str]) -> Definition:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    last = getattr(node, "end_lineno", None) or first
    return Definition(rel, first, last, lines[first - 1 : last])


def _last_project_frame(
    root: Path, lines: list[str], tests: bool = False
) -> tuple[str, int, str] | None:
    """The innermost traceback frame in a project file (not a test, unless `tests`)."""
    base = root.resolve()
    last = None
    for line in lines:
        match = _FRAME.match(line)
        if match is None:
            continue
        path = Path(match.group("path"))
        path = path if path.is_absolute() else base / path
        try:
            rel = path.resolve().relative_to(base).as_posix()
        except (OSError, ValueError):
            continue
        if rel.endswith(".py") and (tests or not is_test_path(rel)):
            last = (rel, int(match.group("line")), match.group("func"))
    return last


def _enclosing_function(root: Path, rel: str, number: int) -> Definition | None:
    """The innermost function of root/rel holding line `number`."""
    path = root / rel
    parsed = _parsed(path)
    if parsed is None:
        return None
    tree, lines = parsed
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            end = getattr(node, "end_lineno", None) or node.lineno
            if node.lineno <= number <= end and (best is None or node.lineno > best.lineno):
                best = node
    return _definition(rel, best, lines) if best is not None else None
