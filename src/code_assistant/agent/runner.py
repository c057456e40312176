"""run_persona: the one way the task mode, the REPL and the pipeline run a persona's agent."""

from __future__ import annotations

from dataclasses import replace

from code_assistant.agent.draft import Draft
from code_assistant.agent.events import OnEvent, Transcript
from code_assistant.agent.personas import Persona
from code_assistant.agent.verify import Verifier
from code_assistant.app import App
from code_assistant.backends.base import Backend, Message
from code_assistant.feedback.capture import FeedbackRecorder, tee
from code_assistant.tools.registry import ToolContext, ToolRegistry
from code_assistant.workspace import make_agent, system_prompt


def run_persona(
    loaded: App,
    backend: Backend,
    persona: Persona,
    ctx: ToolContext,
    task: str,
    on_event: OnEvent,
    *,
    prompt: str | None = None,
    messages: list[Message] | None = None,
    tools: ToolRegistry | None = None,
    max_steps: int | None = None,
    stream: bool = True,
    verifier: Verifier | None = None,
    temperature: float | None = None,
    draft: Draft | None = None,
) -> Transcript:
    """Run `persona`'s agent on `task` with the tools in `ctx`; its recoveries are recorded as
    feedback pairs (flushed however the run ends). The messages are the persona's system
    prompt (lessons picked by `task`) and `prompt` (default: the task); a caller with more
    context (the REPL: pins, history) passes its own `messages`, which the loop appends to.
    `temperature` overrides the configured one for this run (a fresh start samples hotter);
    `draft` makes the first answer whole files (draft.py)."""
    model = persona.model(loaded.config)
    recorder = FeedbackRecorder(loaded, persona, model, task)
    agent = make_agent(loaded, backend, persona, ctx, tee(on_event, recorder), tools=tools,
                       max_steps=max_steps, stream=stream)
    agent.verifier = verifier
    agent.draft = draft
    if temperature is not None:
        agent.options = replace(agent.options, temperature=temperature)
    if messages is None:
        system = system_prompt(persona, loaded, task=task)
        messages = [Message("system", system), Message("user", task if prompt is None else prompt)]
    try:
        transcript: Transcript = agent.run(messages)
    finally:
        recorder.flush()
    return transcript
