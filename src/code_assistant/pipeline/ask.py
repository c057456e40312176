"""ask_architect: the implementer asks the architect a question mid-phase (pipeline mode only)."""

from __future__ import annotations

import time

from code_assistant.agent.personas import load_prompt
from code_assistant.backends.base import Message
from code_assistant.errors import ToolError
from code_assistant.pipeline.runtime import Runtime
from code_assistant.pipeline.state import Question, RunState
from code_assistant.tools.registry import ToolContext, tool

ANSWER_MODE = (
    "The implementer building your plan asks you a question. Answer it in plain text, in at most "
    "a few sentences, as a decision the implementer can act on. No JSON."
)


@tool(kind="read")
def ask_architect(ctx: ToolContext, question: str) -> str:
    """Ask the architect who wrote the plan a question, when the plan leaves a decision open.

    Use it sparingly, for decisions the requirement and plan do not settle (an API shape, an
    error behaviour); not for things you can find out by reading the project's files.

    Args:
        question: One clear question about the decision the plan leaves open.
    """
    answer = ctx.ask_architect
    if answer is None:
        raise ToolError(
            "the architect is not available here; decide yourself and say so at the end"
        )
    if not question.strip():
        raise ToolError("question is empty; ask one clear question")
    return answer(question.strip()[:2000])


def architect_answer(rt: Runtime, state: RunState, phase: str, question: str) -> str:
    """The architect model's answer, logged in the run; the asker's model is loaded back after."""
    asker = state.loaded_model
    model = rt.loaded.config.architect_model
    rt.use_model(state, model, phase)
    plan = state.plan.to_markdown() if state.plan else "(no plan)"
    messages = [
        Message("system", f"{load_prompt('architect')}\n\n{ANSWER_MODE}"),
        Message(
            "user",
            f"# Requirement\n{state.requirement}\n\n{plan}\n\n# Question from the implementer\n"
            f"{question}",
        ),
    ]
    from code_assistant.workspace import chat_options

    started = time.perf_counter()
    result = rt.backend.chat(model, messages, options=chat_options(rt.loaded.config))
    answer = result.text.strip() or "(no answer: decide yourself)"
    seconds = round(time.perf_counter() - started, 3)
    state.questions.append(Question(phase=phase, question=question, answer=answer, seconds=seconds))
    rt.progress.pipeline("question", phase=phase, question=question, answer=answer)
    if asker:
        rt.use_model(state, asker, phase)
    return f"The architect answers: {answer}"
