"""A Backend that plays back a given list of replies and records what it was asked."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from code_assistant.backends.base import (
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    estimate_tokens,
)
from code_assistant.errors import BackendError


@dataclass(frozen=True)
class ScriptedRequest:
    """One chat call the backend received, copied so later changes do not rewrite it."""

    model: str
    messages: list[Message]
    tools: list[ToolSpec]
    options: ChatOptions | None


@dataclass
class ScriptedBackend:
    """Replies in order, as a model would (like mini-swe-agent's DeterministicModel): a str
    is a text reply, a ToolCall or a ChatResult is given back as it is. Tests drive the agent
    loop with it when they test the loop, not a backend's wire format."""

    replies: Iterable[str | ToolCall | list[ToolCall] | ChatResult]
    name: str = "scripted"
    requests: list[ScriptedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue = list(self.replies)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> ChatResult:
        self.requests.append(ScriptedRequest(
            model, [Message.from_dict(m.to_dict()) for m in messages], list(tools), options))
        if not self._queue:
            raise BackendError(
                f"the scripted backend ran out of replies after {len(self.requests) - 1} "
                "chat call(s); add replies to the script"
            )
        reply = self._queue.pop(0)
        if isinstance(reply, ChatResult):
            result = reply
        elif isinstance(reply, str):
            result = ChatResult(reply)
        else:
            result = ChatResult("", [reply] if isinstance(reply, ToolCall) else list(reply))
        if on_token is not None and result.text:
            on_token(result.text)
        if result.usage == Usage():
            prompt = sum(estimate_tokens(m.content) for m in messages)
            result.usage = Usage(prompt, max(1, estimate_tokens(result.text)))
        result.model = result.model or model
        return result

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        raise BackendError("the scripted backend does not embed")

    def unload(self, model: str) -> None:
        return None

    def list_models(self) -> list[str]:
        return sorted({r.model for r in self.requests})

    def loaded_models(self) -> list[str]:
        return []

    def close(self) -> None:
        return None
