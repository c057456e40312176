"""The pipeline's phases, each a small function (Step, RunState) -> RunState."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from code_assistant.agent.architect import make_plan
from code_assistant.agent.personas import (
    ARCHITECT,
    DOCS,
    FIXER,
    IMPLEMENTER,
    REVIEWER,
    TESTER,
    Persona,
    task_prompt,
)
from code_assistant.backends.base import ChatResult
from code_assistant.pipeline.samples import best_of_n
from code_assistant.pipeline.state import PHASES, RunState, TestRound
from code_assistant.pipeline.step import (
    Step,
    implement_work,
    requirement,
    review,
    run_agent,
    write_tests,
)
from code_assistant.pipeline.testrunner import detect_test_command, failure_tail, run_tests
from code_assistant.tools.paths import walk_files
from code_assistant.workspace import chat_options

# The persona whose model each phase loads (the architect and reviewer chat without tools).
PHASE_PERSONAS: dict[str, Persona] = {
    "architect": ARCHITECT,
    "implement": IMPLEMENTER,
    "review": REVIEWER,
    "fix": FIXER,
    "test": TESTER,
    "docs": DOCS,
}
PHASE_MODEL_KEYS = {phase: persona.model_key for phase, persona in PHASE_PERSONAS.items()}
PROJECT_LISTING = 200


# --- architect ------------------------------------------------------------------------------


def architect(step: Step, state: RunState) -> RunState:
    """Classify and plan the requirement; a question is answered and the other phases skipped."""
    rt = step.rt
    model = ARCHITECT.model(rt.loaded.config)
    rt.use_model(state, model, step.name)
    files = list(itertools.islice(walk_files(step.root), PROJECT_LISTING))
    calls: list[ChatResult] = []
    try:
        options = chat_options(rt.loaded.config)
        plan = make_plan(rt.backend, model, state.requirement, files, options, calls)
    finally:
        rt.store.append_transcript(
            state.id, step.name, {"persona": ARCHITECT.name, "model": model,
                                  "replies": [c.text for c in calls]},
        )
    state.plan = plan
    rt.progress.pipeline("plan", intent=plan.intent, summary=plan.summary,
                         files=[f.path for f in plan.files], criteria=plan.acceptance_criteria)
    if plan.intent == "conversational":
        for name in PHASES[1:]:
            state.phases[name].status = "skipped"
            state.phases[name].note = "the requirement is a question: the architect answered it"
    return state


# --- implement ------------------------------------------------------------------------------


def implement(step: Step, state: RunState) -> RunState:
    if step.rt.loaded.config.implementer_samples > 1:
        return best_of_n(step, state)
    implement_work(step, state)
    return state


# --- fix (step.py reviews: best-of-n reviews its leading samples too) --------------------------


def fix(step: Step, state: RunState) -> RunState:
    """The implementer fixes the HIGH and MEDIUM findings; nothing to do: skipped."""
    serious = [f for f in state.findings if f.severity in ("HIGH", "MEDIUM")]
    if not serious:
        state.phases[step.name].status = "skipped"
        state.phases[step.name].note = "no HIGH or MEDIUM findings"
        return state
    items = []
    for n, finding in enumerate(serious, 1):
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        hint = f" Suggested fix: {finding.suggestion}" if finding.suggestion else ""
        items.append(f"{n}. [{finding.severity}] {where}: {finding.message}{hint}")
    task = task_prompt("fix_findings", requirement=requirement(state), findings="\n".join(items))
    run_agent(step, state, FIXER, task)
    return state


# --- test -----------------------------------------------------------------------------------


def _fix_failures(step: Step, state: RunState, last: TestRound) -> None:
    task = task_prompt(
        "fix_tests", requirement=requirement(state), round=last.round,
        rounds=step.rt.loaded.config.test_rounds, command=last.command, exit_code=last.exit_code,
        failed=last.failed, errors=last.errors, passed=last.passed, tail=last.tail,
    )
    run_agent(step, state, FIXER, task)


def testing(step: Step, state: RunState) -> RunState:
    """Tester writes tests once; then up to test_rounds runs, each failure fed back to a fix."""
    rt = step.rt
    if not state.tests_written:
        write_tests(step, state)
        rt.store.save(state)
    state.test_command = detect_test_command(step.root, rt.loaded.config.test_command)
    if not state.test_command:
        state.phases[step.name].note = "no test runner found (set test_command)"
        return state
    while len(state.test_rounds) < rt.loaded.config.test_rounds:
        result = run_tests(step.root, state.test_command, rt.loaded.config.shell_timeout * 5)
        counts = result.counts
        current = TestRound(
            round=len(state.test_rounds) + 1, command=result.command, exit_code=result.exit_code,
            collected=counts.collected, passed=counts.passed, failed=counts.failed,
            errors=counts.errors, skipped=counts.skipped, seconds=round(result.seconds, 3),
            tail=failure_tail(result.output),
        )
        state.test_rounds.append(current)
        rt.progress.pipeline("test_round", **current.model_dump(exclude={"tail"}), ok=current.ok)
        rt.store.save(state)
        if current.ok or current.round >= rt.loaded.config.test_rounds:
            break
        _fix_failures(step, state, current)
        current.fixed = True
        rt.store.save(state)
    return state


def drop_unfixed_round(state: RunState, rounds: int) -> None:
    """On resume: a failed round whose fix never ran is run again rather than left unfixed."""
    if state.test_rounds:
        last = state.test_rounds[-1]
        if not last.ok and not last.fixed and last.round < rounds:
            state.test_rounds.pop()


# --- docs -----------------------------------------------------------------------------------


def docs(step: Step, state: RunState) -> RunState:
    tests = f"`{state.test_command}`" if state.test_command else "(no test command)"
    files = ", ".join(state.files_touched) or "none"
    task = task_prompt("docs", requirement=requirement(state), files=files, tests=tests)
    run_agent(step, state, DOCS, task)
    return state


PHASE_FUNCTIONS: dict[str, Callable[[Step, RunState], RunState]] = {
    "architect": architect,
    "implement": implement,
    "review": review,
    "fix": fix,
    "test": testing,
    "docs": docs,
}
