"""Project-root confinement for every tool path, wrong-cwd recovery and did-you-mean hints."""

from __future__ import annotations

import difflib
import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from code_assistant.errors import ToolError

SKIP_DIRS = frozenset({".git"})
WALK_LIMIT = 50_000  # files looked at by one walk; keeps a huge tree from stalling a tool


def resolve_in_root(root: Path, path: str) -> Path:
    """The absolute, symlink-resolved path for `path`, or ToolError if it leaves `root`.

    Relative paths are taken from root; absolute paths are fine when they point inside it.
    `..` is allowed while it stays inside. Symlinks are followed (even dangling ones), so a
    link inside the project whose target is outside is refused like any other escape.
    """
    if not isinstance(path, str):
        raise ToolError(f"path must be a string, got {type(path).__name__}")
    cleaned = path.strip()
    if not cleaned:
        raise ToolError("the path is empty; give a path relative to the project root")
    if "\0" in cleaned:
        raise ToolError("the path contains a NUL byte; give a plain path")
    check_name(cleaned)
    base = root.resolve()
    try:
        target = (base / cleaned).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        # RuntimeError: symlink loop; ValueError: e.g. lone surrogates the OS cannot encode.
        raise ToolError(f"cannot use the path {cleaned!r}: {exc}") from None
    if target != base and not target.is_relative_to(base):
        raise ToolError(
            f"{cleaned!r} is outside the project root {base}; tools may only touch files "
            "inside it. Use a path relative to the project root."
        )
    return target


NAME_MAX = 255  # bytes per path component on Linux and macOS file systems
PATH_MAX = 4095  # bytes of a whole path, without the terminating NUL


def check_name(path: str) -> None:
    """Refuse names no file system takes, before the OS answers with a bare OSError.

    A lone surrogate (from a name that was not UTF-8) could be written but then not sent
    to the model, so such names are refused as well.
    """
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolError(
            f"the path {path!r} contains characters that are not valid text; "
            "use a plain UTF-8 file name"
        ) from None
    if len(encoded) > PATH_MAX:
        raise ToolError(f"the path is {len(encoded)} bytes long; paths may have at most "
                        f"{PATH_MAX} bytes. Use a shorter path")
    for part in Path(path).parts:
        if len(part.encode("utf-8")) > NAME_MAX:
            raise ToolError(f"the name {part[:40]!r}... is {len(part.encode())} bytes long; "
                            f"a file or directory name may have at most {NAME_MAX} bytes. "
                            "Use a shorter name")


def relative(root: Path, target: Path) -> str:
    """The project-relative POSIX form of an already-confined path ('.' for the root)."""
    rel = target.relative_to(root.resolve()).as_posix()
    return rel or "."


@dataclass(frozen=True)
class Located:
    """A confined path, its project-relative name, and a note when we corrected the request."""

    path: Path
    rel: str
    note: str = ""


def _under_own_name(root: Path, path: str) -> str | None:
    """'proj/src/a.py' -> 'src/a.py' when the project is named proj and has no proj/ inside."""
    parts = Path(path.strip()).parts
    if len(parts) < 2 or Path(path.strip()).is_absolute() or parts[0] != root.resolve().name:
        return None
    if (root / parts[0]).exists():
        return None
    return Path(*parts[1:]).as_posix()


def _existing_tail(root: Path, path: str) -> str | None:
    """For an absolute path outside root: what follows the project's name, or an existing tail."""
    parts = Path(path.strip()).parts[1:]
    name = root.resolve().name
    if name in parts:
        # '/home/me/proj/src/new.py' -> 'src/new.py' even when the file does not exist yet.
        index = len(parts) - 1 - parts[::-1].index(name)
        if index + 1 < len(parts):
            return Path(*parts[index + 1 :]).as_posix()
    for start in range(1, len(parts)):
        tail = Path(*parts[start:])
        if (root / tail).exists():
            return tail.as_posix()
    return None


def _recovered(root: Path, asked: str, guess: str) -> Located:
    target = resolve_in_root(root, guess)
    rel = relative(root, target)
    note = (
        f"note: {asked.strip()!r} was taken as {rel!r}: paths are relative to the "
        f"project root {root.resolve()}"
    )
    return Located(target, rel, note)


def locate(root: Path, path: str, *, must_exist: bool) -> Located:
    """Resolve a path the model gave, confined to root, correcting a wrong working directory.

    A relative path that starts with the project's own directory name, or an absolute path
    outside the project whose tail exists here, is mapped onto the project and the result's
    note says so. With must_exist, a missing file raises ToolError naming the closest paths.
    """
    if not isinstance(path, str):
        raise ToolError(f"path must be a string, got {type(path).__name__}")
    own = _under_own_name(root, path)
    if own is not None:
        found = _recovered(root, path, own)
        if found.path.exists() or not must_exist:
            return found
    try:
        target = resolve_in_root(root, path)
    except ToolError:
        asked = Path(path.strip())
        if "\0" in path or not asked.is_absolute() or os.path.lexists(asked):
            raise
        tail = _existing_tail(root, path)
        if tail is None:
            raise
        found = _recovered(root, path, tail)
        if found.path.exists() or (not must_exist and found.path.parent.is_dir()):
            return found
        raise
    if must_exist and not target.exists():
        raise ToolError(not_found_message(root, path))
    return Located(target, relative(root, target))


def not_found_message(root: Path, path: str) -> str:
    """'no such file 'ns.rs'; did you mean src/nslookup.rs?' with up to five suggestions."""
    wanted = path.strip()
    hints = closest_paths(root, wanted)
    message = f"no such file or directory {wanted!r} in the project"
    if hints:
        return f"{message}; did you mean {', '.join(hints)}?"
    # A small model asked to create a file often reads it first: tell it the next step.
    return (f"{message}. If the task is to create it, call write_file with this path and the "
            "whole content; to find an existing file, use list_dir or glob_files")


def closest_paths(root: Path, wanted: str, limit: int = 5) -> list[str]:
    """Existing project paths most like `wanted`: same file name first, then similar names."""
    wanted = wanted.strip().removeprefix("./").rstrip("/")
    name = Path(wanted).name
    files = list(walk_files(root))
    dirs = sorted({parent.as_posix() for f in files for parent in Path(f).parents} - {"."})
    everything = files + [d + "/" for d in dirs]
    by_name: dict[str, list[str]] = {}
    for rel in everything:
        by_name.setdefault(Path(rel.rstrip("/")).name, []).append(rel)
    found: list[str] = list(by_name.get(name, []))
    for close in difflib.get_close_matches(name, list(by_name), n=limit, cutoff=0.6):
        found.extend(by_name[close])
    found.extend(difflib.get_close_matches(wanted, everything, n=limit, cutoff=0.6))

    def rank(rel: str) -> float:
        # Both the whole path and the file name count: 'json/decode.py' -> json/decoder.py.
        base = Path(rel.rstrip("/")).name
        whole = difflib.SequenceMatcher(None, wanted, rel.rstrip("/")).ratio()
        return whole + difflib.SequenceMatcher(None, name, base).ratio()

    return sorted(dict.fromkeys(found), key=rank, reverse=True)[:limit]


def walk_files(root: Path, *, limit: int = WALK_LIMIT) -> Iterator[str]:
    """Project-relative POSIX paths of the project's files (any size, binary too), in walk
    order, honouring .gitignore; the walk itself is the project's one walker (index/walk.py).

    Stops after `limit` files, so a huge tree cannot stall a tool.
    """
    from code_assistant.index.walk import iter_project_entries

    entries = iter_project_entries(root.resolve(), max_bytes=sys.maxsize, text_only=False)
    for entry in itertools.islice(entries, limit):
        yield entry.rel
