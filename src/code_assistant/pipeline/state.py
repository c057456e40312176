"""A pipeline run's state (.ca/runs/<id>/state.json): phases, plan, findings, tests, metrics."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from code_assistant.agent.architect import Plan
from code_assistant.config import ensure_ignored_dir
from code_assistant.errors import CAError, UsageError
from code_assistant.fileio import atomic_write

PHASES = ("architect", "implement", "review", "fix", "test", "docs")
PhaseStatus = Literal["pending", "running", "done", "skipped", "failed"]
RunStatus = Literal["running", "done", "failed", "interrupted"]
Severity = Literal["HIGH", "MEDIUM", "LOW"]
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RUNS_DIR = Path(".ca") / "runs"


class Finding(BaseModel):
    """One problem the reviewer found."""

    severity: Severity
    file: str
    line: int | None = None
    message: str
    suggestion: str = ""

    @field_validator("severity", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class Review(BaseModel):
    findings: list[Finding] = Field(default_factory=list)


class TestRound(BaseModel):
    """One run of the project's test command, and whether a fix followed it."""

    __test__ = False  # not a pytest test class, despite the name

    round: int
    command: str
    exit_code: int
    collected: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    tail: str = ""
    fixed: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failed == 0 and self.errors == 0


class Question(BaseModel):
    """A question the implementer asked the architect, with its answer."""

    phase: str
    question: str
    answer: str
    seconds: float = 0.0


class PhaseRecord(BaseModel):
    """What one phase did, summed over its attempts (a resumed phase runs again)."""

    name: str
    status: PhaseStatus = "pending"
    models: list[str] = Field(default_factory=list)
    attempts: int = 0
    seconds: float = 0.0
    model_calls: int = 0
    failed_calls: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    recoveries: dict[str, int] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)
    lines_added: int = 0
    lines_removed: int = 0
    syntax_errors: list[str] = Field(default_factory=list)
    checkpoint: str = ""
    note: str = ""
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.status in ("done", "skipped")


class SampleScore(BaseModel):
    """One best-of-n implementer attempt, scored in its own copy of the workspace."""

    sample: int
    passed: int = 0
    failed: int = 0
    errors: int = 0
    exit_code: int | None = None  # None: no test command was found
    findings: int | None = None  # None: not reviewed (only samples tied on tests are)
    diff_lines: int = 0
    files: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    kept: bool = False
    error: str = ""


class ModelSwitch(BaseModel):
    unloaded: str
    loading: str
    phase: str


class RunState(BaseModel):
    """Everything needed to report on a run and to resume it at its first unfinished phase."""

    version: int = 1
    id: str
    root: str
    requirement_path: str
    requirement: str
    status: RunStatus = "running"
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    current_phase: str = ""
    plan: Plan | None = None
    findings: list[Finding] = Field(default_factory=list)
    test_command: str = ""
    tests_written: bool = False
    test_rounds: list[TestRound] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
    files_touched: list[str] = Field(default_factory=list)
    loaded_model: str = ""  # the model this run last used, unloaded before a different one
    switches: list[ModelSwitch] = Field(default_factory=list)
    samples: list[SampleScore] = Field(default_factory=list)  # best-of-n implementer attempts
    checkpoints: dict[str, str] = Field(default_factory=dict)  # "start" or phase -> commit
    phases: dict[str, PhaseRecord] = Field(
        default_factory=lambda: {name: PhaseRecord(name=name) for name in PHASES}
    )
    resumes: int = 0
    error: str = ""

    def next_phase(self) -> str | None:
        """The first phase not done or skipped; None when the run is complete."""
        return next((n for n in PHASES if not self.phases[n].finished), None)

    @property
    def tests_passed(self) -> bool | None:
        """Whether the last test round passed; None when no tests ran."""
        return self.test_rounds[-1].ok if self.test_rounds else None

    def touch(self, paths: list[str]) -> None:
        for path in paths:
            if path not in self.files_touched:
                self.files_touched.append(path)


def new_run_id(now: float | None = None) -> str:
    """Sortable and unique: 20260101-120000-3f9a."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now or time.time()))
    return f"{stamp}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """A run id names a directory under .ca/runs: no separators, no dot-dot, no surprises."""
    if not RUN_ID.match(run_id) or ".." in run_id:
        raise UsageError(f"invalid run id {run_id!r} (see `ca runs` for the ids)")
    return run_id


class RunStore:
    """The runs of one project: .ca/runs/<id>/{state.json, transcripts/, report.*}."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / RUNS_DIR

    def run_dir(self, run_id: str) -> Path:
        return self.dir / check_run_id(run_id)

    def save(self, state: RunState) -> None:
        state.updated_at = time.time()
        self.write(state.id, "state.json", state.model_dump_json(indent=2))

    def write(self, run_id: str, name: str, text: str) -> Path:
        """Write a run file atomically, so a crash never leaves half a state.json."""
        ensure_ignored_dir(self.dir)
        path = self.run_dir(run_id) / name
        try:
            atomic_write(path, text)
        except OSError as exc:
            raise CAError(f"could not write {path}: {exc.strerror or exc}") from None
        return path

    def append_transcript(self, run_id: str, phase: str, record: dict[str, Any]) -> None:
        from code_assistant.redact import redact_data, secret_values

        record = redact_data(record, secret_values())  # tool output can quote .env files
        directory = self.run_dir(run_id) / "transcripts"
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / f"{phase}.jsonl").open("a", encoding="utf-8") as file:
            file.write(json.dumps(record, default=str) + "\n")

    def load(self, run_id: str) -> RunState:
        path = self.run_dir(run_id) / "state.json"
        try:
            data = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"no run {run_id!r} in {self.dir} (see `ca runs`)") from None
        except OSError as exc:
            raise CAError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return RunState.model_validate_json(data)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise CAError(f"{path} is damaged ({reason}); start a new run") from None

    def list(self) -> list[RunState]:
        """Every readable run, oldest first (run ids sort by time)."""
        if not self.dir.is_dir():
            return []
        runs = []
        for entry in sorted(self.dir.iterdir()):
            if RUN_ID.match(entry.name) and (entry / "state.json").is_file():
                try:
                    runs.append(self.load(entry.name))
                except CAError:
                    continue  # one damaged run must not hide the others
        return runs

    def latest_unfinished(self) -> RunState | None:
        pending = [run for run in self.list() if run.status != "done"]
        return pending[-1] if pending else None
