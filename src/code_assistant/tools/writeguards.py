"""Guards on whole-file writes and appends that a small model gets wrong: a write that guts
the file, an append that defines again what is there (or is the whole file again), Python
with literal \\n newlines, ca's own answer written back as code, a change that leaves Python
that does not compile."""

from __future__ import annotations

import re
import textwrap

from code_assistant.errors import ToolError

_DEFINITION = re.compile(
    r"^(?:async\s+def|def|class|function|(?:pub\s+)?fn|func)\s+([A-Za-z_]\w*)", re.M
)


def removed_definitions(before: str, after: str) -> list[str]:
    """Top-level functions and classes the old text defined and the new one does not."""
    kept = set(_DEFINITION.findall(after))
    return sorted({name for name in _DEFINITION.findall(before) if name not in kept})


def repaired_python(rel: str, content: str) -> str:
    """Whole-file Python as a small model garbles it, mended only when that is what makes it
    compile: literal `\\n` for its newlines (0.5B: content "print('hello world')\\n"), or
    every line indented by its JSON block (1.5B on add-method wrote bank.py 8 spaces in)."""
    if not rel.endswith(".py") or not _syntax_error(rel, content):
        return content
    unescaped = content.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "    ")
    for candidate in (unescaped, textwrap.dedent(content), textwrap.dedent(unescaped)):
        fixed = candidate.lstrip("\n")
        if not _syntax_error(rel, fixed):
            return fixed
    return content


def refuse_gutting(rel: str, before: str, after: str) -> None:
    """Refuse a whole-file write that deletes the file's definitions and puts none in their
    place: a small model answers "fix the crash in report.py" with `print('Hello')` as the
    new report.py. A rename (new definitions) or a shorter file that keeps most lines pass;
    edit_file can still remove code on purpose."""
    gone = removed_definitions(before, after)
    if not gone or set(_DEFINITION.findall(after)) - set(_DEFINITION.findall(before)):
        return
    old_lines, new_lines = (sum(1 for line in t.splitlines() if line.strip())
                            for t in (before, after))
    if new_lines * 2 > old_lines:  # blank lines do not count: garbage has plenty
        return
    raise ToolError(
        f"not written: this would delete {', '.join(gone)} from {rel} ({old_lines} lines of code "
        f"down to {new_lines}) and put nothing in their place. Keep the file's code: change "
        "only the lines that are wrong with edit_file, or add code with edit_file and an "
        "empty old."
    )


def redefines_all(text: str, new: str) -> bool:
    """Whether new defines every function and class the file defines (at least one): an
    "append" that is really the whole file again, e.g. the model's own test file rewritten
    with the import it lacked."""
    had = set(_DEFINITION.findall(text))
    if not had or not had <= set(_DEFINITION.findall(new)):
        return False
    code = [sum(1 for line in t.splitlines() if line.strip()) for t in (text, new)]
    return code[1] * 5 >= code[0] * 4  # and keeps most of the file (its main block, constants)


_ANY_DEFINITION = re.compile(
    r"^[ \t]*(?:export\s+)?(?:async\s+def|def|class|(?:async\s+)?function|(?:pub\s+)?fn|func)"
    r"\s+([A-Za-z_$][\w$]*)", re.M
)


def guessed_addition(text: str, old: str, new: str) -> str:
    """The name that old and new both begin by defining and the file does not define at
    all, or "": the model put its guess of the code to add in old (real 1.5B, asked to add
    withdraw to a class: old was a withdraw method, new another one)."""
    first_old, first_new = _ANY_DEFINITION.search(old), _ANY_DEFINITION.search(new)
    if first_old is None or first_new is None or first_old.group(1) != first_new.group(1):
        return ""
    name = first_old.group(1)
    return "" if name in _ANY_DEFINITION.findall(text) else name


def refuse_duplicate_definitions(rel: str, text: str, new: str) -> None:
    """An append that defines again what the file defines: a model copying a function it
    should change (a second order_total below the first), not adding one."""
    lines: dict[str, int] = {}
    for match in _DEFINITION.finditer(text):
        lines.setdefault(match.group(1), text.count("\n", 0, match.start()) + 1)
    twice = sorted(set(_DEFINITION.findall(new)) & set(lines))
    if twice:
        where = ", ".join(f"{name} (line {lines[name]})" for name in twice)
        raise ToolError(
            f"not changed: {rel} already defines {where}. Adding it again would make a "
            "second copy. To change it, set old to its current lines and new to the changed "
            "lines."
        )


# The first line of ca's own answers to write_file / edit_file: a small model that takes every
# tool answer literally writes them back as the file's code ("wrote hello.py (1 line, +1 -0)").
_OWN_REPLY = re.compile(
    r"^\s*(?:wrote \S+ \(\d+ lines?, \+\d+ -\d+\)|edited \S+ \(\+\d+ -\d+\)"
    r"|\S+ already has exactly this content|old and new are the same|not (?:written|changed):"
    r"|note: old was empty)"
)


def refuse_echo(rel: str, text: str) -> None:
    """Refuse content that is one of ca's own tool answers, not code."""
    if _OWN_REPLY.match(text):
        raise ToolError(
            f"not written: this text is ca's answer to your last call, not code for {rel}. "
            f"Write the code {rel} should hold."
        )


def syntax_note(rel: str, before: str | None, after: str) -> str:
    """A warning when a change leaves a Python file that does not compile ("" otherwise, or
    when it did not compile before either: a multi-step edit may pass through that)."""
    if not rel.endswith(".py"):
        return ""
    problem = _syntax_error(rel, after)
    if not problem or (before is not None and _syntax_error(rel, before)):
        return ""
    return (
        f" Warning: {rel} is not valid Python now ({problem}). Fix it: {rel} must hold "
        "Python code."
    )


def _syntax_error(rel: str, text: str) -> str:
    try:
        compile(text, rel, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        shown = f": {line[:80]}" if line else ""
        return f"line {exc.lineno}: {exc.msg}{shown}"
    except ValueError as exc:
        return str(exc)
    return ""
