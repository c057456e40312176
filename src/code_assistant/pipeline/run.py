"""Orchestration: start or resume a run, one phase after another, saved and checkpointed."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from code_assistant.app import App
from code_assistant.errors import BackendUnavailable, CAError, Cancelled, ModelNotFound, UsageError
from code_assistant.pipeline.checkpoint import checkpoint
from code_assistant.pipeline.checks import syntax_errors
from code_assistant.pipeline.phases import PHASE_FUNCTIONS, PHASE_MODEL_KEYS, drop_unfixed_round
from code_assistant.pipeline.report import write_report
from code_assistant.pipeline.runtime import Meter, MeteredBackend, Progress, Runtime
from code_assistant.pipeline.state import PhaseRecord, RunState, RunStatus, RunStore, new_run_id
from code_assistant.pipeline.step import Step, open_step

if TYPE_CHECKING:
    from code_assistant.tools.approval import AskFn


MAX_REQUIREMENT_BYTES = 200_000


def read_requirement(path_text: str, base: Path) -> tuple[Path, str]:
    """The requirement file's text; a missing, empty, binary or huge file is a UsageError."""
    path = Path(path_text).expanduser()
    path = path if path.is_absolute() else base / path
    shown = repr(path_text)
    if not path.exists():
        raise UsageError(f"requirement file {shown} not found")
    if path.is_dir():
        raise UsageError(f"{shown} is a directory; give the requirement file, e.g. REQ.md")
    if not path.is_file():  # a FIFO or a device would block (or never end) the read
        raise UsageError(f"{shown} is not a regular file; give the requirement file, e.g. REQ.md")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read requirement file {shown}: {exc.strerror or exc}") from None
    if len(data) > MAX_REQUIREMENT_BYTES:
        raise UsageError(
            f"requirement file {shown} is too large ({len(data):,} bytes; at most "
            f"{MAX_REQUIREMENT_BYTES:,}): a small model cannot read it whole"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = ""
        if data.strip():
            raise UsageError(f"requirement file {shown} is binary, not UTF-8 text") from None
    if "\0" in text:
        raise UsageError(f"requirement file {shown} is binary, not UTF-8 text")
    if not text.strip():
        raise UsageError(f"requirement file {shown} is empty: write the requirement in it")
    return path, text


def start_run(loaded: App, requirement_path: str, *, base: Path, json_out: bool) -> int:
    path, text = read_requirement(requirement_path, base)
    ask = _ask(loaded, json_out)
    store = RunStore(Path(loaded.root))
    state = RunState(
        id=new_run_id(), root=str(loaded.root), requirement_path=str(path), requirement=text
    )
    store.save(state)
    return execute(loaded, store, state, ask, json_out=json_out)


def resume_run(loaded: App, run_id: str | None, *, json_out: bool) -> int:
    """Continue a run at its first unfinished phase (the latest unfinished run by default)."""
    store = RunStore(Path(loaded.root))
    state = store.load(run_id) if run_id else store.latest_unfinished()
    if state is None:
        raise UsageError(f"no unfinished run to resume in {store.dir} (see `ca runs`)")
    if state.status == "done":
        raise UsageError(
            f"run {state.id} is finished; its report is {store.run_dir(state.id) / 'report.md'}"
        )
    ask = _ask(loaded, json_out)
    state.resumes += 1
    state.status, state.error = "running", ""
    drop_unfixed_round(state, loaded.config.test_rounds)
    store.save(state)
    return execute(loaded, store, state, ask, json_out=json_out, resumed=True)


def _progress(loaded: App, json_out: bool) -> Progress:
    from code_assistant.pipeline.progress import ConsoleProgress, JsonProgress

    if json_out:
        return JsonProgress()
    # An approval prompt cannot share the terminal with a live status line.
    return ConsoleProgress(live=loaded.config.approval != "ask")


def _ask(loaded: App, json_out: bool) -> AskFn | None:
    """The approval prompt, or None when the policy needs none; unattended runs need --yes."""
    if loaded.config.approval != "ask":
        return None
    if json_out or not sys.stdin.isatty():
        raise UsageError(
            "ca run works unattended: pass --yes (or set approval = \"auto\") so it can write "
            "files and run commands"
        )
    from code_assistant.render import ConsoleRenderer

    return ConsoleRenderer().ask


def execute(
    loaded: App,
    store: RunStore,
    state: RunState,
    ask: AskFn | None,
    *,
    json_out: bool,
    resumed: bool = False,
) -> int:
    """Run every unfinished phase; save the state and report however the run ends."""
    from code_assistant.backends import get_backend

    progress = _progress(loaded, json_out)
    rt = Runtime(loaded, MeteredBackend(get_backend(loaded.config)), store, progress, ask)
    try:
        return _execute(rt, state, resumed)
    finally:
        rt.backend.close()


def _execute(rt: Runtime, state: RunState, resumed: bool) -> int:
    store, progress = rt.store, rt.progress
    with progress:
        progress.pipeline("run_start", run_id=state.id, resumed=resumed,
                          phase=state.next_phase(), run_dir=str(store.run_dir(state.id)))
        if "start" not in state.checkpoints:
            state.checkpoints["start"] = checkpoint(
                rt.loaded.root, rt.loaded.config.checkpoint, state.id, "start"
            )
        try:
            drive(rt, state)
        except KeyboardInterrupt:
            _stop(rt, state, "interrupted", "interrupted by the user")
            raise Cancelled(f"run {state.id} interrupted in phase {state.current_phase}; "
                            f"{_resume_hint(state)}") from None
        except CAError as exc:
            _stop(rt, state, "failed", str(exc))
            # "Cannot reach" keeps its class, so --json's error kind tells `ca bench` (and any
            # script) a run that never reached its model from one whose model failed.
            kind = type(exc) if isinstance(exc, (BackendUnavailable, ModelNotFound)) else CAError
            stopped = kind(f"phase {state.current_phase} failed: {exc}. {_resume_hint(state)}")
            stopped.exit_code = exc.exit_code
            raise stopped from None
        except BaseException:  # a bug: the traceback shows, the run stays resumable
            _stop(rt, state, "failed", "internal error")
            raise
        report = write_report(store, state)
        progress.pipeline("run_end", run_id=state.id, status=state.status, report=str(report),
                          tests_passed=state.tests_passed, hint=_final_note(state))
        # --json's final event (docs/json.md); a failed run ends with an `error` event instead.
        progress.pipeline("result", command="run", run_id=state.id, status=state.status,
                          tests_passed=state.tests_passed, report=str(report))
    return 1 if state.tests_passed is False else 0


def _resume_hint(state: RunState) -> str:
    return f"the run is saved: continue it with `ca run --resume {state.id}`"


def _final_note(state: RunState) -> str:
    if state.plan and state.plan.intent == "conversational":
        return state.plan.answer
    if state.tests_passed is False:
        return f"tests still fail after {len(state.test_rounds)} rounds"
    return ""


def _stop(rt: Runtime, state: RunState, status: RunStatus, error: str) -> None:
    state.status = status
    state.error = error
    rt.store.save(state)
    report = write_report(rt.store, state)
    rt.progress.pipeline("run_end", run_id=state.id, status=status, report=str(report),
                         tests_passed=state.tests_passed, hint=_resume_hint(state))


def drive(rt: Runtime, state: RunState) -> RunState:
    """Each unfinished phase in order; a phase that raises leaves the run resumable there."""
    while (name := state.next_phase()) is not None:
        state = run_phase(rt, state, name)
    state.status = "done"
    state.current_phase = ""
    rt.store.save(state)
    return state


def run_phase(rt: Runtime, state: RunState, name: str) -> RunState:
    """One phase attempt: metered, timed, syntax-checked, saved, then checkpointed."""
    record = state.phases[name]
    record.status, record.error = "running", ""
    record.attempts += 1
    state.current_phase = name
    rt.store.save(state)
    rt.backend.meter = Meter()
    step = open_step(rt, name)
    model = getattr(rt.loaded.config, PHASE_MODEL_KEYS[name])
    rt.progress.pipeline("phase_start", phase=name, model=model, attempt=record.attempts)
    started = time.perf_counter()
    try:
        state = PHASE_FUNCTIONS[name](step, state)
    except BaseException as exc:
        record.status = "failed"
        record.error = str(exc) or type(exc).__name__
        raise
    else:
        if record.status == "running":
            record.status = "done"
    finally:
        _account(record, rt.backend.meter, step, time.perf_counter() - started)
        state.touch(record.files)
        rt.store.save(state)
        write_report(rt.store, state)
        rt.progress.pipeline(
            "phase_end", phase=name, status=record.status, seconds=record.seconds,
            model_calls=record.model_calls, tool_calls=record.tool_calls, note=record.note,
        )
    record.checkpoint = checkpoint(rt.loaded.root, rt.loaded.config.checkpoint, state.id, name)
    rt.store.save(state)
    return state


def _account(record: PhaseRecord, meter: Meter, step: Step, seconds: float) -> None:
    """Add this attempt's numbers to the phase record (a resumed phase accumulates)."""
    from code_assistant.render import diffstat

    record.seconds += seconds
    record.model_calls += meter.model_calls
    record.failed_calls += meter.failed_calls
    record.prompt_tokens += meter.prompt_tokens
    record.completion_tokens += meter.completion_tokens
    record.tool_calls += step.tool_calls
    record.models += [m for m in meter.models if m not in record.models]
    recoveries = Counter(record.recoveries)
    for transcript in step.transcripts:
        recoveries.update(transcript.recoveries.to_dict())
    record.recoveries = dict(recoveries)
    stats = diffstat(step.ctx.changes)
    record.files += [path for path, _, _ in stats if path not in record.files]
    record.lines_added += sum(added for _, added, _ in stats)
    record.lines_removed += sum(removed for _, _, removed in stats)
    written = [path for path, _, _ in stats]
    record.syntax_errors = syntax_errors(step.root, written) if written else record.syntax_errors
