"""Any OpenAI-compatible /v1 server (llama.cpp server, vLLM, LM Studio) through the `openai` SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import openai

from code_assistant.backends.base import (
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    retry_chat,
    with_retries,
)
from code_assistant.errors import (
    BackendError,
    BackendServerError,
    BackendTimeout,
    BackendUnavailable,
    ModelNotFound,
)


class OpenAICompatBackend:
    """The context size is the server's own setting here; num_ctx is not sent."""

    name = "openai"

    def __init__(
        self, base_url: str, api_key: str = "", timeout: float = 600.0, retries: int = 2
    ) -> None:
        self.base_url = base_url
        self.retries = retries
        # Our own bounded retry policy applies, so the SDK's is switched off.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )

    def _call(self, model: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except openai.APITimeoutError:
            raise BackendTimeout(
                f"the server at {self.base_url} did not answer in time; raise request_timeout"
            ) from None
        except openai.APIConnectionError:
            raise BackendUnavailable(
                f"cannot reach an OpenAI-compatible server at {self.base_url}: start it "
                "(e.g. `llama-server -m model.gguf`) or set CA_OPENAI_BASE_URL"
            ) from None
        except openai.NotFoundError:
            raise ModelNotFound(
                f"model {model!r} is not served at {self.base_url}; "
                "check `ca doctor` for the models it has"
            ) from None
        except openai.APIStatusError as exc:
            message = _error_message(exc)
            if exc.status_code >= 500:
                raise BackendServerError(
                    f"server error (HTTP {exc.status_code}) from {self.base_url}: {message}"
                ) from None
            raise BackendError(
                f"the server at {self.base_url} rejected the request "
                f"(HTTP {exc.status_code}): {message}"
            ) from None

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> ChatResult:
        opts = options or ChatOptions()
        request: dict[str, Any] = {
            "model": model,
            "messages": [_to_wire(m) for m in messages],
            "temperature": opts.temperature,
        }
        if tools:
            request["tools"] = [t.openai_schema() for t in tools]
        if opts.seed is not None:
            request["seed"] = opts.seed
        if opts.max_tokens is not None:
            request["max_tokens"] = opts.max_tokens
        if opts.format is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": opts.format},
            }
        return retry_chat(
            lambda relay: self._call(
                model,
                lambda: self._complete(request) if relay is None else self._stream(request, relay),
            ),
            on_token,
            retries=self.retries,
        )

    def _complete(self, request: dict[str, Any]) -> ChatResult:
        started = time.perf_counter()
        response = self._client.chat.completions.create(**request)
        choice = response.choices[0].message
        calls = [
            ToolCall(name=c.function.name, arguments=_arguments(c.function.arguments), id=c.id)
            for c in choice.tool_calls or ()
        ]
        usage = response.usage
        return ChatResult(
            text=choice.content or "",
            tool_calls=calls,
            usage=Usage(
                usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0
            ),
            model=response.model or request["model"],
            seconds=time.perf_counter() - started,
        )

    def _stream(
        self, request: dict[str, Any], on_token: Callable[[str], None]
    ) -> ChatResult:
        started = time.perf_counter()
        stream = self._client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        partial: dict[int, dict[str, str]] = {}
        usage = Usage()
        model = request["model"]
        for chunk in stream:
            if chunk.usage:
                usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            model = chunk.model or model
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                text.append(delta.content)
                on_token(delta.content)
            for call in delta.tool_calls or ():
                slot = partial.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
        calls = [
            ToolCall(name=s["name"], arguments=_arguments(s["arguments"]), id=s["id"])
            for _, s in sorted(partial.items())
        ]
        return ChatResult(
            text="".join(text),
            tool_calls=calls,
            usage=usage,
            model=model,
            seconds=time.perf_counter() - started,
        )

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        def attempt() -> list[list[float]]:
            response = self._call(
                model, lambda: self._client.embeddings.create(model=model, input=list(texts))
            )
            return [list(item.embedding) for item in sorted(response.data, key=lambda d: d.index)]

        return with_retries(attempt, retries=self.retries)

    def unload(self, model: str) -> None:
        """The server manages its own memory; nothing to do."""

    def list_models(self) -> list[str]:
        response = self._call("", self._client.models.list)
        return [m.id for m in response.data]

    def loaded_models(self) -> list[str]:
        return []

    def close(self) -> None:
        self._client.close()


def _to_wire(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {
                "id": c.id or f"call_{i}",
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for i, c in enumerate(message.tool_calls)
        ]
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id or "call_0"
    return wire


def _arguments(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message", inner))
        return str(inner)
    return str(exc.message)
