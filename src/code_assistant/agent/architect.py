"""The architect's quick jobs: classify a message's intent (the pipeline adds planning)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from code_assistant.agent.personas import load_prompt
from code_assistant.agent.structured import structured_chat
from code_assistant.backends.base import Backend, ChatOptions, ChatResult, Message

Intent = Literal["conversational", "implementation", "complex"]


class IntentReply(BaseModel):
    intent: Intent
    reason: str = ""


def classify_intent(
    backend: Backend,
    model: str,
    message: str,
    options: ChatOptions,
    calls: list[ChatResult] | None = None,
) -> IntentReply:
    """Ask the architect model which way a message should go (constrained JSON, one repair)."""
    messages = [Message("system", load_prompt("classify")), Message("user", message[:4000])]
    return structured_chat(backend, model, messages, IntentReply, options, calls=calls)
