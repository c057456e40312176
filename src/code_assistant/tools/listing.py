"""Listing tools for the model: a directory's entries and files by name pattern."""

from __future__ import annotations

import os
import re
from pathlib import Path

from code_assistant.errors import ToolError
from code_assistant.tools.files import human_size, plural, with_note
from code_assistant.tools.paths import locate, walk_files
from code_assistant.tools.registry import ToolContext, tool

LIST_MAX_ENTRIES = 200
GLOB_MAX_RESULTS = 200


def _entry_line(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        try:
            return f"{entry.name} -> {os.readlink(entry.path)}"
        except OSError:
            return f"{entry.name} -> ?"
    if entry.is_dir():
        return f"{entry.name}/"
    try:
        return f"{entry.name}  ({human_size(entry.stat().st_size)})"
    except OSError:
        return entry.name


@tool(kind="read")
def list_dir(ctx: ToolContext, path: str = ".") -> str:
    """List a directory: sub-directories end with '/', files show their size.

    Args:
        path: Directory relative to the project root; "." is the project root.
    """
    found = locate(ctx.root, path, must_exist=True)
    if not found.path.is_dir():
        raise ToolError(f"{found.rel} is a file, not a directory; use read_file to read it")
    try:
        with os.scandir(found.path) as it:
            entries = [e for e in it if e.name != ".git"]
    except OSError as exc:
        raise ToolError(f"cannot list {found.rel}: {exc.strerror or exc}") from None
    entries.sort(key=lambda e: (not e.is_dir(follow_symlinks=False), e.name))
    count = plural(len(entries), "entry", "entries")
    lines = [f"{found.rel}/ ({count})" if entries else f"{found.rel}/ is empty"]
    lines += [_entry_line(e) for e in entries[:LIST_MAX_ENTRIES]]
    if len(entries) > LIST_MAX_ENTRIES:
        more = len(entries) - LIST_MAX_ENTRIES
        lines.append(f"[... {more} more entries not shown; use glob_files to find files]")
    return with_note(found, "\n".join(lines))


def _glob_pattern(root: Path, pattern: str) -> str:
    cleaned = pattern.strip()
    base = root.resolve().as_posix()
    if cleaned.startswith(base + "/"):
        cleaned = cleaned[len(base) + 1 :]
    cleaned = cleaned.removeprefix("./")
    if not cleaned or cleaned.startswith("!"):
        raise ToolError("give a file name pattern such as '**/*.py' or 'src/*.rs'")
    if ".." in Path(cleaned).parts or "\0" in cleaned:
        raise ToolError("glob_files only searches inside the project; remove '..' from the pattern")
    return cleaned


@tool(kind="read")
def glob_files(ctx: ToolContext, pattern: str) -> str:
    """Find project files by name pattern; files ignored by .gitignore and .git are skipped.

    Patterns work like .gitignore lines: a name or `*.ext` matches at any depth, `dir/*.ext`
    only directly inside dir, `dir/**/name` anywhere below dir.

    Args:
        pattern: A file name or a pattern with * and **.
    """
    import pathspec

    cleaned = _glob_pattern(ctx.root, pattern)
    try:
        spec = pathspec.GitIgnoreSpec.from_lines([cleaned])
    except (ValueError, re.error) as exc:  # [z-a], a lone backslash
        raise ToolError(f"{cleaned!r} is not a valid pattern ({exc}); try '**/*.py'") from None
    matches = sorted(rel for rel in walk_files(ctx.root) if spec.match_file(rel))
    if not matches:
        return (
            f"no files match {cleaned!r} (patterns are relative to the project root; "
            "ignored files are skipped)"
        )
    lines = matches[:GLOB_MAX_RESULTS]
    if len(matches) > GLOB_MAX_RESULTS:
        more = len(matches) - GLOB_MAX_RESULTS
        lines.append(f"[... {more} more matches not shown; use a narrower pattern]")
    return "\n".join(lines)

