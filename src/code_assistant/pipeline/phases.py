"""The pipeline's phases, each a small function (Step, RunState) -> RunState."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.agent.architect import make_plan
from code_assistant.agent.events import Event, Transcript
from code_assistant.agent.personas import IMPLEMENTER, IMPLEMENTER_TOOLS, Persona
from code_assistant.agent.structured import structured_chat
from code_assistant.backends.base import ChatResult, Message
from code_assistant.pipeline.ask import ANSWERER, architect_answer, ask_architect
from code_assistant.pipeline.runtime import Runtime
from code_assistant.pipeline.state import PHASES, Finding, Review, RunState, TestRound
from code_assistant.pipeline.testrunner import detect_test_command, failure_tail, run_tests
from code_assistant.tools.registry import ToolContext

REVIEWER = Persona("reviewer", "reviewer_model", "reviewer")
FIXER = Persona("fixer", "implementer_model", "fixer", IMPLEMENTER_TOOLS)
TESTER = Persona("tester", "tester_model", "tester", IMPLEMENTER_TOOLS)
DOCS = Persona("docs", "docs_model", "docs", ("read_file", "write_file", "edit_file", "list_dir",
                                              "glob_files"))
PHASE_MODEL_KEYS = {
    "architect": "architect_model",
    "implement": "implementer_model",
    "review": "reviewer_model",
    "fix": "implementer_model",
    "test": "tester_model",
    "docs": "docs_model",
}
REVIEW_FILE_LINES = 400
PROJECT_LISTING = 200


@dataclass
class Step:
    """One attempt at one phase: where its tools work and the agent runs it made."""

    rt: Runtime
    name: str
    ctx: ToolContext
    transcripts: list[Transcript] = field(default_factory=list)
    tool_calls: int = 0

    @property
    def root(self) -> Path:
        return self.ctx.root

    def on_event(self, event: Event) -> None:
        if event.kind == "tool_call":
            self.tool_calls += 1
        self.rt.progress.agent(self.name, event)


def open_step(rt: Runtime, name: str, root: Path | None = None) -> Step:
    """A Step whose tools work in `root` (default: the project; best-of-n passes a copy)."""
    from code_assistant.workspace import build_context

    ctx = build_context(rt.loaded, ask=rt.ask)
    if root is not None:
        ctx.root = root
    return Step(rt, name, ctx)


def run_agent(
    step: Step, state: RunState, persona: Persona, task: str, max_steps: int | None = None
) -> str:
    """Run one persona's agent loop on `task` in the step's root; its final text."""
    from code_assistant.feedback.capture import FeedbackRecorder, tee
    from code_assistant.workspace import build_registry, make_agent, system_prompt

    rt = step.rt
    model = persona.model(rt.config)
    rt.use_model(state, model, step.name)
    tools = build_registry(rt.loaded, persona.tools)
    if persona.name in ("implementer", "fixer"):
        tools.add(ask_architect)
        step.ctx.extras[ANSWERER] = lambda q: architect_answer(rt, state, step.name, q)
    loaded = dataclasses.replace(rt.loaded, root=step.root)
    # Recoveries in unattended runs teach later sessions too.
    recorder = FeedbackRecorder(loaded, persona, model, task)
    agent = make_agent(loaded, rt.backend, persona, step.ctx, tee(step.on_event, recorder),
                       tools=tools, max_steps=max_steps, stream=False)
    messages = [Message("system", system_prompt(persona, loaded, task=task)),
                Message("user", task)]
    try:
        transcript = agent.run(messages)
    finally:
        recorder.flush()
    step.transcripts.append(transcript)
    rt.store.append_transcript(
        state.id, step.name,
        {"persona": persona.name, "model": model, **transcript.summary(),
         "messages": [m.to_dict() for m in transcript.messages]},
    )
    if transcript.stop_reason != "done":
        rt.progress.pipeline("warning", phase=step.name,
                             message=f"{persona.name} stopped early: {transcript.stop_reason}")
    return transcript.final_text


def _requirement(state: RunState) -> str:
    plan = state.plan.to_markdown() if state.plan else ""
    return f"# Requirement\n{state.requirement.strip()}\n\n{plan}".strip()


# --- architect ------------------------------------------------------------------------------


def architect(step: Step, state: RunState) -> RunState:
    """Classify and plan the requirement; a question is answered and the other phases skipped."""
    from code_assistant.tools.paths import walk_files
    from code_assistant.workspace import chat_options

    rt = step.rt
    model = rt.config.architect_model
    rt.use_model(state, model, step.name)
    files = list(itertools.islice(walk_files(step.root), PROJECT_LISTING))
    calls: list[ChatResult] = []
    try:
        options = chat_options(rt.config)
        plan = make_plan(rt.backend, model, state.requirement, files, options, calls)
    finally:
        rt.store.append_transcript(
            state.id, step.name, {"persona": "architect", "model": model,
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


def implement_work(step: Step, state: RunState) -> str:
    """The implementer builds the plan in step.root: the seam for best-of-n on workspace copies."""
    budget = step.rt.config.max_steps * (2 if state.plan and state.plan.intent == "complex" else 1)
    task = (
        f"{_requirement(state)}\n\nBuild this now with your tools: create or change the files "
        "of the plan, then run the code to check it. If the plan leaves a decision open, ask "
        "the architect with ask_architect(question)."
    )
    return run_agent(step, state, IMPLEMENTER, task, max_steps=budget)


def implement(step: Step, state: RunState) -> RunState:
    if step.rt.config.implementer_samples > 1:
        from code_assistant.pipeline.samples import best_of_n  # it imports this module

        return best_of_n(step, state)
    implement_work(step, state)
    return state


# --- review and fix -------------------------------------------------------------------------


def _numbered(root: Path, rel: str, budget: int) -> str:
    try:
        lines = (root / rel).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return f"### {rel}\n(not readable as text)"
    shown = [f"{n:4}| {line}" for n, line in enumerate(lines[:REVIEW_FILE_LINES], 1)]
    text = "\n".join(shown)[:budget]
    more = len(lines) > REVIEW_FILE_LINES or len("\n".join(shown)) > budget
    return f"### {rel}\n{text}" + ("\n[... file cut ...]" if more else "")


def review(step: Step, state: RunState) -> RunState:
    """The reviewer reads the changed files and returns findings by severity."""
    from code_assistant.workspace import chat_options

    rt = step.rt
    files = [p for p in state.files_touched if (step.root / p).is_file()]
    if not files:
        state.phases[step.name].status = "skipped"
        state.phases[step.name].note = "no files were written"
        return state
    model = rt.config.reviewer_model
    rt.use_model(state, model, step.name)
    budget = max(2000, rt.config.num_ctx * 2 // max(1, len(files)))
    listing = "\n\n".join(_numbered(step.root, rel, budget) for rel in files)
    messages = [
        Message("system", REVIEWER.prompt),
        Message("user", f"{_requirement(state)}\n\n# Files to review\n{listing}"),
    ]
    calls: list[ChatResult] = []
    try:
        result = structured_chat(rt.backend, model, messages, Review, chat_options(rt.config),
                                 calls=calls)
    finally:
        rt.store.append_transcript(state.id, step.name, {"persona": "reviewer", "model": model,
                                                         "replies": [c.text for c in calls]})
    state.findings = result.findings
    rt.progress.pipeline("findings", counts=severity_counts(result.findings))
    return state


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for finding in findings:
        counts[finding.severity] += 1
    return counts


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
    task = (
        f"{_requirement(state)}\n\n# Review findings to fix\nThe reviewer found these problems "
        "in the code you wrote. Fix each of them:\n" + "\n".join(items)
    )
    run_agent(step, state, FIXER, task)
    return state


# --- test -----------------------------------------------------------------------------------


def write_tests(step: Step, state: RunState) -> None:
    command = detect_test_command(step.root, step.rt.config.test_command)
    runner = f"`{command}`" if command else "the project's usual test runner"
    task = (
        f"{_requirement(state)}\n\nFiles of the implementation: "
        f"{', '.join(state.files_touched) or '(see the project)'}.\n"
        f"The tests will be run with {runner}. Write the tests for the acceptance criteria now."
    )
    run_agent(step, state, TESTER, task)
    state.tests_written = True


def _fix_failures(step: Step, state: RunState, last: TestRound) -> None:
    task = (
        f"{_requirement(state)}\n\n# Failing tests\nThe tests fail (round {last.round} of "
        f"{step.rt.config.test_rounds}): `{last.command}` exited {last.exit_code} with "
        f"{last.failed} failed, {last.errors} errors, {last.passed} passed. "
        f"The end of its output:\n```\n{last.tail}\n```\nFix the code so these tests pass."
    )
    run_agent(step, state, FIXER, task)


def testing(step: Step, state: RunState) -> RunState:
    """Tester writes tests once; then up to test_rounds runs, each failure fed back to a fix."""
    rt = step.rt
    if not state.tests_written:
        write_tests(step, state)
        rt.store.save(state)
    state.test_command = detect_test_command(step.root, rt.config.test_command)
    if not state.test_command:
        state.phases[step.name].note = "no test runner found (set test_command)"
        return state
    while len(state.test_rounds) < rt.config.test_rounds:
        result = run_tests(step.root, state.test_command, rt.config.shell_timeout * 5)
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
        if current.ok or current.round >= rt.config.test_rounds:
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
    task = (
        f"{_requirement(state)}\n\nFiles written: {', '.join(state.files_touched) or 'none'}.\n"
        f"Tests run with {tests}.\nWrite or update README.md with usage for this work now."
    )
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
