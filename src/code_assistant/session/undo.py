"""Change sets for /undo: the write tools' backups, plus a git snapshot for what shells changed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.fileio import atomic_write
from code_assistant.tools.registry import Change

GIT_TIMEOUT = 30


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, timeout=GIT_TIMEOUT, check=False
    )


def _paths(output: bytes) -> set[str]:
    return {p.decode("utf-8", "surrogateescape") for p in output.split(b"\0") if p}


@dataclass
class GitSnapshot:
    """The working tree of tracked files (a dangling stash commit) and the untracked files."""

    commit: str
    untracked: set[str]

    @classmethod
    def take(cls, root: Path) -> GitSnapshot | None:
        """None outside a git work tree, without a first commit, or without git at all."""
        try:
            inside = _git(root, "rev-parse", "--is-inside-work-tree")
            if inside.returncode != 0 or inside.stdout.strip() != b"true":
                return None
            # `stash create` records the work tree without touching it; it prints nothing
            # when there are no local changes, and then HEAD is the snapshot.
            stash = _git(root, "stash", "create")
            commit = stash.stdout.strip().decode() if stash.returncode == 0 else ""
            if not commit:
                head = _git(root, "rev-parse", "--verify", "-q", "HEAD")
                if head.returncode != 0:
                    return None
                commit = head.stdout.strip().decode()
            untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
        except (OSError, subprocess.TimeoutExpired):
            return None
        return cls(commit, _paths(untracked.stdout))


@dataclass
class ChangeSet:
    """What one turn changed: file backups from the write tools and, in git, a snapshot."""

    turn: int
    changes: list[Change] = field(default_factory=list)
    git: GitSnapshot | None = None

    def touched(self, root: Path) -> list[str]:
        """Every path changed since the turn began (backups first, then what git sees)."""
        seen = dict.fromkeys(c.path for c in self.changes)
        for path in self._git_changed(root) | self._git_created(root):
            seen.setdefault(path)
        return list(seen)

    def _git_changed(self, root: Path) -> set[str]:
        if self.git is None:
            return set()
        result = _git(root, "diff", "--name-only", "-z", self.git.commit, "--")
        return _paths(result.stdout) if result.returncode == 0 else set()

    def _git_created(self, root: Path) -> set[str]:
        if self.git is None:
            return set()
        result = _git(root, "ls-files", "--others", "--exclude-standard", "-z")
        return _paths(result.stdout) - self.git.untracked if result.returncode == 0 else set()

    def revert(self, root: Path) -> list[str]:
        """Put every touched file back as it was when the turn began; lines saying what."""
        done: list[str] = []
        backed_up: set[str] = set()
        first: dict[str, bytes | None] = {}
        for change in self.changes:  # the earliest backup of a path is its state before
            first.setdefault(change.path, change.before)
        for path, before in first.items():
            try:
                _restore(root / path, before)
            except OSError as exc:
                done.append(f"could not restore {path}: {exc.strerror or exc}")
                continue
            backed_up.add(path)
            done.append(f"{'removed' if before is None else 'restored'} {path}")
        if self.git is not None:
            for path in sorted(self._git_changed(root) - backed_up):
                source = f"--source={self.git.commit}"
                result = _git(root, "restore", source, "--worktree", "--", path)
                reason = result.stderr.decode(errors="replace").strip()
                done.append(
                    f"restored {path} (git)" if result.returncode == 0
                    else f"could not restore {path}: {reason}"
                )
            for path in sorted(self._git_created(root) - backed_up):
                (root / path).unlink(missing_ok=True)
                done.append(f"removed {path} (created by a command)")
        return done


def _restore(path: Path, before: bytes | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
        return
    atomic_write(path, before)
