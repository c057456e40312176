"""Git checkpoints on real repositories: stash-like refs, commits, and restoring with undo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from code_assistant.errors import UsageError
from code_assistant.pipeline.checkpoint import checkpoint, is_git_repo, restore
from code_assistant.pipeline.checks import python_errors


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    result = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Isolate from the machine's git config (identity, hooks, signing): the environment is
    # the test's, not production code's.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", os.devnull)
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "keep.txt").write_text("original\n", encoding="utf-8")
    git(root, "add", "keep.txt")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return root


def test_not_a_repo_means_no_checkpoint(tmp_path: Path) -> None:
    assert not is_git_repo(tmp_path)
    assert checkpoint(tmp_path, "ref", "r1", "start") == ""
    with pytest.raises(UsageError, match="not a git repository"):
        restore(tmp_path, "abc")


def test_ref_checkpoint_leaves_head_index_and_files_alone(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "keep.txt").write_text("changed\n", encoding="utf-8")
    (repo / "new.py").write_text("x = 1\n", encoding="utf-8")
    (repo / ".ca" / "runs").mkdir(parents=True)
    (repo / ".ca" / "runs" / "state.json").write_text("{}", encoding="utf-8")
    status_before = git(repo, "status", "--porcelain")
    commit = checkpoint(repo, "ref", "r1", "implement")
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "rev-parse", "refs/ca/runs/r1/implement") == commit
    assert git(repo, "show", f"{commit}:keep.txt") == "changed"
    assert git(repo, "show", f"{commit}:new.py") == "x = 1"
    assert ".ca" not in git(repo, "ls-tree", "-r", "--name-only", commit)
    subject = git(repo, "log", "-1", "--format=%an: %s", commit)
    assert subject == "code-assistant: ca run r1: after implement"


def test_commit_checkpoint_commits_on_the_branch(repo: Path) -> None:
    (repo / "new.py").write_text("x = 1\n", encoding="utf-8")
    commit = checkpoint(repo, "commit", "r1", "implement")
    assert git(repo, "rev-parse", "HEAD") == commit
    assert git(repo, "status", "--porcelain") == ""
    assert checkpoint(repo, "commit", "r1", "review") == commit  # nothing new: no empty commit
    assert checkpoint(repo, "none", "r1", "docs") == ""


def test_restore_brings_back_the_start_and_removes_what_the_run_added(repo: Path) -> None:
    (repo / "untracked_before.txt").write_text("mine\n", encoding="utf-8")
    start = checkpoint(repo, "ref", "r1", "start")
    (repo / "keep.txt").write_text("changed by the run\n", encoding="utf-8")
    (repo / "pkg" / "sub").mkdir(parents=True)
    (repo / "pkg" / "sub" / "mod.py").write_text("y = 2\n", encoding="utf-8")
    (repo / "untracked_before.txt").unlink()
    index_before = git(repo, "diff", "--cached", "--name-only")
    changed = restore(repo, start)
    assert sorted(changed) == ["keep.txt", "pkg/sub/mod.py", "untracked_before.txt"]
    assert (repo / "keep.txt").read_text(encoding="utf-8") == "original\n"
    assert (repo / "untracked_before.txt").read_text(encoding="utf-8") == "mine\n"
    assert not (repo / "pkg").exists()
    assert git(repo, "diff", "--cached", "--name-only") == index_before
    # the undo itself can be undone
    undone = git(repo, "rev-parse", "refs/ca/undo")
    assert git(repo, "show", f"{undone}:pkg/sub/mod.py") == "y = 2"


def test_python_syntax_errors_are_found_in_written_files(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("def f(:", encoding="utf-8")
    errors = python_errors(tmp_path, ["good.py", "bad.py", "notes.md", "gone.py"])
    assert len(errors) == 1
    assert errors[0].startswith("bad.py:1: ")
    assert not list(tmp_path.rglob("*.pyc"))
