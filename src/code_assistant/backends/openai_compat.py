"""Any OpenAI-compatible /v1 server (llama.cpp server, vLLM, LM Studio) through the `openai` SDK.

Request shapes a server refuses (see dialects.py) are fallbacks, learned once per server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import openai

from code_assistant.backends import dialects
from code_assistant.backends.base import (
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    estimate_tokens,
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

T = TypeVar("T")


class _Rejected(BackendError):
    """The server refused one request shape ("format" or "tools"); the next shape is tried."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Malformed(Exception):
    """The reply is not an OpenAI chat completion (no choices, not JSON, a stream cut short)."""


@dataclass(frozen=True)
class _Shape:
    """What one request carries that a server may refuse."""

    mode: str | None = None  # structured-output mode; None: no format asked
    tools: bool = False  # the `tools` field is sent
    max_tokens: bool = False  # the reply cap is sent

    def refusal(self, status: int, message: str) -> str | None:
        if self.max_tokens and dialects.is_max_tokens_rejection(status, message):
            return "max_tokens"
        if self.mode in ("json_schema", "json_object") and dialects.is_format_rejection(
            status, message
        ):
            return "format"
        if self.tools and dialects.is_tools_rejection(status, message):
            return "tools"
        return None


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

    def capabilities(self, model: str) -> dialects.ServerCapabilities:
        """What this server has shown it does with `model` so far in this process."""
        return dialects.capabilities(self.base_url, model)

    def _call(self, model: str, fn: Callable[[], T], shape: _Shape | None = None) -> T:
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
            raise self._status_error(exc, shape) from None
        except (openai.APIError, _Malformed, httpx.HTTPError, ValueError) as exc:
            # APIResponseValidationError, a body that is not JSON, a stream that broke off.
            raise BackendServerError(
                f"the server at {self.base_url} sent a malformed reply: {_one_line(exc)}"
            ) from None

    def _status_error(self, exc: openai.APIStatusError, shape: _Shape | None) -> BackendError:
        message = _error_message(exc)
        refusal = shape.refusal(exc.status_code, message) if shape else None
        if refusal is not None:
            return _Rejected(message, refusal)
        if exc.status_code >= 500:
            return BackendServerError(
                f"server error (HTTP {exc.status_code}) from {self.base_url}: {message}"
            )
        return BackendError(
            f"the server at {self.base_url} rejected the request "
            f"(HTTP {exc.status_code}): {message}"
        )

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
        caps = self.capabilities(model)
        wire_tools = [t.openai_schema() for t in tools]
        warnings: list[str] = []
        capped = opts.max_tokens is not None
        while True:
            mode = caps.modes()[0] if opts.format is not None else None
            shape = _Shape(mode, bool(wire_tools) and not caps.tools_rejected, capped)
            request = _request(model, messages, opts, wire_tools, shape)
            try:
                result = self._send(model, request, shape, on_token)
            except _Rejected as exc:
                if exc.kind == "max_tokens":  # this prompt only: the next may fit the cap
                    capped = False
                    continue
                warnings.append(self._learn_refusal(caps, shape, exc))
                continue
            if mode is not None:
                caps.structured = mode
            if result.tool_calls:
                caps.native_tools = True
            result.warnings = warnings + result.warnings
            return result

    def _learn_refusal(
        self, caps: dialects.ServerCapabilities, shape: _Shape, exc: _Rejected
    ) -> str:
        """Remember what the server refused; the note says what is used instead."""
        if exc.kind == "tools":
            caps.tools_rejected = True
            return (
                f"the server at {self.base_url} refuses native tools ({_one_line(exc)}); "
                "tools are described in the prompt instead"
            )
        assert shape.mode is not None
        caps.rejected.add(shape.mode)
        return (
            f"the server at {self.base_url} refuses response_format {shape.mode}; "
            f"using {caps.modes()[0]} for structured output from now on"
        )

    def _send(
        self,
        model: str,
        request: dict[str, Any],
        shape: _Shape,
        on_token: Callable[[str], None] | None,
    ) -> ChatResult:
        return retry_chat(
            lambda relay: self._call(
                model,
                lambda: self._complete(request) if relay is None else self._stream(request, relay),
                shape,
            ),
            on_token,
            retries=self.retries,
        )

    def _complete(self, request: dict[str, Any]) -> ChatResult:
        started = time.perf_counter()
        response = self._client.chat.completions.create(**request)
        choices = getattr(response, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise _Malformed("a chat completion without choices")
        choice = choices[0].message
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
        finished = False
        for chunk in _chunks(stream):
            if chunk.usage:
                usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            model = chunk.model or model
            if not chunk.choices:
                continue
            finished = finished or chunk.choices[0].finish_reason is not None
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
        if not finished:
            raise _Malformed("the stream ended before the reply was complete")
        calls = [
            ToolCall(name=s["name"], arguments=_arguments(s["arguments"]), id=s["id"])
            for _, s in sorted(partial.items())
        ]
        return ChatResult(
            text="".join(text),
            tool_calls=calls,
            usage=usage if usage.completion_tokens else _estimated_usage(request, text, calls),
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
        return [m.id for m in getattr(response, "data", None) or ()]

    def loaded_models(self) -> list[str]:
        return []

    def close(self) -> None:
        self._client.close()


def _estimated_usage(
    request: dict[str, Any], text: list[str], calls: list[ToolCall]
) -> Usage:
    """Some servers (llama-cpp-python) send no usage in streams: estimate it, not zero."""
    prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in request["messages"])
    reply = "".join(text) + "".join(json.dumps(c.arguments) for c in calls)
    return Usage(prompt, estimate_tokens(reply))


def _chunks(stream: Any) -> Iterator[Any]:
    """The stream's chunks; the connection dropping halfway is a malformed reply, not an
    unreachable server (the request did arrive)."""
    try:
        yield from stream
    except (openai.APIConnectionError, httpx.HTTPError) as exc:
        raise _Malformed(f"the stream broke off ({_one_line(exc)})") from None


def _request(
    model: str,
    messages: Sequence[Message],
    opts: ChatOptions,
    wire_tools: list[dict[str, Any]],
    shape: _Shape,
) -> dict[str, Any]:
    wire = [_to_wire(m) for m in messages]
    if wire_tools and not shape.tools:
        wire = dialects.with_note(wire, dialects.tools_note(wire_tools))
    if opts.format is not None and shape.mode == "prompt":
        wire = dialects.with_note(wire, dialects.schema_note(opts.format))
    request: dict[str, Any] = {
        "model": model,
        "messages": wire,
        "temperature": opts.temperature,
    }
    if shape.tools:
        request["tools"] = wire_tools
    if opts.seed is not None:
        request["seed"] = opts.seed
    if opts.max_tokens is not None and shape.max_tokens:
        request["max_tokens"] = opts.max_tokens
    if opts.format is not None and shape.mode is not None:
        response_format = dialects.response_format(shape.mode, opts.format)
        if response_format is not None:
            request["response_format"] = response_format
    return request


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
            return _one_line(inner.get("message", inner))
        return _one_line(inner)
    return _one_line(exc.message)


def _one_line(value: object, limit: int = 300) -> str:
    """Server messages can be multi-line (pydantic errors): the user sees one line."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
