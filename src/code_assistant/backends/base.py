"""The types every backend speaks, the Backend protocol, and the shared retry policy."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from code_assistant.errors import BackendError

T = TypeVar("T")


@dataclass
class ToolCall:
    """One call of a tool by the model: its name and parsed JSON arguments."""

    name: str
    arguments: dict[str, Any]
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class Message:
    """A chat message. `tool_calls` on assistant turns; `tool_call_id`/`name` on tool results."""

    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id:
            data["tool_call_id"] = self.tool_call_id
        if self.name:
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        calls = [ToolCall(**c) for c in data.get("tool_calls") or []]
        return cls(
            role=data["role"],
            content=data.get("content") or "",
            tool_calls=calls,
            tool_call_id=data.get("tool_call_id", ""),
            name=data.get("name", ""),
        )


@dataclass(frozen=True)
class ToolSpec:
    """What the model is told about a tool: name, description and JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass
class ChatOptions:
    """Per-call generation options. `num_ctx` is always sent: Ollama's default cuts prompts."""

    num_ctx: int = 8192
    temperature: float = 0.2
    keep_alive: str | int | None = None
    seed: int | None = None
    format: dict[str, Any] | None = None  # JSON schema for constrained output
    max_tokens: int | None = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass
class ChatResult:
    """One model reply with what it cost."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    seconds: float = 0.0
    load_seconds: float = 0.0
    truncated_prompt: bool = False  # the backend cut the prompt to fit its context
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Embedder(Protocol):
    """The embed() half of a Backend: all that embedding chunks or queries needs."""

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]: ...


@runtime_checkable
class Backend(Protocol):
    """Every model call goes through this."""

    name: str

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> ChatResult: ...

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]: ...

    def unload(self, model: str) -> None: ...

    def list_models(self) -> list[str]: ...

    def loaded_models(self) -> list[str]: ...

    def close(self) -> None: ...


def with_retries(
    call: Callable[[], T],
    *,
    retries: int,
    backoff: float = 0.5,
    on_retry: Callable[[BackendError, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying transient backend errors up to `retries` times with backoff."""
    attempt = 0
    while True:
        try:
            return call()
        except BackendError as exc:
            if not exc.transient or attempt >= retries:
                raise
            attempt += 1
            if on_retry:
                on_retry(exc, attempt)
            sleep(backoff * (2 ** (attempt - 1)))


def retry_chat(
    run: Callable[[Callable[[str], None] | None], T],
    on_token: Callable[[str], None] | None,
    *,
    retries: int,
) -> T:
    """Retry one chat call's transient errors, but never after tokens reached `on_token`:
    the user has seen them, and a retry would show them twice."""
    emitted = False

    def relay(token: str) -> None:
        nonlocal emitted
        emitted = True
        assert on_token is not None
        on_token(token)

    def attempt() -> T:
        try:
            return run(relay if on_token is not None else None)
        except BackendError as exc:
            if emitted:
                exc.transient = False
            raise

    return with_retries(attempt, retries=retries)


def estimate_tokens(text: str) -> int:
    """A cheap, model-independent token estimate (about four characters a token)."""
    return (len(text) + 3) // 4


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Lone surrogates (bytes that were not UTF-8, from argv, stdin or a file name) as
    U+FFFD: they cannot be encoded into a request, a JSON line or the sessions DB."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text
