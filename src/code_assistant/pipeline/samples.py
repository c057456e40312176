"""Best-of-n implementing: N implementer attempts in workspace copies, scored by the tests."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from code_assistant.errors import CAError, Cancelled
from code_assistant.fileio import atomic_write
from code_assistant.pipeline.checkpoint import checked, git, is_git_repo, snapshot
from code_assistant.pipeline.runtime import Meter, MeteredBackend, Runtime
from code_assistant.pipeline.state import RunState, SampleScore
from code_assistant.pipeline.step import Step, implement_work, open_step, review, write_tests
from code_assistant.pipeline.testrunner import detect_test_command, run_tests
from code_assistant.tools.registry import Change

# Linked into each copy rather than copied: big, and the copy's tests need them.
DEPENDENCY_DIRS = ("node_modules", ".venv", "venv")
# Never part of a sample's work: caches its test runs leave, the run's own files, git's link.
SCRATCH_NAMES = frozenset({".git", ".ca", "__pycache__", ".pytest_cache", ".mypy_cache",
                           ".ruff_cache", *DEPENDENCY_DIRS})
# Remote servers serve requests in parallel; a local model answers one at a time anyway.
CONCURRENT_BACKENDS = frozenset({"openai", "anthropic"})


@dataclass
class Sample:
    """One attempt: its copy, the copy's files when made, its agent step and its score."""

    root: Path
    before: dict[str, str]
    score: SampleScore
    step: Step | None = None
    meter: Meter = field(default_factory=Meter)
    changes: list[Change] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"implement.sample-{self.score.sample}"


def manifest(root: Path) -> dict[str, str]:
    """Project-relative path -> content hash of every file a sample's work can consist of."""
    from code_assistant.tools.paths import walk_files

    files = {}
    for rel in walk_files(root):
        path = root / rel
        if SCRATCH_NAMES.intersection(rel.split("/")) or path.is_dir():
            continue  # path.is_dir(): a linked dependency directory
        try:
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
    return files


def changes_between(base: Path, copy: Path, before: dict[str, str]) -> list[Change]:
    """What happened in `copy` since its files were `before`; old contents come from `base`."""
    after = manifest(copy)
    changes = []
    for rel in sorted(before.keys() | after.keys()):
        if before.get(rel) == after.get(rel):
            continue
        old = (base / rel).read_bytes() if rel in before and (base / rel).is_file() else None
        new = (copy / rel).read_bytes() if rel in after else None
        changes.append(Change(rel, old, new))
    return changes


def adopt(root: Path, copy: Path, changes: list[Change]) -> None:
    """Apply a sample's changes to the workspace: written atomically, with the copy's modes."""
    for change in changes:
        target = root / change.path
        if change.after is None:
            target.unlink(missing_ok=True)
            continue
        try:
            atomic_write(target, change.after)
        except OSError as exc:
            reason = f"could not write {change.path}: {exc.strerror or exc}"
            raise CAError(f"cannot keep the best sample: {reason}") from None
        os.chmod(target, stat.S_IMODE((copy / change.path).stat().st_mode))


class Copies:
    """Workspace copies: git worktrees of a snapshot in a git repo, else plain temp copies."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = root
        self.ref = f"refs/ca/runs/{run_id}/samples"
        self.commit = ""
        self.base = Path()

    def __enter__(self) -> Copies:
        if is_git_repo(self.root):  # a snapshot holds uncommitted work; HEAD may lack it
            self.commit = snapshot(self.root, "ca: base of the implementer samples", self.ref)
        self.base = Path(tempfile.mkdtemp(prefix="ca-samples-"))
        return self

    def make(self, number: int) -> Path:
        path = self.base / f"sample-{number}"
        if self.commit:
            added = git(self.root, "worktree", "add", "--detach", str(path), self.commit)
            checked(added, "worktree add")
        else:
            ignore = shutil.ignore_patterns(".git", ".ca", "__pycache__", *DEPENDENCY_DIRS)
            shutil.copytree(self.root, path, symlinks=True, ignore=ignore)
        for name in DEPENDENCY_DIRS:
            if (self.root / name).is_dir() and not (path / name).exists():
                (path / name).symlink_to(self.root / name, target_is_directory=True)
        return path

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # rmtree unlinks the dependency links without entering them; prune forgets worktrees.
        shutil.rmtree(self.base, ignore_errors=True)
        if self.commit:
            git(self.root, "worktree", "prune")
            git(self.root, "update-ref", "-d", self.ref)


def best_of_n(step: Step, state: RunState) -> RunState:
    """Implement N times in copies, score each with the tests, keep the best in the workspace.

    The tester writes its acceptance tests first (unless it already has), so that the tests
    that score the samples are the ones the test phase runs later.
    """
    rt = step.rt
    if not state.tests_written:
        write_tests(step, state)
        rt.store.save(state)
    protected = [c.path for c in step.ctx.changes if c.after is not None]
    command = detect_test_command(step.root, rt.loaded.config.test_command)
    state.samples = []
    with Copies(step.root, state.id) as copies:
        samples = []
        for number in range(1, rt.loaded.config.implementer_samples + 1):
            copy = copies.make(number)
            samples.append(Sample(copy, manifest(copy), SampleScore(sample=number)))
        try:
            if rt.loaded.config.backend in CONCURRENT_BACKENDS and rt.ask is None:
                _run_concurrently(rt, state, samples)
            else:
                for sample in samples:
                    _attempt(rt, state, sample)
        finally:  # the phase's numbers include interrupted samples too
            for sample in samples:
                if sample.step is not None:
                    step.transcripts += sample.step.transcripts
                    step.tool_calls += sample.step.tool_calls
        for sample in samples:
            _score(step, sample, command, protected)
        state.samples = [s.score for s in samples]
        _review_leaders(rt, state, samples)
        winner = min(samples, key=_rank)
        if winner.score.error:
            raise CAError(f"every implementer sample failed; the first: {samples[0].score.error}")
        winner.score.kept = True
        adopt(step.root, winner.root, winner.changes)
    step.ctx.changes += winner.changes
    rt.progress.pipeline("samples_kept", sample=winner.score.sample, of=len(samples))
    return state


def _attempt(rt: Runtime, state: RunState, sample: Sample) -> None:
    """One implementer run in the sample's copy; a backend failure is this sample's score."""
    rt.progress.pipeline("sample_start", sample=sample.score.sample,
                         of=rt.loaded.config.implementer_samples)
    started = time.perf_counter()
    sample.step = open_step(rt, sample.name, root=sample.root)
    try:
        implement_work(sample.step, state)
    except Cancelled:
        raise
    except CAError as exc:
        sample.score.error = str(exc) or type(exc).__name__
    finally:
        sample.score.seconds = round(time.perf_counter() - started, 3)


def _run_concurrently(rt: Runtime, state: RunState, samples: list[Sample]) -> None:
    """Every sample at once, each with its own meter and state copy, merged back after."""
    from concurrent.futures import ThreadPoolExecutor

    own = [(dataclasses.replace(rt, backend=MeteredBackend(rt.backend.inner)),
            state.model_copy(deep=True), sample) for sample in samples]
    pool = ThreadPoolExecutor(max_workers=len(samples))
    try:
        for future in [pool.submit(_attempt, *args) for args in own]:
            future.result()
    finally:
        # On Ctrl-C, do not wait for samples still talking to the model: the run closes the
        # backend on its way out, which ends their calls.
        pool.shutdown(wait=False, cancel_futures=True)
    questions, switches = len(state.questions), len(state.switches)
    for sample_rt, sample_state, _ in own:
        _add_meter(rt.backend.meter, sample_rt.backend.meter)
        state.questions += sample_state.questions[questions:]
        state.switches += sample_state.switches[switches:]
        state.loaded_model = sample_state.loaded_model


def _add_meter(total: Meter, part: Meter) -> None:
    total.model_calls += part.model_calls
    total.failed_calls += part.failed_calls
    total.prompt_tokens += part.prompt_tokens
    total.completion_tokens += part.completion_tokens
    total.models += [m for m in part.models if m not in total.models]


def _score(step: Step, sample: Sample, command: str, protected: list[str]) -> None:
    """Run the tests in the copy, with the tester's files as the tester wrote them."""
    for rel in protected:  # a sample must not pass by editing the tests
        (sample.root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(step.root / rel, sample.root / rel)
    score = sample.score
    if command and not score.error:
        result = run_tests(sample.root, command, step.rt.loaded.config.shell_timeout * 5)
        counts = result.counts
        score.exit_code = result.exit_code
        score.passed, score.failed, score.errors = counts.passed, counts.failed, counts.errors
    from code_assistant.render import diffstat

    sample.changes = changes_between(step.root, sample.root, sample.before)
    stats = diffstat(sample.changes)
    score.files = [path for path, _, _ in stats]
    score.diff_lines = sum(added + removed for _, added, removed in stats)
    step.rt.progress.pipeline("sample_score", **score.model_dump(exclude={"files", "kept"}))


def _review_leaders(rt: Runtime, state: RunState, samples: list[Sample]) -> None:
    """The reviewer breaks a tie on tests: only samples sharing the most passed tests are read."""
    scored = [s for s in samples if not s.score.error and s.changes]
    top = max((s.score.passed for s in scored), default=0)
    leaders = [s for s in scored if s.score.passed == top]
    if len(leaders) < 2:
        return
    for sample in leaders:
        scratch = state.model_copy(deep=True)
        scratch.files_touched = [c.path for c in sample.changes if c.after is not None]
        if scratch.files_touched:
            review(open_step(rt, sample.name, root=sample.root), scratch)
        state.loaded_model, state.switches = scratch.loaded_model, scratch.switches
        sample.score.findings = len(scratch.findings) if scratch.files_touched else 0
        rt.progress.pipeline("sample_review", sample=sample.score.sample,
                             findings=sample.score.findings)


def _rank(sample: Sample) -> tuple[bool, int, bool, int, int, int]:
    """Lower is better: no error, most tests passed, did something, fewest findings, least diff."""
    score = sample.score
    return (bool(score.error), -score.passed, not sample.changes, score.findings or 0,
            score.diff_lines, score.sample)
