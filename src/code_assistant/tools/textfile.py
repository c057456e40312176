"""Text files for the file tools: bounded line reading, encoding checks, diffs, atomic writes."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from code_assistant import fileio
from code_assistant.errors import ToolError

READ_MAX_BYTES = 256 * 1024  # what one read_file call returns at most...
READ_MAX_LINES = 2000  # ...and in lines; the note tells the model how to page on
LINE_MAX_BYTES = 8 * 1024  # bytes of one line kept while reading; the rest is skipped
SHOW_LINE_CHARS = 2000
EDIT_MAX_BYTES = 10 * 1024 * 1024  # edit_file holds the whole file in memory
COUNT_MAX_BYTES = 512 * 1024 * 1024  # beyond this the note gives the size, not a line count

# C0 controls that do not occur in text files; many of them mean the bytes are not text.
_CONTROLS = bytes(b for b in range(32) if b not in b"\t\n\r\f\v\x1b") + b"\x7f"


def binary_error(rel: str) -> ToolError:
    return ToolError(
        f"{rel} is a binary file (not UTF-8 text); the file tools only handle text. "
        f"Inspect it with run_shell instead (e.g. `file {rel}` or `xxd {rel} | head`)."
    )


def decode_text(data: bytes, rel: str) -> tuple[str, str]:
    """(text, encoding) of file contents: UTF-8, else Latin-1 if clearly text, else ToolError.

    Latin-1 maps every byte to one character and back, so a legacy-encoded source file
    survives an edit byte for byte. Bytes with NULs or many control codes count as binary.
    """
    if b"\0" in data:
        raise binary_error(rel)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    controls = len(data) - len(data.translate(None, _CONTROLS))
    if controls > len(data) // 100:
        raise binary_error(rel)
    return data.decode("latin-1"), "latin-1"


def _utf8_boundary(chunk: bytes) -> bytes:
    """Drop an incomplete UTF-8 sequence left at the end of a cut chunk."""
    lead = len(chunk) - 1
    while lead > 0 and len(chunk) - lead < 4 and (chunk[lead] & 0xC0) == 0x80:
        lead -= 1
    if lead < 0 or chunk[lead] < 0xC0:
        return chunk
    needed = 2 if chunk[lead] < 0xE0 else 3 if chunk[lead] < 0xF0 else 4
    return chunk[:lead] if len(chunk) - lead < needed else chunk


def iter_lines(stream: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """Each line without its line ending, cut to LINE_MAX_BYTES, and how many bytes were cut."""
    while True:
        chunk = stream.readline(LINE_MAX_BYTES)
        if not chunk:
            return
        cut = 0
        if chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        else:
            while more := stream.readline(LINE_MAX_BYTES):
                if more.endswith(b"\n"):
                    cut += len(more) - 1
                    break
                cut += len(more)
            if cut:
                chunk = _utf8_boundary(chunk)
        yield chunk.removesuffix(b"\r"), cut


@dataclass
class Window:
    """The lines of one read_file call and where the next call should start (None: done)."""

    start: int
    lines: list[tuple[bytes, int]] = field(default_factory=list)
    more_from: int | None = None
    last_seen: int = 0


def read_window(path: Path, start: int, end: int | None) -> Window:
    """Lines start..end (1-based, inclusive) within READ_MAX_LINES/READ_MAX_BYTES, streamed."""
    window = Window(start)
    size = 0
    with path.open("rb") as stream:
        for number, item in enumerate(iter_lines(stream), 1):
            window.last_seen = number
            if number < start:
                continue
            if end is not None and number > end:
                break
            if len(window.lines) >= READ_MAX_LINES or size >= READ_MAX_BYTES:
                window.more_from = number
                break
            window.lines.append(item)
            size += len(item[0]) + 1
    return window


def count_lines(path: Path) -> int | None:
    """Lines in the file, counted in chunks; None when the file is too big to bother."""
    size = path.stat().st_size
    if size > COUNT_MAX_BYTES:
        return None
    newlines = 0
    last = b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return newlines + (0 if last == b"\n" else 1)


def _diff_lines(data: str | bytes | None, keepends: bool) -> list[str]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data or ""
    return text.splitlines(keepends=keepends)


def unified_diff(
    path: str, before: str | bytes | None, after: str | bytes | None, *, line_ends: bool = False
) -> str:
    """A unified diff of one change (before None: a new file, diffed against /dev/null; after
    None: a deleted file); bytes are read as UTF-8.

    By default lines are compared without their endings and joined with "\n": the text an
    approver reads, where a CRLF file looks like any other. With `line_ends` a changed line
    ending or final newline shows too, and every line of the diff ends in "\n".
    """
    lines = difflib.unified_diff(
        _diff_lines(before, line_ends),
        _diff_lines(after, line_ends),
        "/dev/null" if before is None else f"a/{path}",
        f"b/{path}",
        lineterm="\n" if line_ends else "",
    )
    if not line_ends:
        return "\n".join(lines)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def diff_counts(diff: str) -> tuple[int, int]:
    """(added, removed) lines of a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def atomic_write(target: Path, data: bytes, rel: str) -> None:
    """fileio.atomic_write for the file tools: a failure is a ToolError naming `rel`.

    The file keeps its permission bits; on failure the old file is untouched.
    """
    try:
        fileio.atomic_write(target, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ToolError(f"could not write {rel}: {reason}; the file was not changed") from None
