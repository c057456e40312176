"""`ca bench run`: every requirement doc x runner x sample in a fresh workspace, then scored."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from code_assistant.app import App
from code_assistant.bench.lanes import run_in_lanes
from code_assistant.bench.proc import ProcResult, run_process
from code_assistant.bench.runners import Runner, command, error_kind, read_metrics
from code_assistant.bench.scoring import score_workspace, written_files
from code_assistant.errors import UsageError

DOC_SUFFIXES = (".md", ".txt")
HELDOUT_SUFFIX = ".tests.py"
RESULTS_VERSION = 1
# The --json error kinds of a `ca` that found no backend at its address or no model on it.
UNREACHED = ("BackendUnavailable", "ModelNotFound")
_RESUME_HINT = re.compile(r"([.;:]?\s*)the run is saved: continue it with `ca run --resume (\S+)`")


@dataclass(frozen=True)
class Task:
    """One requirement document and, when it has one, its held-out test file."""

    name: str
    path: Path
    text: str
    heldout: Path | None


@dataclass
class BenchOptions:
    runners: list[Runner]
    samples: int = 1
    jobs: int = 1
    timeout: float = 1800.0  # seconds per runner attempt
    test_timeout: float = 300.0  # seconds per test run of the harness
    keep: bool = False  # keep workspaces under the results directory
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # Runner label -> (error, exit code) of its first job that could not reach its model: the
    # rest of its jobs are not started (each would wait out the same retries for nothing).
    unreached: dict[str, tuple[str, int | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    task: Task
    runner: Runner
    sample: int

    @property
    def slug(self) -> str:
        return f"{self.task.name}--{self.runner.slug}--{self.sample}"


def discover_tasks(suite: Path) -> list[Task]:
    """The suite's *.md / *.txt documents (README excepted), each with NAME.tests.py if any."""
    from code_assistant.pipeline.run import read_requirement

    if not suite.is_dir():
        raise UsageError(f"suite {str(suite)!r} is not a directory of requirement documents")
    docs = sorted(
        p for p in suite.iterdir()
        if p.is_file() and p.suffix.lower() in DOC_SUFFIXES
        and not p.name.lower().startswith("readme")
    )
    if not docs:
        raise UsageError(f"no requirement documents (*.md, *.txt) in {suite}")
    tasks: list[Task] = []
    for doc in docs:
        if any(t.name == doc.stem for t in tasks):
            raise UsageError(f"two requirement documents are named {doc.stem!r} in {suite}")
        path, text = read_requirement(str(doc), suite)
        heldout = doc.with_name(doc.stem + HELDOUT_SUFFIX)
        tasks.append(Task(doc.stem, path.resolve(), text,
                          heldout.resolve() if heldout.is_file() else None))
    return tasks


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if hasattr(value, "model_dump_json"):
        return str(value.model_dump_json())
    return str(value)


def child_env(loaded: App, base: dict[str, str]) -> dict[str, str]:
    """The environment of each runner: the workspace has no ca.config, so the settings this
    project and command line chose travel as CA_* variables (machine-only keys never do)."""
    from code_assistant.config import is_machine_only

    env = dict(base)
    for key, source in loaded.sources.items():
        if source.startswith(("project", "cli")) and not is_machine_only(key):
            env[f"CA_{key.upper()}"] = _env_value(getattr(loaded.config, key))
    return env


def _git_init(workspace: Path, env: dict[str, str]) -> None:
    """A repository per workspace: pipeline checkpoints work, and the root is found here."""
    git = shutil.which("git")
    if git:
        subprocess.run([git, "init", "-q"], cwd=workspace, env=env, check=False,
                       capture_output=True, timeout=60)


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
                 if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:500] if lines else ""


def _status(proc: ProcResult, metrics: dict[str, Any] | None, stderr: Path,
            timeout: float) -> tuple[str, str]:
    if proc.stopped:
        return "cancelled", "stopped by the user"
    if proc.timed_out:
        return "timeout", f"stopped after the {timeout:g}s timeout"
    failed = proc.exit_code not in (0, 1)  # 0 done, 1 unfinished; others: `ca` gave up
    error = _last_line(stderr) if failed else ""
    if metrics is None or (failed and not metrics["stop_reason"]):
        return "error", error or f"the runner exited {proc.exit_code} without a result"
    return metrics["run_status"], error


def run_job(job: Job, options: BenchOptions, out: Path, stop: threading.Event) -> dict[str, Any]:
    """Do one task with one runner in a new workspace, then score what is there."""
    logs = out / "logs" / job.slug
    logs.mkdir(parents=True, exist_ok=True)
    if job.runner.label in options.unreached:
        return _not_run(job, options.unreached[job.runner.label], logs, out)
    workspace = Path(tempfile.mkdtemp(prefix=f"ca-bench-{job.task.name}-"))
    kept: Path | None = None
    try:
        _git_init(workspace, options.env)
        argv = command(job.runner, job.task.path, job.task.text)
        proc = run_process(argv, cwd=workspace, env=options.env, timeout=options.timeout,
                           stdout=logs / "stdout.jsonl", stderr=logs / "stderr.txt", stop=stop)
        stdout = (logs / "stdout.jsonl").read_text(encoding="utf-8", errors="replace")
        metrics = read_metrics(job.runner, workspace, stdout)
        status, error = _status(proc, metrics, logs / "stderr.txt", options.timeout)
        # A runner that could not reach its model (and wrote nothing) did no work: nothing of it
        # is a score. Its call counts cannot tell: `ca do` counts the call it could not make.
        reached = error_kind(stdout) not in UNREACHED or bool(written_files(workspace))
        if not reached:
            reason = resume_hint(error, None).removeprefix("ca: error: ")
            options.unreached.setdefault(job.runner.label, (reason, proc.exit_code))
        score = score_workspace(workspace, logs, heldout=job.task.heldout,
                                test_timeout=options.test_timeout,
                                tests=not proc.stopped and reached)
        if options.keep:
            kept = out / "workspaces" / job.slug
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(workspace), kept)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    cost = _cost(metrics)
    cost["final_text"] = resume_hint(cost["final_text"], kept)
    return {
        "task": job.task.name, "runner": job.runner.label, "kind": job.runner.kind,
        "backend": job.runner.backend, "model": job.runner.model, "sample": job.sample,
        "status": status, "error": resume_hint(error, kept), "exit_code": proc.exit_code,
        "reached": reached, "seconds": round(proc.seconds, 3),
        **cost,
        **score,
        "log": str(logs.relative_to(out)), "workspace": str(kept.relative_to(out)) if kept else "",
    }


def _not_run(
    job: Job, first: tuple[str, int | None], logs: Path, out: Path
) -> dict[str, Any]:  # fmt: skip
    """The row of a job skipped because its runner could not reach its model before."""
    error = f"not run: an earlier job of {job.runner.label} could not reach its model ({first[0]})"
    empty = Path(tempfile.mkdtemp(prefix="ca-bench-skipped-"))
    try:
        score = score_workspace(empty, logs, heldout=None, test_timeout=1.0, tests=False)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    return {
        "task": job.task.name, "runner": job.runner.label, "kind": job.runner.kind,
        "backend": job.runner.backend, "model": job.runner.model, "sample": job.sample,
        "status": "error", "error": error, "exit_code": first[1], "reached": False,
        "seconds": 0.0, **_cost(None), **score, "log": str(logs.relative_to(out)),
        "workspace": "",
    }


def resume_hint(text: str, kept: Path | None) -> str:
    """The pipeline's "continue it with `ca run --resume ID`" points into the job's workspace:
    where that workspace is kept, say how to get there; where it is gone, drop the hint."""
    if kept is None:
        return _RESUME_HINT.sub(lambda m: "." if "." in m.group(1) else "", text)
    return _RESUME_HINT.sub(
        lambda m: f"{m.group(1)}the run is kept: continue it with"
                  f" `ca --yes --cwd {kept} run --resume {m.group(2)}`", text)  # fmt: skip


def _cost(metrics: dict[str, Any] | None) -> dict[str, Any]:
    from code_assistant.bench.runners import RECOVERY_KEYS

    metrics = metrics or {}
    return {
        "model_calls": metrics.get("model_calls", 0),
        "tool_calls": metrics.get("tool_calls", 0),
        "prompt_tokens": metrics.get("prompt_tokens", 0),
        "completion_tokens": metrics.get("completion_tokens", 0),
        "recoveries": metrics.get("recoveries") or dict.fromkeys(RECOVERY_KEYS, 0),
        "stop_reason": metrics.get("stop_reason", ""),
        "final_text": metrics.get("final_text", ""),
    }


def run_suite(
    loaded: App,
    suite: Path,
    options: BenchOptions,
    out: Path,
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
) -> dict[str, Any]:
    """Every task x runner x sample, each in its own workspace; the results as JSON data."""
    tasks = discover_tasks(suite)
    options.env = child_env(loaded, options.env)
    jobs = [Job(task, runner, sample) for task in tasks for runner in options.runners
            for sample in range(1, options.samples + 1)]
    started = time.time()
    results, interrupted = run_in_lanes(
        jobs, lambda job: job.runner.concurrent,
        lambda job, stop: run_job(job, options, out, stop), options.jobs, on_result,
    )
    return {
        "kind": "suite",
        "version": RESULTS_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 3),
        "suite": str(suite.resolve()),
        "suite_name": suite.resolve().name,
        "tasks": [{"name": t.name, "path": str(t.path), "heldout": str(t.heldout or "")}
                  for t in tasks],
        "runners": [r.to_dict() for r in options.runners],
        "options": {"samples": options.samples, "jobs": options.jobs,
                    "timeout": options.timeout, "test_timeout": options.test_timeout},
        "interrupted": interrupted,
        "results": [r for r in results if r is not None],
    }
