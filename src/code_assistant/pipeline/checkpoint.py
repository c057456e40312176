"""Git checkpoints after each phase (a commit, or a stash-like ref) and restoring one."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from code_assistant.errors import CAError, UsageError

# The run's own files never go into a checkpoint, and undo never touches them.
EXCLUDE = ":(exclude).ca"
IDENTITY = {
    "GIT_AUTHOR_NAME": "code-assistant",
    "GIT_AUTHOR_EMAIL": "code-assistant@localhost",
    "GIT_COMMITTER_NAME": "code-assistant",
    "GIT_COMMITTER_EMAIL": "code-assistant@localhost",
}


def git(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def checked(result: subprocess.CompletedProcess[str], what: str) -> str:
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise CAError(f"git checkpoint failed ({what}): {reason[-1] if reason else 'unknown'}")
    return result.stdout.strip()


def is_git_repo(root: Path) -> bool:
    try:
        result = git(root, "rev-parse", "--show-toplevel")
    except OSError:  # git is not installed
        return False
    return result.returncode == 0 and Path(result.stdout.strip()).resolve() == root.resolve()


def _identity_env(root: Path) -> dict[str, str]:
    """Our name on checkpoint commits only when the user has none configured."""
    return {} if git(root, "config", "user.email").stdout.strip() else IDENTITY


def _head(root: Path) -> str:
    result = git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    return result.stdout.strip() if result.returncode == 0 else ""


def snapshot(root: Path, message: str, ref: str) -> str:
    """Commit the work tree to `ref` without touching HEAD, the index or any file (like stash)."""
    env = _identity_env(root)
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        head = _head(root)
        if head:
            checked(git(root, "read-tree", head, env=index), "read-tree")
        checked(git(root, "add", "-A", "--", ".", EXCLUDE, env=index), "add")
        tree = checked(git(root, "write-tree", env=index), "write-tree")
    parents = ["-p", head] if head else []
    made = git(root, "commit-tree", tree, *parents, "-m", message, env=env)
    commit = checked(made, "commit-tree")
    checked(git(root, "update-ref", ref, commit), "update-ref")
    return commit


def commit_all(root: Path, message: str) -> str:
    """A real commit of every change on the current branch (checkpoint = "commit")."""
    checked(git(root, "add", "-A", "--", ".", EXCLUDE), "add")
    if git(root, "diff", "--cached", "--quiet").returncode == 0 and _head(root):
        return _head(root)  # nothing changed in this phase
    committed = git(root, "commit", "-q", "--no-verify", "-m", message, env=_identity_env(root))
    checked(committed, "commit")
    return _head(root)


def checkpoint(root: Path, mode: str, run_id: str, label: str) -> str:
    """The commit holding the work tree after `label`; "" when off or not a git repo."""
    if mode == "none" or not is_git_repo(root):
        return ""
    message = f"ca run {run_id}: after {label}"
    if mode == "commit" and label != "start":
        return commit_all(root, message)
    return snapshot(root, message, f"refs/ca/runs/{run_id}/{label}")


def restore(root: Path, commit: str) -> list[str]:
    """Make the work tree's files match `commit` (the index and HEAD stay); return changed paths.

    Files the run added are deleted; the current state is saved first under refs/ca/undo so
    an undo can itself be undone.
    """
    if not is_git_repo(root):
        raise UsageError(f"{root} is not a git repository: there are no checkpoints to restore")
    current = snapshot(root, "ca undo: state before undo", "refs/ca/undo")
    listing = git(root, "diff", "--name-status", "--no-renames", commit, current, "--", ".")
    diff = checked(listing, "diff")
    changed = []
    for line in diff.splitlines():
        status, _, path = line.partition("\t")
        changed.append(path)
        if status == "A":  # not in the checkpoint: the run created it
            _remove(root, path)
    kept = [p for p in changed if (root / p).exists() or _in_commit(root, commit, p)]
    if kept:
        checked(git(root, "restore", f"--source={commit}", "--worktree", "--", *kept), "restore")
    return changed


def _remove(root: Path, path: str) -> None:
    """Delete a file the run created, and the directories it leaves empty."""
    target = root / path
    target.unlink(missing_ok=True)
    for parent in target.parents:
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:  # not empty
            break


def _in_commit(root: Path, commit: str, path: str) -> bool:
    return git(root, "cat-file", "-e", f"{commit}:{path}").returncode == 0
