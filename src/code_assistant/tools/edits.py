"""Find-and-replace for edit_file: unique exact match, whitespace-tolerant retry, closest region."""

from __future__ import annotations

import ast
import difflib
import heapq
import re
import textwrap
from dataclasses import dataclass

from code_assistant.errors import ToolError

CONTEXT_LINES = 2
SHOW_MAX_LINES = 40
_LINE_PREFIX = re.compile(r"^ *\d+ \| ?")
_BARE_NUMBER = re.compile(r"^ *\d+ *$")  # a blank line copied as "   6 " without its bar


def numbered(lines: list[str], first: int) -> str:
    """Lines with read_file's `   12 | code` prefixes, starting at line number `first`."""
    return "\n".join(f"{number:>5} | {line}" for number, line in enumerate(lines, first))


@dataclass
class Edit:
    """The file text after an edit and the 1-based lines the new text occupies."""

    text: str
    first_line: int
    last_line: int
    note: str = ""


def apply_edit(text: str, old: str, new: str) -> Edit:
    """Replace the one occurrence of old in text, or raise ToolError the model can act on."""
    count = text.count(old)
    if count == 1:
        at = text.index(old)
        new, note = _without_repeated_edges(*_neighbours(text, at, at + len(old)), old, new)
        first = text.count("\n", 0, at) + 1
        last = first + new.count("\n") - (1 if new.endswith("\n") else 0)
        return Edit(text[:at] + new + text[at + len(old) :], first, max(first, last), note)
    if count > 1:
        raise ToolError(_ambiguous(_exact_lines(text, old), "exactly"))
    edit = _whitespace_tolerant(text, old, new)
    if edit is not None:
        return edit
    bare_old = without_line_numbers(old, partial=True)
    if bare_old is not None:
        edit = apply_edit(text, bare_old, without_line_numbers(new, partial=True) or new)
        prefix = "note: removed read_file line-number prefixes from old"
        edit.note = f"{prefix}; {edit.note.removeprefix('note: ')}" if edit.note else prefix
        return edit
    quoted = _with_docstring_quotes(text, old, new)
    if quoted is not None:  # a docstring's quotes lost in the model's own triple-quoted JSON
        edit = apply_edit(text, *quoted)
        prefix = "note: old's first line is the file's docstring without its quotes"
        edit.note = f"{prefix}; {edit.note.removeprefix('note: ')}" if edit.note else prefix
        return edit
    unmarked = _without_markers(old)
    if unmarked is not None:  # old copied from a traceback, its ^^^^ lines included
        edit = apply_edit(text, unmarked, _without_markers(new) or new)
        prefix = "note: removed the error-marker lines (^^^) from old"
        edit.note = f"{prefix}; {edit.note.removeprefix('note: ')}" if edit.note else prefix
        return edit
    raise ToolError(closest_region(text, old))


_MAIN_GUARD = re.compile(r"^if __name__ == ['\"]__main__['\"]:", re.M)
_TOP_DEFINITION = re.compile(r"^(?:async def|def|class|@)", re.M)


# an indented def, or one taking self or cls: real 0.5B sent "def withdraw(self, amount)"
# unindented as new code for a class, which landed at the end of the module (s29c)
_METHOD = re.compile(
    r"^(?:[ \t]+(?:async\s+def|def|@)|(?:async\s+)?def\s+\w+\s*\(\s*(?:self|cls)\b)"
)


def append_code(text: str, new: str, rel: str) -> Edit:
    """Add new at the end of the file; in a Python script, before its `__main__` block so
    the script can call it. Top-level Python definitions get PEP 8's two blank lines; an
    indented def, or one taking self, in a module with one class goes at the end of that
    class."""
    body = new.strip("\n") + "\n"
    if rel.endswith(".py") and _METHOD.match(body):
        edit = _append_method(text, body)
        if edit is not None:
            return edit
    at = len(text)
    if rel.endswith(".py"):
        guards = list(_MAIN_GUARD.finditer(text))
        if guards:
            at = guards[-1].start()
    head, tail = text[:at].rstrip("\n"), text[at:]
    body = new.strip("\n") + "\n"
    gap = "\n\n\n" if rel.endswith(".py") and _TOP_DEFINITION.match(body) else "\n\n"
    if not head:
        gap = ""
    joined = head + gap + body + ("\n\n" + tail if tail else "")
    first = head.count("\n") + gap.count("\n") + 1
    last = first + body.count("\n") - 1
    return Edit(joined, first, max(first, last), "note: old was empty, so new was added "
                + ("before the `if __name__` block" if tail else "at the end of the file"))


def _append_method(text: str, body: str) -> Edit | None:
    """The method in `body` added as the last member of the module's only class, indented
    as that class's body; None when the module does not parse or has no single class."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    if len(classes) != 1 or not classes[0].body:
        return None
    node = classes[0]
    lines = text.split("\n")
    first = lines[node.body[0].lineno - 1]
    indent = first[: len(first) - len(first.lstrip())] or "    "
    method = textwrap.indent(textwrap.dedent(body), indent)
    end = node.end_lineno or node.lineno  # the class's last line, 1-based
    head, tail = lines[:end], lines[end:]
    added = ["", *method.rstrip("\n").split("\n")]
    joined = "\n".join(head + added + tail)
    if not tail:
        joined += "\n"
    return Edit(joined, end + 2, end + len(added),
                f"note: new was added at the end of class {node.name}")


_PAIRS = (("{", "}"), ("(", ")"), ("[", "]"))


def _balance(text: str) -> tuple[int, ...]:
    return tuple(text.count(open_) - text.count(close) for open_, close in _PAIRS)


def _neighbours(text: str, start: int, end: int) -> tuple[str | None, str | None]:
    """The whole lines just before and after text[start:end], when it spans whole lines."""
    before = after = None
    if start > 0 and (text[start - 1] == "\n" or text[start] == "\n"):
        head = text[: start - 1] if text[start - 1] == "\n" else text[:start]
        before = head.rsplit("\n", 1)[-1]
    if end < len(text) and (text[end] == "\n" or text[end - 1] == "\n"):
        tail = text[end + 1 :] if text[end] == "\n" else text[end:]
        after = tail.split("\n", 1)[0]
    return before, after


def _without_repeated_edges(
    before: str | None, after: str | None, old: str, new: str
) -> tuple[str, str]:
    """(new, note): new minus a last (or first) line that repeats the file's line right after
    (before) old, when only without it does new keep old's bracket balance (a 1.5B model's
    new ended with the function's closing `}`, which followed old in the file: two `}`)."""
    target = _balance(old)
    if _balance(new) == target:
        return new, ""
    body = new.rstrip("\n")
    suffix = new[len(body) :]
    lines = body.split("\n")
    if len(lines) > 1 and after and after.strip() and lines[-1].strip() == after.strip():
        trimmed = "\n".join(lines[:-1])
        if _balance(trimmed) == target:
            return trimmed + suffix, (f"note: new's last line `{after.strip()}` is already the "
                                      "line after old, so the file keeps one")
    if len(lines) > 1 and before and before.strip() and lines[0].strip() == before.strip():
        trimmed = "\n".join(lines[1:])
        if _balance(trimmed) == target:
            return trimmed + suffix, (f"note: new's first line `{before.strip()}` is already "
                                      "the line before old, so the file keeps one")
    return new, ""


def _exact_lines(text: str, old: str) -> list[int]:
    lines = []
    at = text.find(old)
    while at != -1:
        lines.append(text.count("\n", 0, at) + 1)
        at = text.find(old, at + len(old))
    return lines


def _ambiguous(lines: list[int], how: str) -> str:
    shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
    return (
        f"old matches {how} {len(lines)} places (starting at lines {shown}); "
        "add more surrounding lines to old so that it matches only the place you mean"
    )


def _split_lines(text: str) -> list[str]:
    """Lines of an edit argument; a trailing newline does not make an extra empty line."""
    lines = text.split("\n")
    return lines[:-1] if len(lines) > 1 and lines[-1] == "" else lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _whitespace_tolerant(text: str, old: str, new: str) -> Edit | None:
    """Match whole lines ignoring indentation and trailing spaces, then also ignoring blank
    lines (a model copies two blank lines between functions as one); re-indent new to fit."""
    lines = text.split("\n")
    wanted = _split_lines(old)
    new_lines = _split_lines(new) if new else []
    # Blank lines around old that the file does not have there (a model's "\nassert ..."):
    # matched without them, and the same blank lines come off new.
    while len(wanted) > 1 and not wanted[0].strip():
        wanted.pop(0)
        if new_lines and not new_lines[0].strip():
            new_lines.pop(0)
    while len(wanted) > 1 and not wanted[-1].strip():  # and after it ("...\n    ")
        wanted.pop()
        if new_lines and not new_lines[-1].strip():
            new_lines.pop()
    keys = [line.strip() for line in wanted]
    if not any(keys):
        return None
    found = _find_lines(lines, keys)
    how = "whitespace differences (indentation or trailing spaces)"
    if found is None and len([k for k in keys if k]) > 1:
        found = _find_lines(lines, [k for k in keys if k], blanks=False)
        how = "blank lines and indentation"
    if found is None:
        return None
    start, end, rows = found
    old_rows = [w for w in wanted if w.strip()]
    pairs = [(_indent(w), _indent(lines[row])) for w, row in zip(old_rows, rows, strict=True)]
    shift = _indent_shift(pairs)
    kept = 0  # leading lines of new that keep their indentation
    if shift is None and len(pairs) > 1 and pairs[0][0] == pairs[0][1]:
        # A model writing code inside a pretty-printed JSON string indents every line after
        # the first by the JSON's own depth: the first line fits, the rest share one shift.
        shift = _indent_shift(pairs[1:])
        # new keeps its lines through its first line of code (new may start with a blank line
        # that old does not have)
        first_code = next((i for i, line in enumerate(new_lines) if line.strip()), 0)
        kept = first_code + 1 if shift is not None else 0
        if shift is None:  # or the lines after its first indented blank line ("\n    \n")
            shift, kept = _shift_after_indented_blank(wanted, pairs, new_lines)
    if shift is None:
        edit = _reindented_line_by_line(lines, start, end, pairs, new_lines, how)
        if edit is not None:
            return edit
        raise ToolError(
            f"old matches lines {start + 1}-{end} only when indentation is ignored, "
            "and its indentation differs from the file's in different ways line by line. "
            "Copy these lines exactly:\n" + numbered(lines[start:end], start + 1)
        )
    remove, add = shift
    replacement = [_reindent(line, remove, add) for line in new_lines]
    if kept:  # new's first lines follow `"new": "` like old's: they keep their indentation
        replacement[:kept] = [line if line.strip() else "" for line in new_lines[:kept]]
    if start > 0 and not lines[start - 1].strip():
        # new's leading blank lines (old has none left) after a blank line of the file: the
        # file keeps its spacing, and a repeat of the edit does not add blank lines again
        while len(replacement) > 1 and not replacement[0].strip():
            replacement.pop(0)
            new_lines = new_lines[1:]
    replacement, reindented = _fitting(lines, start, end, replacement, new_lines)
    before = lines[start - 1] if start else None
    after = lines[end] if end < len(lines) else None
    fitted, edge_note = _without_repeated_edges(
        before, after, "\n".join(lines[start:end]), "\n".join(replacement))
    replacement = fitted.split("\n") if replacement else replacement
    note = f"note: old matched lines {start + 1}-{end} only after ignoring {how}"
    if (remove or add) and reindented:
        note += "; new was re-indented to match the file"
    if edge_note:
        note += "; " + edge_note.removeprefix("note: ")
    result = lines[:start] + replacement + lines[end:]
    last = start + max(1, len(replacement))
    return Edit("\n".join(result), start + 1, last, note)


def _reindented_line_by_line(
    lines: list[str], start: int, end: int, pairs: list[tuple[str, str]],
    new_lines: list[str], how: str,
) -> Edit | None:
    """new's lines re-indented each by its own old line's offset from the file, when new
    has old's lines one for one (real 1.5B copied a def flush left, its docstring 8 spaces
    in, and the body with read_file's prefixes); None when they do not pair up, indents mix
    tabs, or the file is Python that the result would break."""
    code = [i for i, line in enumerate(new_lines) if line.strip()]
    if len(code) != len(pairs) or any("\t" in a + b for a, b in pairs):
        return None
    replacement = [""] * len(new_lines)
    for index, (was, now) in zip(code, pairs, strict=True):
        line = new_lines[index]
        if "\t" in _indent(line):
            return None
        width = max(0, len(_indent(line)) + len(now) - len(was))
        replacement[index] = " " * width + line.strip()
    if _compiles(lines, 0, 0, []) and not _compiles(lines, start, end, replacement):
        return None
    result = lines[:start] + replacement + lines[end:]
    return Edit("\n".join(result), start + 1, start + max(1, len(replacement)),
                f"note: old matched lines {start + 1}-{end} only after ignoring {how}; "
                "new was re-indented line by line to match the file")


def _fitting(
    lines: list[str], start: int, end: int, replacement: list[str], new_lines: list[str]
) -> tuple[list[str], bool]:
    """The re-indented replacement, unless that breaks Python the file held and new as the
    model wrote it does not (old and new in one call need not share the JSON's indentation:
    a 1.5B model wrote old with it and new without). (lines, whether re-indented)."""
    as_written = [line if line.strip() else "" for line in new_lines]
    if as_written == replacement or _compiles(lines, start, end, replacement):
        return replacement, as_written != replacement
    if _compiles(lines, 0, 0, []) and _compiles(lines, start, end, as_written):
        return as_written, False
    return replacement, True


def _compiles(lines: list[str], start: int, end: int, replacement: list[str]) -> bool:
    """Whether lines, with lines[start:end] replaced, compile as Python."""
    text = "\n".join(lines[:start] + replacement + lines[end:])
    try:
        compile(text, "<edit>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _find_lines(
    lines: list[str], keys: list[str], blanks: bool = True
) -> tuple[int, int, list[int]] | None:
    """The one window of `lines` whose stripped lines are `keys`: (start, end, the rows that
    matched the non-blank keys). Without `blanks`, the file's blank lines are skipped."""
    rows = range(len(lines)) if blanks else [i for i, line in enumerate(lines) if line.strip()]
    rows = list(rows)
    size = len(keys)
    hits = [
        j for j in range(len(rows) - size + 1)
        if all(lines[rows[j + k]].strip() == keys[k] for k in range(size))
    ]
    if len(hits) > 1:
        how = "(ignoring whitespace)" if blanks else "(ignoring blank lines and indentation)"
        raise ToolError(_ambiguous([rows[h] + 1 for h in hits], how))
    if not hits:
        return None
    window = rows[hits[0] : hits[0] + size]
    matched = [row for row, key in zip(window, keys, strict=True) if key]
    return window[0], window[-1] + 1, matched


def _shift_after_indented_blank(
    wanted: list[str], pairs: list[tuple[str, str]], new_lines: list[str]
) -> tuple[tuple[str, str] | None, int]:
    """(shift, lines of new to keep as they are) when old fits the file exactly up to its
    first blank line that holds spaces, and every line after it shares one shift: the JSON's
    indentation started there, in old and in new alike."""
    def split(lines: list[str]) -> int:
        return next((i for i, line in enumerate(lines) if line and not line.strip()), -1)

    at, new_at = split(wanted), split(new_lines)
    if at < 0 or new_at < 0:
        return None, 0
    before = sum(1 for line in wanted[:at] if line.strip())
    if before == 0 or before == len(pairs) or any(o != f for o, f in pairs[:before]):
        return None, 0
    shift = _indent_shift(pairs[before:])
    return (shift, new_at + 1) if shift is not None else (None, 0)


def _indent_shift(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(remove, add): the one prefix change turning old's indentation into the file's."""
    old0, file0 = pairs[0]
    if file0.endswith(old0):
        add = file0[: len(file0) - len(old0)]
        if all(f == add + o for o, f in pairs):
            return "", add
    elif old0.endswith(file0):
        remove = old0[: len(old0) - len(file0)]
        if all(o == remove + f for o, f in pairs):
            return remove, ""
    return None


def _reindent(line: str, remove: str, add: str) -> str:
    if not line.strip():
        return ""  # a blank line keeps no stray indentation from the model's JSON
    if remove and line.startswith(remove):
        return line[len(remove) :]
    return add + line


def without_line_numbers(text: str, *, partial: bool = False) -> str | None:
    """old/new copied from read_file output with `   12 | ` prefixes, minus them; else None.
    `partial`: some prefixed lines are enough (an edit's old that did not match: real 1.5B
    copied a def and its docstring bare, then the body with its prefixes)."""
    lines = _split_lines(text)
    if not any(_LINE_PREFIX.match(line) for line in lines):
        return None
    if not partial and not all(
        _LINE_PREFIX.match(line) or _BARE_NUMBER.match(line) for line in lines if line.strip()
    ):
        return None
    bare = "\n".join(
        "" if _BARE_NUMBER.match(line) else _LINE_PREFIX.sub("", line, count=1) for line in lines
    )
    bare += "\n" if text.endswith("\n") else ""
    return bare if bare != text else None


def _with_docstring_quotes(text: str, old: str, new: str) -> tuple[str, str] | None:
    """(old, new) with the file's docstring quotes back on old's first line (and on new's,
    when it is the same line), or None. A 1.5B model writing a whole file as a `\"\"\"...\"\"\"`
    JSON value wrote the module docstring `\"\"\"Print the table.\"\"\"` as `Print the table.`."""
    lines = _split_lines(old)
    head = next((line for line in lines if line.strip()), "")
    if not head or '"' in head or "'" in head:
        return None
    for quote in ('"""', "'''"):
        wanted = f"{quote}{head.strip()}{quote}"
        hits = [line for line in text.split("\n") if line.strip() == wanted]
        if len(hits) == 1:
            fixed_old = old.replace(head, hits[0], 1)
            new_head = next((line for line in _split_lines(new) if line.strip()), "")
            fixed_new = new.replace(head, hits[0], 1) if new_head == head else new
            return fixed_old, fixed_new
    return None


_MARKER_LINE = re.compile(r"^\s*[\^~]+[\s\^~]*$")


def _without_markers(text: str) -> str | None:
    """old/new minus the lines that are only `^^^^` or `~~~` (Python and compiler error
    markers a model copied along with the code); None when there are none to remove."""
    lines = _split_lines(text)
    kept = [line for line in lines if not _MARKER_LINE.match(line)]
    if len(kept) == len(lines) or not any(line.strip() for line in kept):
        return None
    return "\n".join(kept) + ("\n" if text.endswith("\n") else "")


def closest_region(text: str, old: str) -> str:
    """The not-found message: the window of the file most like old, with line numbers."""
    lines = _split_lines(text)
    wanted = "\n".join(_split_lines(old))
    size = len(_split_lines(old))
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(wanted)

    def score(start: int, quick: bool) -> float:
        matcher.set_seq1("\n".join(lines[start : start + size]))
        return matcher.quick_ratio() if quick else matcher.ratio()

    starts = range(max(1, len(lines) - size + 1))
    # quick_ratio (character counts) is cheap; the exact ratio only runs on the best few.
    shortlist = heapq.nlargest(30, starts, key=lambda s: score(s, quick=True))
    best = max(shortlist, key=lambda s: (score(s, quick=False), -s))
    similarity = score(best, quick=False)
    if similarity < 0.4:
        return (
            "old was not found in the file and no part of it is similar; read the file "
            "again with read_file and copy the exact current text into old"
        )
    first = max(0, best - CONTEXT_LINES)
    last = min(len(lines), best + size + CONTEXT_LINES, first + SHOW_MAX_LINES)
    return (
        f"old was not found in the file. The most similar part is lines {best + 1}-"
        f"{min(best + size, len(lines))} ({similarity:.0%} alike), shown with context:\n"
        f"{numbered(lines[first:last], first + 1)}\n"
        "Copy the exact current text (without the line-number prefixes) into old and "
        "call edit_file again."
    )
