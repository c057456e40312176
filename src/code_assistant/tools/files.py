"""File tools for the model: read, write, edit, list and glob, confined to the project root."""

from __future__ import annotations

import re

from code_assistant.errors import AlreadyMade, ToolError
from code_assistant.tools.edits import (
    SHOW_MAX_LINES,
    Edit,
    append_code,
    apply_edit,
    numbered,
    without_line_numbers,
)
from code_assistant.tools.paths import Located, locate
from code_assistant.tools.registry import Change, ToolContext, tool
from code_assistant.tools.textfile import (
    EDIT_MAX_BYTES,
    READ_MAX_BYTES,
    READ_MAX_LINES,
    SHOW_LINE_CHARS,
    atomic_write,
    count_lines,
    decode_text,
    diff_counts,
    read_window,
    unified_diff,
)
from code_assistant.tools.writeguards import (
    guessed_addition,
    redefines_all,
    refuse_duplicate_definitions,
    refuse_echo,
    refuse_gutting,
    removed_definitions,
    repaired_python,
    syntax_note,
)


def human_size(size: int) -> str:
    """1234 -> '1.2 KB'."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def plural(count: int, one: str, many: str | None = None) -> str:
    """plural(1, 'line') -> '1 line'; plural(3, 'line') -> '3 lines'."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def with_note(found: Located, text: str) -> str:
    return f"{found.note}\n{text}" if found.note else text


def _existing_file(ctx: ToolContext, path: str) -> Located:
    found = locate(ctx.root, path, must_exist=True)
    if found.path.is_dir():
        raise ToolError(f"{found.rel} is a directory; use list_dir to see what it holds")
    if not found.path.is_file():
        # A FIFO or device would block or never end; these tools only read regular files.
        raise ToolError(f"{found.rel} is not a regular file; inspect it with run_shell")
    return found


def _show_line(line: str, cut: int) -> str:
    if cut or len(line) > SHOW_LINE_CHARS:
        return f"{line[:SHOW_LINE_CHARS]} [... long line cut ...]"
    return line


def _paging_note(found: Located, start: int, more_from: int) -> str:
    total = count_lines(found.path)
    size = human_size(found.path.stat().st_size)
    of = f"{total:,} lines, {size}" if total is not None else size
    return (
        f"[{found.rel} continues: this shows lines {start}-{more_from - 1} of {of}; "
        f"read_file returns at most {READ_MAX_LINES} lines or {READ_MAX_BYTES // 1024} KB "
        f"at a time. Call read_file again with start_line={more_from} to read on, or use "
        "start_line/end_line for the part you need.]"
    )


@tool(kind="read")
def read_file(
    ctx: ToolContext, path: str, start_line: int | None = None, end_line: int | None = None
) -> str:
    """Read a text file. Lines come back numbered like `   12 | code`.

    Big files come back in parts; the note at the end says how to read on.

    Args:
        path: File path relative to the project root.
        start_line: First line to show (1-based). Omit to start at the top.
        end_line: Last line to show (inclusive). Omit to read to the end.
    """
    found = _existing_file(ctx, path)
    start = 1 if start_line is None else start_line
    if start < 1:
        raise ToolError("start_line must be 1 or more")
    if end_line is not None and end_line < start:
        raise ToolError(f"end_line ({end_line}) must not be before start_line ({start})")
    try:
        window = read_window(found.path, start, end_line)
    except OSError as exc:
        raise ToolError(f"cannot read {found.rel}: {exc.strerror or exc}") from None
    if not window.lines:
        if window.last_seen == 0:
            return with_note(found, f"({found.rel} is empty)")
        raise ToolError(
            f"start_line {start} is past the end of {found.rel} ({window.last_seen} lines)"
        )
    text, encoding = decode_text(b"\n".join(line for line, _ in window.lines), found.rel)
    cuts = [cut for _, cut in window.lines]
    shown = [_show_line(line, cut) for line, cut in zip(text.split("\n"), cuts, strict=True)]
    ctx.seen_files.add(found.rel)
    parts = [found.note] if found.note else []
    if encoding != "utf-8":
        parts.append(f"note: {found.rel} is not UTF-8; shown as Latin-1")
    parts.append(numbered(shown, start))
    if window.more_from is not None:
        parts.append(_paging_note(found, start, window.more_from))
    return "\n".join(parts)


def _uses_crlf(data: bytes) -> bool:
    return b"\r\n" in data and data.count(b"\r\n") == data.count(b"\n")


def _read_bytes(found: Located) -> bytes:
    try:
        return found.path.read_bytes()
    except OSError as exc:
        raise ToolError(f"cannot read {found.rel}: {exc.strerror or exc}") from None


def _encode(text: str, encoding: str, rel: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        raise ToolError(
            f"{rel} is Latin-1 encoded and the new text has characters Latin-1 cannot hold; "
            "use only characters the file can store, or rewrite the whole file with write_file"
        ) from None


def _commit(ctx: ToolContext, tool_name: str, found: Located, before: bytes | None,
            before_text: str | None, after_text: str, after: bytes) -> str:
    """Show the diff for approval, write atomically, record the change; return +/- counts."""
    diff = unified_diff(found.rel, before_text, after_text)
    ctx.approve(tool_name, found.rel, diff)
    atomic_write(found.path, after, found.rel)
    ctx.changes.append(Change(found.rel, before, after))
    added, removed = diff_counts(diff)
    return f"+{added} -{removed}"


@tool(kind="write")
def write_file(ctx: ToolContext, path: str, content: str) -> str:
    """Create a new file, or replace a whole file you have read, with the given content.

    To change an existing file use edit_file: it keeps the rest of the file.

    Args:
        path: File path relative to the project root; missing directories are created.
        content: The complete new content of the file.
    """
    found = locate(ctx.root, path, must_exist=False)
    content = repaired_python(found.rel, content)
    # content copied from read_file output, "   4 | " prefixes and all (1.5B on
    # docstring-function wrote them into wordplay.py after a re-prompt)
    content = without_line_numbers(content) or content
    if found.path.is_dir():
        raise ToolError(f"{found.rel} is a directory; give the path of a file inside it")
    if found.path.exists() and not found.path.is_file():
        raise ToolError(f"{found.rel} exists and is not a regular file; choose another path")
    before = _read_bytes(found) if found.path.exists() else None
    before_text, encoding = None, "utf-8"
    if before is not None:
        try:
            before_text, encoding = decode_text(before, found.rel)
        except ToolError:
            before_text = "(binary file)"
        if _uses_crlf(before) and "\r\n" not in content:
            content = content.replace("\n", "\r\n")  # keep the file's Windows line endings
    try:
        after = content.encode(encoding)
    except UnicodeEncodeError:
        after = content.encode("utf-8")  # a whole new content may change a Latin-1 file's encoding
    if after == before:
        return with_note(
            found,
            f"{found.rel} already has exactly this content; nothing written. The file is "
            "done: go on with the next step, or answer with a short summary if the task is done.",
        )
    if before and before_text is not None and not _known(ctx, found.rel):
        raise ToolError(_unread_overwrite(found.rel, before_text))
    refuse_echo(found.rel, content)
    refuse_gutting(found.rel, before_text or "", content)
    counts = _commit(ctx, "write_file", found, before, before_text, content, after)
    ctx.seen_files.add(found.rel)
    lines = plural(len(content.splitlines()), "line")
    wrote = f"wrote {found.rel} ({lines}, {counts})"
    gone = removed_definitions(before_text or "", content)
    if gone:
        # Small models rewrite a whole file and drop the code they were told to keep.
        wrote += (
            f". This removed {', '.join(gone)} from {found.rel}. If the task did not ask to "
            "remove them, put them back with edit_file now."
        )
    wrote += syntax_note(found.rel, before_text, content)
    return with_note(found, wrote)


def _known(ctx: ToolContext, rel: str) -> bool:
    """Whether the model has seen the file's content in this task: read it or wrote it."""
    return rel in ctx.seen_files or any(change.path == rel for change in ctx.changes)


def _unread_overwrite(rel: str, text: str) -> str:
    """Why an existing, unread file is not replaced whole, with its head so the next call
    can be right: small models overwrite code they were told to keep."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    shown = [_show_line(line, 0) for line in lines[:SHOW_MAX_LINES]]
    more = (
        f"\n[... {len(lines) - SHOW_MAX_LINES} more lines: call read_file to see them]"
        if len(lines) > SHOW_MAX_LINES else ""
    )
    return (
        f"{rel} already exists and you have not read it, so write_file would destroy its "
        "code. Nothing was written. To change it, call edit_file with old copied exactly "
        "from the lines below (without the line numbers). To replace the whole file, call "
        f"read_file on {rel} first. It now holds {plural(len(lines), 'line')}:\n"
        f"{numbered(shown, 1)}{more}"
    )


@tool(kind="write")
def edit_file(
    ctx: ToolContext, path: str, old: str, new: str, replace_all: bool = False
) -> str:
    """Replace one piece of text in a file, or add new code at its end.

    Copy old from read_file output without the line-number prefixes, with enough
    surrounding lines to match one place. To add code without changing any, leave old empty.

    Args:
        path: File path relative to the project root.
        old: The exact current text to replace (whole lines work best), or empty to add.
        new: The text to put in its place, or to add at the end of the file.
        replace_all: true to replace every place old appears in the file (a rename).
    """
    found = _existing_file(ctx, path)
    if not old and not new.strip():
        raise ToolError("old and new are both empty; give the text to change or to add")
    if old == new or (old.strip() and _without_blank_edges(old) == _without_blank_edges(new)):
        raise _same_old_new(ctx, found, old)
    size = found.path.stat().st_size
    if size > EDIT_MAX_BYTES:
        raise ToolError(
            f"{found.rel} is too large to edit ({human_size(size)}); change it with run_shell"
        )
    before = _read_bytes(found)
    text, encoding = decode_text(before, found.rel)
    crlf = "\r\n" in text
    if crlf:
        # Match on \n so the model's old text need not reproduce the file's line endings.
        text, old, new = (s.replace("\r\n", "\n") for s in (text, old, new))
    refuse_echo(found.rel, new)
    if old and not replace_all:
        held_at = _made_before(text, old, new)
        if held_at:
            raise AlreadyMade(_made_note(found.rel, held_at))
    try:
        if replace_all and old and text.count(old) > 1:
            edit = _replace_every(text, old, new)
        else:
            edit = apply_edit(text, old, new) if old else _append(ctx, found.rel, text, new)
    except ToolError as exc:
        made = _already_made(found.rel, text, old, new)
        extends = not made and _adds_to(old, new)
        guessed = "" if made or extends else guessed_addition(text, old, new)
        if not (extends or guessed):
            raise (AlreadyMade(made) if made else ToolError(f"{found.rel}: {exc}")) from None
        # old is the code the model means to add (a 1.5B model's usual mix-up): it is added
        edit = _append(ctx, found.rel, text, new)
        why = ("new begins with it" if extends else
               f"both old and new define {guessed}, which {found.rel} does not have yet")
        edit.note = (f"note: old is not in {found.rel} and {why}, so new was added as new "
                     f"code; {edit.note.removeprefix('note: ')}")
    if edit.text == text:  # old and new differ only in what matching ignores (line numbers)
        raise _same_old_new(ctx, found, old)
    after_text = edit.text.replace("\n", "\r\n") if crlf else edit.text
    after = _encode(after_text, encoding, found.rel)
    counts = _commit(ctx, "edit_file", found, before, text, edit.text, after)
    lines = edit.text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    first = max(1, edit.first_line - 2)
    last = min(len(lines), edit.last_line + 2, first + SHOW_MAX_LINES - 1)
    parts = [found.note] if found.note else []
    if edit.note:
        parts.append(edit.note)
    parts.append(f"edited {found.rel} ({counts}); lines {first}-{last} now read:")
    warning = syntax_note(found.rel, text, edit.text).strip()
    parts.append(numbered(lines[first - 1 : last], first))
    if warning:
        parts.append(warning)
    return "\n".join(parts)


def _append(ctx: ToolContext, rel: str, text: str, new: str) -> Edit:
    """An empty old: new goes at the end, or, when it defines everything the file defines and
    the model has seen the file, new is the whole file again and replaces it."""
    if _known(ctx, rel) and redefines_all(text, new):
        body = new.strip("\n") + "\n"
        return Edit(body, 1, max(1, body.count("\n")), f"note: new defines everything {rel} "
                    "defines, so it replaced the whole file")
    refuse_duplicate_definitions(rel, text, new)
    return append_code(text, new, rel)


def _replace_every(text: str, old: str, new: str) -> Edit:
    count = text.count(old)
    first = text.count("\n", 0, text.index(old)) + 1
    grown = new.count("\n") - old.count("\n")  # lines each replacement adds
    last = text.count("\n", 0, text.rindex(old)) + 1 + (count - 1) * grown + new.count("\n")
    return Edit(text.replace(old, new), first, max(first, last),
                f"note: replaced all {count} places")


def _adds_to(old: str, new: str) -> bool:
    """new is old plus more: the model put the code it adds in old as well as in new."""
    head, whole = old.strip(), new.strip()
    return bool(head) and len(whole) > len(head) and whole.startswith(head)


def _already_made(rel: str, text: str, old: str, new: str) -> str:
    """The not-found answer when the file already holds new and not old: the model is
    repeating an edit it made (a 1.5B model did, for every file of a rename, and on
    off-by-one with new in its JSON block's indentation)."""
    wanted = new.strip()
    if not old.strip() or not wanted or old.strip() in text or text.count(wanted) > 1:
        return ""
    if wanted in old:  # new is a piece of old (old = a test line plus pasted output): not a repeat
        return ""
    if wanted in text:
        line = text.count("\n", 0, text.index(wanted)) + 1
    else:  # held as edit_file matches: the model's JSON indentation, line numbers
        try:
            line = apply_edit(text, new, new).first_line
        except ToolError:
            return ""
    return _made_note(rel, line)


def _made_before(text: str, old: str, new: str) -> int:
    """new holds old and the file holds new, with old only inside it: the edit was made, and
    making it again would stack a second copy of what it adds (a 1.5B model re-sent its
    add-a-function edit until the file held the function twice). The line new starts at,
    or 0."""
    if not old.strip() or old.strip() not in new or old.strip() == new.strip():
        return 0  # new adds nothing: an indentation fix, say
    try:
        held, at = apply_edit(text, new, new), apply_edit(text, old, old)
    except ToolError:
        return 0
    inside = held.first_line <= at.first_line and at.last_line <= held.last_line
    return held.first_line if inside else 0


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def _without_blank_edges(text: str) -> str:
    """text without its leading blank lines and trailing whitespace: old and new that differ
    only there are the same edit (1.5B on fix-failing-test sent new as "\\n" + old)."""
    return _LEADING_BLANK_LINES.sub("", text).rstrip()


def _made_note(rel: str, line: int) -> str:
    return (
        f"not changed: {rel} already holds new at line {line}, so this change is made. Do not "
        "repeat it: go on with the next change, or answer with a short summary if the task "
        "is done."
    )


def _same_old_new(ctx: ToolContext, found: Located, old: str) -> ToolError:
    """The refusal of an edit with old == new: why it changes nothing, and what to do. The
    text counts as held when it matches as edit_file would match it (read_file's line
    numbers, indentation); it is "made" (AlreadyMade) only when this task changed the file
    (a 1.5B model takes "made" and stops)."""
    try:
        text = found.path.read_text(errors="replace")
    except OSError:
        text = ""
    where = ""
    try:
        at = apply_edit(text, old, old)
        where = f" (lines {at.first_line}-{at.last_line})"
    except ToolError:
        pass
    if not where and not (old.strip() and old.strip() in text):
        return ToolError(
            f"old and new are the same, so nothing was changed, and {found.rel} does not hold "
            "this text. Call read_file on it, then set old to the lines to change, copied "
            "exactly, and new to what they should become."
        )
    if any(change.path == found.rel for change in ctx.changes):
        return AlreadyMade(
            f"old and new are the same and {found.rel} already holds this text{where}: the "
            "change is made. Go on with the next step, or answer with a short summary if the "
            "task is done."
        )
    return ToolError(
        f"old and new are the same, so nothing was changed: {found.rel} holds this text"
        f"{where} as it was when the task began. Keep old as it is and write in new what "
        "these lines must become to do the task; new must differ from old. To add code "
        'without changing any, set old to "" (empty): new is then added to the file.'
    )
