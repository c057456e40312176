"""The project's one file walker: honours .gitignore and excludes, skips binary and huge files."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

DEFAULT_MAX_BYTES = 1_000_000
SNIFF_BYTES = 8192
# Never project content, whatever the config says.
ALWAYS_SKIP = frozenset({".git", ".hg", ".svn", ".ca"})
# A directory holding one of these is a cache or a virtualenv, not source.
GENERATED_MARKERS = frozenset({"CACHEDIR.TAG", "pyvenv.cfg"})


@dataclass(frozen=True)
class FileEntry:
    """One walked file: its path relative to the root (POSIX form), size and mtime."""

    rel: str
    abspath: str
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.abspath)


def is_probably_binary(head: bytes) -> bool:
    """True when the first bytes of a file hold a NUL byte (what git and grep check)."""
    return b"\x00" in head[:SNIFF_BYTES]


def is_probably_minified(head: bytes) -> bool:
    """True for minified or generated one-line files: a long sample with very long lines."""
    sample = head[:SNIFF_BYTES]
    if len(sample) < 4096:
        return False
    return sample.count(b"\n") * 500 < len(sample)


def _read_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
    if not path.is_file():  # absent, or a FIFO that would block the read
        return None
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    lines = [line for line in lines if line.strip() and not line.startswith("#")]
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
    except (ValueError, re.error):  # `[z-a]`, a lone backslash: git skips such lines too
        return pathspec.GitIgnoreSpec.from_lines(_valid_lines(lines)) or None


def _valid_lines(lines: list[str]) -> list[str]:
    valid = []
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error):
            continue
        valid.append(line)
    return valid


Specs = tuple[tuple[str, pathspec.GitIgnoreSpec], ...]


def _ignored(rel: str, specs: Specs) -> bool:
    # The deepest .gitignore with an opinion decides, as in git.
    for base, spec in reversed(specs):
        result = spec.check_file(rel[len(base) :])
        if result.include is not None:
            return bool(result.include)
    return False


class _Walker:
    def __init__(
        self,
        root: Path,
        exclude: Iterable[str],
        max_bytes: int,
        text_only: bool,
        gitignore: bool,
        suffixes: Iterable[str] | None,
    ) -> None:
        self.root = root
        self.suffixes = tuple(s.lower() for s in suffixes) if suffixes is not None else None
        patterns = [p for p in exclude if p.strip()]
        self.exclude = pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None
        self.max_bytes = max_bytes
        self.text_only = text_only
        self.gitignore = gitignore

    def skip(self, rel: str, specs: Specs) -> bool:
        if self.exclude is not None and self.exclude.match_file(rel):
            return True
        return self.gitignore and _ignored(rel, specs)

    def root_specs(self) -> Specs:
        if not self.gitignore:
            return ()
        found = [_read_spec(self.root / ".git" / "info" / "exclude")]
        return tuple(("", spec) for spec in found if spec is not None)

    def walk(self) -> Iterator[FileEntry]:
        stack: list[tuple[str, str, Specs]] = [(str(self.root), "", self.root_specs())]
        while stack:
            directory, prefix, specs = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            names = {e.name for e in entries}
            if prefix and names & GENERATED_MARKERS:
                continue
            if self.gitignore and ".gitignore" in names:
                spec = _read_spec(Path(directory, ".gitignore"))
                if spec is not None:
                    specs = (*specs, (prefix, spec))
            subdirs: list[tuple[str, str, Specs]] = []
            for entry in entries:
                yield from self._visit(entry, prefix, specs, subdirs)
            stack.extend(reversed(subdirs))

    def _visit(
        self,
        entry: os.DirEntry[str],
        prefix: str,
        specs: Specs,
        subdirs: list[tuple[str, str, Specs]],
    ) -> Iterator[FileEntry]:
        name = entry.name
        rel = prefix + name
        try:
            # Symlinks are skipped: they can leave the root or loop, and targets are walked anyway.
            if entry.is_dir(follow_symlinks=False):
                if name not in ALWAYS_SKIP and not self.skip(rel + "/", specs):
                    subdirs.append((entry.path, rel + "/", specs))
                return
            if self.suffixes is not None and not name.lower().endswith(self.suffixes):
                return
            info = entry.stat(follow_symlinks=False)
        except OSError:
            return
        if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_bytes:
            return
        if self.skip(rel, specs):
            return
        if self.text_only and info.st_size and not _looks_textual(entry.path):
            return
        yield FileEntry(rel, entry.path, info.st_size, info.st_mtime_ns)


def _looks_textual(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return False
    return not is_probably_binary(head) and not is_probably_minified(head)


def iter_project_entries(
    root: Path,
    exclude: Iterable[str] = (),
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    text_only: bool = True,
    gitignore: bool = True,
    suffixes: Iterable[str] | None = None,
) -> Iterator[FileEntry]:
    """Walk `root` depth-first in name order, yielding FileEntry for each file kept.

    Skipped: VCS and `.ca` dirs, caches and virtualenvs (CACHEDIR.TAG, pyvenv.cfg), paths
    matched by `exclude` (gitignore syntax, relative to root) or by any .gitignore on the way,
    symlinks, files over `max_bytes`, and with `text_only` binary or minified files.
    With `suffixes` (".py", ...) only files whose names end so are considered.
    """
    yield from _Walker(Path(root), exclude, max_bytes, text_only, gitignore, suffixes).walk()


def iter_project_files(
    root: Path,
    exclude: Iterable[str] = (),
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    text_only: bool = True,
    suffixes: Iterable[str] | None = None,
) -> Iterator[Path]:
    """The project's text files under `root` (see iter_project_entries for what is skipped)."""
    entries = iter_project_entries(
        root, exclude, max_bytes=max_bytes, text_only=text_only, suffixes=suffixes
    )
    for entry in entries:
        yield Path(entry.abspath)
