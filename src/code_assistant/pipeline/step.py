"""One attempt at a phase (Step), and the work the phases and best-of-n both run on a Step:
a persona's agent, the implementer's build, the tester's tests and the reviewer's findings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.agent.events import Event, ToolCallEvent, Transcript
from code_assistant.agent.personas import IMPLEMENTER, REVIEWER, TESTER, Persona, task_prompt
from code_assistant.agent.runner import run_persona
from code_assistant.agent.structured import structured_chat
from code_assistant.backends.base import ChatResult, Message
from code_assistant.pipeline.ask import architect_answer, ask_architect
from code_assistant.pipeline.runtime import Runtime
from code_assistant.pipeline.state import Finding, Review, RunState
from code_assistant.pipeline.testrunner import detect_test_command
from code_assistant.tools.registry import ToolContext
from code_assistant.workspace import build_context, build_registry, chat_options

REVIEW_FILE_LINES = 400
# Personas that may ask the architect about decisions its plan leaves open.
ASKERS = frozenset({"implementer", "fixer"})


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
        if isinstance(event, ToolCallEvent):
            self.tool_calls += 1
        self.rt.progress.agent(self.name, event)


def open_step(rt: Runtime, name: str, root: Path | None = None) -> Step:
    """A Step whose tools work in `root` (default: the project; best-of-n passes a copy)."""
    ctx = build_context(rt.loaded, ask=rt.ask)
    if root is not None:
        ctx.root = root
    return Step(rt, name, ctx)


def run_agent(
    step: Step, state: RunState, persona: Persona, task: str, max_steps: int | None = None
) -> str:
    """Run one persona's agent loop on `task` in the step's root; its final text."""
    rt = step.rt
    model = persona.model(rt.loaded.config)
    rt.use_model(state, model, step.name)
    tools = build_registry(rt.loaded, persona.tools)
    if persona.name in ASKERS:
        tools.add(ask_architect)
        step.ctx.ask_architect = lambda q: architect_answer(rt, state, step.name, q)
    loaded = dataclasses.replace(rt.loaded, root=step.root)
    # Recoveries in unattended runs teach later sessions too (run_persona records them).
    transcript = run_persona(loaded, rt.backend, persona, step.ctx, task, step.on_event,
                             tools=tools, max_steps=max_steps, stream=False)
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


def requirement(state: RunState) -> str:
    """The requirement and the architect's plan, as every persona's task starts."""
    plan = state.plan.to_markdown() if state.plan else ""
    return f"# Requirement\n{state.requirement.strip()}\n\n{plan}".strip()


def implement_work(step: Step, state: RunState) -> str:
    """The implementer builds the plan in step.root: the seam for best-of-n on workspace copies."""
    complex_plan = state.plan is not None and state.plan.intent == "complex"
    budget = step.rt.loaded.config.max_steps * (2 if complex_plan else 1)
    task = task_prompt("implement", requirement=requirement(state))
    return run_agent(step, state, IMPLEMENTER, task, max_steps=budget)


def write_tests(step: Step, state: RunState) -> None:
    command = detect_test_command(step.root, step.rt.loaded.config.test_command)
    runner = f"`{command}`" if command else "the project's usual test runner"
    files = ", ".join(state.files_touched) or "(see the project)"
    task = task_prompt("tests", requirement=requirement(state), files=files, runner=runner)
    run_agent(step, state, TESTER, task)
    state.tests_written = True


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
    rt = step.rt
    files = [p for p in state.files_touched if (step.root / p).is_file()]
    if not files:
        state.phases[step.name].status = "skipped"
        state.phases[step.name].note = "no files were written"
        return state
    config = rt.loaded.config
    model = REVIEWER.model(config)
    rt.use_model(state, model, step.name)
    budget = max(2000, config.num_ctx * 2 // max(1, len(files)))
    listing = "\n\n".join(_numbered(step.root, rel, budget) for rel in files)
    messages = [
        Message("system", REVIEWER.prompt),
        Message("user", task_prompt("review", requirement=requirement(state), listing=listing)),
    ]
    calls: list[ChatResult] = []
    try:
        result = structured_chat(rt.backend, model, messages, Review, chat_options(config),
                                 calls=calls)
    finally:
        rt.store.append_transcript(state.id, step.name, {"persona": REVIEWER.name, "model": model,
                                                         "replies": [c.text for c in calls]})
    state.findings = result.findings
    rt.progress.pipeline("findings", counts=severity_counts(result.findings))
    return state


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for finding in findings:
        counts[finding.severity] += 1
    return counts
