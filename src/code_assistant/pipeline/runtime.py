"""What every phase shares: config, a metered backend, the run store, progress, model switching."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from code_assistant.agent.events import Event
from code_assistant.app import App
from code_assistant.backends.base import Backend, ChatOptions, ChatResult, Message, ToolSpec
from code_assistant.errors import BackendError
from code_assistant.pipeline.state import ModelSwitch, RunState, RunStore
from code_assistant.tools.approval import AskFn

if TYPE_CHECKING:
    from types import TracebackType


class Progress(Protocol):
    """Where the pipeline reports: a live console view or a JSON event stream."""

    def __enter__(self) -> Progress: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...

    def agent(self, phase: str, event: Event) -> None: ...

    def pipeline(self, kind: str, **data: Any) -> None: ...


@dataclass
class Meter:
    """The model calls of one phase attempt, counted where every call passes."""

    model_calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    models: list[str] = field(default_factory=list)


class MeteredBackend:
    """A backend that counts calls and tokens into the current phase's Meter."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.meter = Meter()

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> ChatResult:
        if model not in self.meter.models:
            self.meter.models.append(model)
        try:
            result = self.inner.chat(
                model, messages, tools=tools, options=options, on_token=on_token
            )
        except BaseException:  # counted, then passed on untouched (Ctrl-C included)
            self.meter.failed_calls += 1
            raise
        self.meter.model_calls += 1
        self.meter.prompt_tokens += result.usage.prompt_tokens
        self.meter.completion_tokens += result.usage.completion_tokens
        return result

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        return self.inner.embed(model, texts)

    def unload(self, model: str) -> None:
        self.inner.unload(model)

    def list_models(self) -> list[str]:
        return self.inner.list_models()

    def loaded_models(self) -> list[str]:
        return self.inner.loaded_models()

    def close(self) -> None:
        self.inner.close()


@dataclass
class Runtime:
    """One pipeline invocation: loaded config, backend, where runs live, how progress shows."""

    loaded: App
    backend: MeteredBackend
    store: RunStore
    progress: Progress
    ask: AskFn | None = None  # the approval prompt; None: the policy decides alone

    def use_model(self, state: RunState, model: str, phase: str) -> None:
        """Unload the model used last when the next one differs (one_model_at_a_time)."""
        previous = state.loaded_model
        if previous and previous != model and self.loaded.config.one_model_at_a_time:
            try:
                self.backend.unload(previous)
            except BackendError as exc:  # memory is a nicety; the next call reports outages
                self.progress.pipeline("warning", message=f"could not unload {previous}: {exc}")
            else:
                state.switches.append(ModelSwitch(unloaded=previous, loading=model, phase=phase))
                self.progress.pipeline("unload", model=previous, next_model=model, phase=phase)
        state.loaded_model = model
