"""The tasks of bench/suites/tasks: load them, give an agent a fresh copy, score it in secret.

Each task directory holds `task.txt` (the sentence a user would type), `starter/` (the only
thing the agent ever sees), `solution/` (a reference overlay) and `check.py` (the hidden check,
run from outside the workspace after the agent is done: `python check.py WORKSPACE`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "bench" / "suites" / "tasks"
CHECK_TIMEOUT = 300.0  # a Rust check builds a crate from scratch on 2 cores
# What the agent tools leave in a project that is not part of the answer.
IGNORED = (".git", ".ca", "ca.config", ".aider.chat.history.md", ".aider.input.history",
           ".aider.tags.cache.v4", "target", "__pycache__", ".pytest_cache")


@dataclass(frozen=True)
class Task:
    name: str
    path: Path

    @property
    def sentence(self) -> str:
        return (self.path / "task.txt").read_text(encoding="utf-8").strip()

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    def starter_files(self) -> list[str]:
        """The starter's files, relative, sorted: what a user would hand to aider."""
        return sorted(str(p.relative_to(self.starter)) for p in self.starter.rglob("*")
                      if p.is_file())


@dataclass(frozen=True)
class Score:
    solved: bool
    message: str  # the check's last line: why it failed, or PASS


def load_tasks(names: list[str] | None = None, suite: Path = SUITE) -> list[Task]:
    """Every task of the suite in name order, or just the named ones (unknown names: an error)."""
    tasks = {p.name: Task(p.name, p) for p in sorted(suite.iterdir())
             if (p / "task.txt").is_file() and (p / "check.py").is_file()}
    if not names:
        return list(tasks.values())
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise ValueError(f"unknown task(s): {', '.join(unknown)}; known: {', '.join(tasks)}")
    return [tasks[n] for n in names]


def _git(workspace: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
                        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
                        "PATH": "/usr/bin:/bin:/usr/local/bin"})


def prepare_workspace(task: Task, workspace: Path, overlay: Path | None = None) -> Path:
    """A fresh git repo holding the starter only (plus `overlay`, used to test the checks)."""
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(task.starter, workspace)
    if overlay is not None:
        shutil.copytree(overlay, workspace, dirs_exist_ok=True)
    # ca writes ca.config only in a git repo, and a user's project is one.
    _git(workspace, "init", "-q", "-b", "main")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-q", "-m", "starter")
    return workspace


def score(task: Task, workspace: Path, timeout: float = CHECK_TIMEOUT) -> Score:
    """Run the hidden check against what the agent left in `workspace`."""
    try:
        done = subprocess.run([sys.executable, str(task.path / "check.py"), str(workspace)],
                              cwd=task.path, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return Score(False, f"check timed out after {timeout:.0f} s")
    lines = (done.stdout + done.stderr).strip().splitlines()
    message = lines[-1] if lines else f"check exited {done.returncode}"
    for line in lines:
        if line.startswith(("PASS", "FAIL")):
            message = line
            break
    return Score(done.returncode == 0, message[:300])
