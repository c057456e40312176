"""What a task's words promise, checked without running anything.

Two failures a real 1.5B model shows on everyday tasks, each caught from the task text:

- asked to "fix the bug so the tests pass", it edits the test's expected value instead;
- asked for "a function slugify(text)" in a module, it writes a class with a slugify method
  (or no slugify at all) and answers that the task is done.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_FIX = re.compile(r"\b(?:fix|repair|correct)\b", re.I)
_TESTS_FAIL = re.compile(r"\b(?:tests?|specs?)\b.*?\b(?:fail|fails|failing|pass|passes)\b"
                         r"|\b(?:pytest|npm test|cargo test|go test|node \S*test\S*)\b.*?\bfail",
                         re.I | re.S)
_TESTS_ARE_THE_JOB = re.compile(
    r"\b(?:fix|update|change|correct|edit|rewrite|write|add|extend)\s+(?:the\s+|a\s+|new\s+)?"
    r"(?:unit\s+)?tests?\b|\btests?\s+(?:is|are)\s+wrong\b",
    re.I,
)
_TEST_NAME = re.compile(
    r"(?:^|/)(?:test_[^/]*|[^/]*_test\.\w+|[^/]*\.(?:test|spec)\.\w+|test\.\w+|tests?/.*)$"
)
_NAMED = (
    re.compile(r"\b(function|method|fn)\s+`?([A-Za-z_]\w*)\s*\("),  # a function slugify(text)
    re.compile(r"\b`?([A-Za-z_]\w*)\s*\([^()]*\)`?\s+(function|method)\b"),  # a f(x) method
)


def protects_tests(task: str) -> bool:
    """The task says the tests show a bug in the code: the tests are right, not the job."""
    return bool(_FIX.search(task) and _TESTS_FAIL.search(task)
                and not _TESTS_ARE_THE_JOB.search(task))


def is_test_path(rel: str) -> bool:
    return bool(_TEST_NAME.search(PurePosixPath(rel).as_posix()))


def test_edit_refusal(rel: str, code_files: Sequence[str]) -> str:
    """The tool error for an edit to a test file the task relies on."""
    where = f" ({', '.join(code_files)})" if code_files else ""
    return (
        f"not changed: {rel} is a test, and the task says the tests are right and the code "
        f"is wrong. Leave {rel} as it is. Read the failing assertion, then read the code it "
        f"calls{where} and fix the bug there with edit_file."
    )


@dataclass(frozen=True)
class Named:
    """A definition the task asks for: `function slugify(...)` or `withdraw(...) method`."""

    name: str
    kind: str  # function or method


def named_definitions(task: str) -> list[Named]:
    found: list[Named] = []
    for kind, name in _NAMED[0].findall(task):
        found.append(Named(name, "method" if kind == "method" else "function"))
    for name, kind in _NAMED[1].findall(task):
        found.append(Named(name, kind))
    unique = {n.name: n for n in found}
    return list(unique.values())


def missing_definitions(root: Path, task: str, changed: Sequence[str]) -> str:
    """A note for the model when a definition the task names is not in the changed files
    (a function must be at the top level of a Python module); "" when all are there."""
    wanted = named_definitions(task)
    files = [p for p in dict.fromkeys(changed) if (root / p).is_file()]
    if not wanted or not files:
        return ""
    texts = {}
    for rel in files:
        try:
            texts[rel] = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    problems = [p for p in (_problem(n, texts) for n in wanted) if p]
    if not problems:
        return ""
    told = any("write_file:" in p for p in problems)  # a problem with the code to write
    return (
        "The task is not done: " + " ".join(problems)
        + (" Then answer with a short summary." if told
           else " Fix it with edit_file, then answer with a short summary.")
    )


def _problem(named: Named, texts: dict[str, str]) -> str:
    inside: tuple[str, str] | None = None  # (file, class) holding the function as a method
    for rel, text in texts.items():
        where = _defined_at(rel, text, named.name)
        if where == "top":
            return unexported(rel, text, named.name)
        if where and named.kind == "method":
            return ""
        if where:
            inside = (rel, where)
    if inside and named.kind == "function":
        rel, cls = inside
        note = (
            f"{rel} defines {named.name} inside class {cls}, but the task asks for a function "
            f"{named.name}: define `def {named.name}(...)` at the top level of the module, not "
            "inside a class."
        )
        fixed = unwrapped_class(texts[rel], cls)
        if fixed:  # a small model repeats its own code: give it the code to copy instead
            note += (f" Without the class, {rel} reads as below; write exactly this with "
                     f"write_file:\n```python\n{fixed}```\n")
        return note
    names = ", ".join(texts)
    return f"the task asks for {named.kind} {named.name}, and {names} does not define it."


# An explicit export list: `module.exports = { sum, max };`, `export { sum, max };` or
# `__all__ = ["sum", "max"]`, on one line (the shape small modules use).
_EXPORTS = re.compile(
    r"^(?P<head>[ \t]*(?:module\.exports\s*=\s*\{|export\s*\{))(?P<names>[\w\s,$]*?)"
    r"(?P<tail>,?\s*\}\s*;?)[ \t]*$"
    r"|^(?P<pyhead>__all__\s*=\s*[\[(])(?P<pynames>[\w\s,'\"]*?)(?P<pytail>,?\s*[\])])[ \t]*$",
    re.M,
)


def unexported(rel: str, text: str, name: str) -> str:
    """A note when `rel` defines `name` and lists what it exports without it ("" otherwise).

    Real 1.5B on "add product(numbers) to mathlib.js ... and export it with the others":
    it appended the function after `module.exports = { sum, max };` and stopped there."""
    lists = list(_EXPORTS.finditer(text))
    found = lists[-1] if lists else None  # the last assignment is the one that counts
    if found is None:
        return ""
    python = found.group("pyhead") is not None
    listed = found.group("pynames" if python else "names") or ""
    names = re.findall(r"[\w$]+", listed)
    if not names or name in names:
        return ""
    line = found.group().strip()
    quote = "'" if "'" in listed else '"'
    item = f"{quote}{name}{quote}" if python else name
    head, tail = found.group("pyhead" if python else "head"), found.group(
        "pytail" if python else "tail")
    fixed = f"{head}{listed.rstrip()}, {item}{tail}".strip()
    number = text.count("\n", 0, found.start()) + 1
    return (
        f"{rel} defines {name} but does not export it: line {number} reads `{line}`. "
        f"Change that line to `{fixed}` (old: the line as it is; new: the changed line)."
    )


def not_yet_defined(root: Path, task: str, rel: str) -> str:
    """For an edit whose old and new are the same: the way to add a function the task asks
    for that `rel` does not define yet ("" when there is none). Real 1.5B on parse-config
    sent the whole settings.py as both old and new, again after being told they were equal."""
    text = _read(root, rel)
    if text is None:
        return ""
    for named in named_definitions(task):
        if not _defined_at(rel, text, named.name):
            what, where = ((f"the method {named.name}, indented as in its class",
                            "at the end of the class") if named.kind == "method"
                           else (f"the code of {named.name}", "to the file"))
            return (
                f"not changed: old and new are the same. The task asks for {named.kind} "
                f"{named.name}, which {rel} does not define yet. To add it, call edit_file "
                f'with path "{rel}", old "" (empty) and new holding only {what}: it is '
                f"added {where}, and the rest stays as it is."
            )
    return ""


def unexported_definitions(root: Path, task: str, rel: str) -> str:
    """After a change to `rel`: the export note for a definition the task names ("")."""
    text = _read(root, rel)
    if text is None:
        return ""
    for named in named_definitions(task):
        note = unexported(rel, text, named.name)
        if note and _defined_at(rel, text, named.name) == "top":
            return note
    return ""


# A definition outside Python: `function f(`, `fn f(`, `f = (` / `f = function`, `f: (`.
_DEFINES = (r"(?:\b(?:function|fn|def)\s+{name}\s*[(<]"
            r"|\b{name}\s*[=:]\s*(?:async\s+)?(?:function\b|\())")


def defined_note(root: Path, task: str, rel: str) -> str:
    """After a change to `rel` that leaves it defining every function the task names (as
    asked: a method in a class, a function at the top; Python that parses): the hint that the
    task may be done ("" otherwise). Real 1.5B on add-method added withdraw correctly, then
    rewrote bank.py with its JSON block's indentation and broke it."""
    wanted = named_definitions(task)
    text = _read(root, rel)
    if not wanted or text is None or not all(_defines(rel, text, n) for n in wanted):
        return ""
    names = ", ".join(n.name for n in wanted)
    return (
        f"[ca: {rel} now defines {names}, as the task asks. If the task asks for nothing "
        "more, answer now with a one-line summary of what you changed.]"
    )


def _defines(rel: str, text: str, named: Named) -> bool:
    if not rel.endswith(".py"):
        return re.search(_DEFINES.format(name=re.escape(named.name)), text) is not None
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    where = _python_place(text, named.name)
    return where == "top" if named.kind == "function" else bool(where) and where != "top"


def _read(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None


def _defined_at(rel: str, text: str, name: str) -> str:
    """Where `text` defines `name`: "top", a class name (Python), or "" when it does not;
    outside Python any `name(`, `name =` or `name:` counts as "top"."""
    if rel.endswith(".py"):
        return _python_place(text, name)
    return "top" if re.search(rf"\b{re.escape(name)}\b\s*(?:\(|=|:)", text) else ""


UNWRAP_MAX_LINES = 60


def unwrapped_class(text: str, name: str) -> str:
    """The module with its top-level class `name` replaced by that class's functions at the
    top level (a 1.5B model wrapped the function a task asked for in a class named after the
    module); "" unless that is a plain move: only functions that never use `self`, and the
    result compiles."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ""
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)
    if node is None:
        return ""
    body = [n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(
        n.value, ast.Constant) and isinstance(n.value.value, str))]
    functions = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    uses_self = any(isinstance(n, ast.Name) and n.id == "self" for f in functions
                    for stmt in f.body for n in ast.walk(stmt))
    if not functions or len(functions) != len(body) or uses_self or node.decorator_list:
        return ""
    lines = text.split("\n")
    first = min([functions[0].lineno, *(d.lineno for d in functions[0].decorator_list)])
    moved = textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno]))
    moved = re.sub(r"^@staticmethod\n", "", moved, flags=re.M)
    moved = re.sub(r"^((?:async\s+)?def\s+\w+\()self\b\s*,?\s*", r"\1", moved, flags=re.M)
    kept = lines[: node.lineno - 1] + moved.split("\n") + lines[node.end_lineno or 0 :]
    result = "\n".join(line if line.strip() else "" for line in kept).strip("\n") + "\n"
    try:
        compile(result, "<unwrapped>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return ""
    return result if result.count("\n") <= UNWRAP_MAX_LINES else ""


def _python_place(text: str, name: str) -> str:
    """"top" for a module-level def or assignment of name, the class name for a method,
    "" when absent. Unparsable code falls back to a column-0 `def name`."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return "top" if re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\b", text, re.M) else ""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return "top"
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return "top"
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (a.asname or a.name) == name for a in node.names
        ):
            return "top"
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            for item in cls.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                    return cls.name
    return ""


_RENAME = re.compile(
    r"\brename\s+(?:the\s+)?(?:function|method|class|variable|constant|field|attribute|type)?"
    r"\s*`?([A-Za-z_]\w*)`?\s+(?:to|into|as)\s+`?([A-Za-z_]\w*)`?",
    re.I,
)
MAX_REFERENCES = 12
_REFERENCE_MAX_BYTES = 512 * 1024


def rename_pair(task: str) -> tuple[str, str] | None:
    """(old, new) for "rename calc_total to order_total [everywhere]"."""
    match = _RENAME.search(task)
    if match is None or match.group(1) == match.group(2):
        return None
    return match.group(1), match.group(2)


def references(root: Path, name: str) -> list[str]:
    """`path:line` of each line that still uses `name` as a word, in the project's text files."""
    return [f"{rel}:{number}" for rel, number, _ in _reference_lines(root, name)]


def _reference_lines(root: Path, name: str) -> list[tuple[str, int, str]]:
    from code_assistant.tools.paths import walk_files

    word = re.compile(rf"\b{re.escape(name)}\b")
    found: list[tuple[str, int, str]] = []
    for rel in walk_files(root):
        path = root / rel
        try:
            if path.stat().st_size > _REFERENCE_MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found += [(rel, number, line) for number, line in enumerate(text.splitlines(), 1)
                  if word.search(line)]
    return found


def rename_progress(root: Path, old: str, new: str) -> str:
    """Where the old name is still used, each line shown as read_file shows it (a small model
    copies old from it), or that the rename is complete."""
    left = _reference_lines(root, old)
    if not left:
        return f"{old} no longer appears anywhere in the project: the rename to {new} is done."
    shown: list[str] = []
    current = ""
    for rel, number, line in left[:MAX_REFERENCES]:
        if rel != current:
            shown.append(f"{rel}:")
            current = rel
        shown.append(f"{number:>5} | {line[:160]}")
    more = f"\n[... {len(left) - MAX_REFERENCES} more]" if len(left) > MAX_REFERENCES else ""
    files = list(dict.fromkeys(rel for rel, _, _ in left))
    whole = [rel for rel in files if _only_whole_words(root / rel, old)]
    calls = "".join(
        f'\nedit_file(path="{rel}", old="{old}", new="{new}", replace_all=true)' for rel in whole
    )
    how = (f"Change them with one call per file, which changes every place in that file:{calls}"
           if whole == files else
           f"Change each to {new} with edit_file: old is the line as shown (without the number "
           f"and the bar), new is the same line with {new}.")
    return f"{old} still appears in {len(left)} place(s):\n" + "\n".join(shown) + more + "\n" + how


def _only_whole_words(path: Path, name: str) -> bool:
    """Whether every occurrence of name in the file is the whole word (replace_all is safe)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return text.count(name) == len(re.findall(rf"\b{re.escape(name)}\b", text))


def reverses_rename(old: str, new: str, edit_old: str, edit_new: str) -> bool:
    """An edit that puts the old name back where the new one was."""
    return _uses(new, edit_old) and _uses(old, edit_new) and not _uses(old, edit_old)


def _uses(name: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


_ANY_DEFINITION = re.compile(
    r"^[ \t]*(?:async\s+def|def|class|function|(?:pub\s+)?fn|func)\s+([A-Za-z_]\w*)", re.M
)


def dropped_definitions(root: Path, task: str, rel: str, old: str, new: str) -> str:
    """Why an edit is refused when it would delete functions, methods or classes the file
    defines and the task does not name ("" otherwise): old defines them, new does not."""
    try:
        text = (root / rel.strip().removeprefix("./")).read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return ""
    # Indented ones too: on add-method the real 1.5B replaced the deposit method it was to
    # keep with the withdraw method it was to add.
    kept = set(_ANY_DEFINITION.findall(new))
    defined = set(_ANY_DEFINITION.findall(text))
    gone = sorted(
        name for name in set(_ANY_DEFINITION.findall(old)) - kept
        if name in defined and not re.search(rf"\b{re.escape(name)}\b", task)
    )
    if not gone:
        return ""
    names = ", ".join(gone)
    return (
        f"not changed: this edit would delete {names} from {rel} (old defines "
        f"{'it' if len(gone) == 1 else 'them'}, new does not), and the task does not ask for "
        f"that. Keep {names}: new must hold every line of old you keep, with your change. "
        'To add code without changing any, call edit_file with old set to "" (empty): new '
        "is then added to the file."
    )
