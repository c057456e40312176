"""Ollama through the official `ollama` client: chat, streaming, tools, embed, unload, ps."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
import ollama

from code_assistant.backends.base import (
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    clean_text,
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

_NS = 1e-9


class OllamaBackend:
    """One Ollama server. `num_ctx` is sent on every call: Ollama's default silently cuts."""

    name = "ollama"

    def __init__(self, host: str, timeout: float = 600.0, retries: int = 2) -> None:
        self.host = host
        self.retries = retries
        self.timeout = timeout  # for one read (the client) and for the whole call (here)
        self._client = ollama.Client(host=host, timeout=timeout)

    # -- errors -------------------------------------------------------------
    def _call(self, what: str, model: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ollama.ResponseError as exc:
            raise self._translate(exc, model) from None
        except (ConnectionError, httpx.ConnectError):  # the client wraps only non-streaming calls
            raise BackendUnavailable(
                f"cannot reach Ollama at {self.host}: start it with `ollama serve` "
                "or set CA_OLLAMA_HOST / --backend"
            ) from None
        except httpx.TimeoutException:
            raise BackendTimeout(
                f"Ollama at {self.host} did not answer {what} in time; "
                "raise request_timeout or use a smaller model"
            ) from None
        except httpx.TransportError as exc:
            raise BackendServerError(f"Ollama at {self.host}: connection failed ({exc})") from None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # Not Ollama's API: an HTML page, a cut or non-JSON line, a wrong shape (the
            # client's pydantic models refuse it), JSON nested past Python's limit.
            raise self._malformed(what, exc) from None

    def _malformed(self, what: str, exc: BaseException) -> BackendServerError:
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        error = BackendServerError(
            f"Ollama at {self.host} sent a reply to {what} that is not Ollama's API "
            f"({type(exc).__name__}{': ' + detail if detail else ''}); check that "
            "ollama_host points at an Ollama server"
        )
        error.transient = False  # the same server will answer the same way
        return error

    def _translate(self, exc: ollama.ResponseError, model: str) -> BackendError:
        status = exc.status_code
        if status == 404 or "not found" in str(exc.error).lower():
            return ModelNotFound(
                f"model {model!r} is not on the Ollama server at {self.host}; "
                f"run `ollama pull {model}`"
            )
        if status >= 500 or status == -1:
            return BackendServerError(f"Ollama error (HTTP {status}): {exc.error}")
        return BackendError(f"Ollama rejected the request (HTTP {status}): {exc.error}")

    # -- chat ---------------------------------------------------------------
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
            "options": _wire_options(opts),
            "stream": on_token is not None,
        }
        if tools:
            request["tools"] = [t.openai_schema() for t in tools]
        if opts.format is not None:
            request["format"] = opts.format
        if opts.keep_alive is not None:
            request["keep_alive"] = opts.keep_alive
        result = retry_chat(
            lambda relay: self._call(
                "the chat request", model, lambda: self._chat_once(request, relay)
            ),
            on_token,
            retries=self.retries,
        )
        prompt_estimate = sum(estimate_tokens(m.content) for m in messages)
        if result.usage.prompt_tokens >= opts.num_ctx or prompt_estimate > opts.num_ctx:
            result.truncated_prompt = True
            result.warnings.append(
                f"the prompt (~{max(prompt_estimate, result.usage.prompt_tokens)} tokens) does "
                f"not fit num_ctx={opts.num_ctx}: Ollama cut it. Raise num_ctx or trim context."
            )
        return result

    def _chat_once(
        self,
        request: dict[str, Any],
        on_token: Callable[[str], None] | None,
    ) -> ChatResult:
        started = time.perf_counter()
        if on_token is None:
            chunks: Iterator[Any] = iter([self._client.chat(**request)])
        else:
            chunks = self._client.chat(**request)
        text: list[str] = []
        calls: list[ToolCall] = []
        last: Any = None
        for chunk in chunks:
            if on_token is not None and time.perf_counter() - started > self.timeout:
                # A server that drips tokens never trips the read timeout: bound the call.
                raise BackendTimeout(
                    f"Ollama at {self.host} did not finish the chat request within "
                    f"request_timeout ({self.timeout:g} s); raise it or use a smaller model"
                )
            last = chunk
            message = chunk.message
            if message.content:
                text.append(message.content)
                if on_token is not None:
                    on_token(message.content)
            for call in message.tool_calls or ():
                calls.append(
                    ToolCall(
                        name=call.function.name,
                        arguments=_arguments(call.function.arguments),
                        id=f"call_{len(calls)}",
                    )
                )
        if last is None or not getattr(last, "done", True):
            # The stream stopped before Ollama's final `done` line: the answer is cut.
            raise BackendServerError(
                f"the reply from Ollama at {self.host} ended before it was complete "
                "(the connection was cut); try again"
            )
        usage = Usage(
            prompt_tokens=int(getattr(last, "prompt_eval_count", 0) or 0),
            completion_tokens=int(getattr(last, "eval_count", 0) or 0),
        )
        return ChatResult(
            text="".join(text),
            tool_calls=calls,
            usage=usage,
            model=request["model"],
            seconds=time.perf_counter() - started,
            load_seconds=(getattr(last, "load_duration", 0) or 0) * _NS,
        )

    # -- the rest -----------------------------------------------------------
    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        def attempt() -> list[list[float]]:
            response = self._call(
                "the embedding request",
                model,
                lambda: self._client.embed(model=model, input=list(texts)),
            )
            return [list(vector) for vector in response.embeddings]

        return with_retries(attempt, retries=self.retries)

    def unload(self, model: str) -> None:
        self._call("the unload request", model, lambda: self._client.generate(model, keep_alive=0))

    def list_models(self) -> list[str]:
        response = self._call("the model list", "", self._client.list)
        return [m.model for m in response.models if m.model]

    def loaded_models(self) -> list[str]:
        response = self._call("the loaded-model list", "", self._client.ps)
        return [m.model for m in response.models if m.model]

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]  # ollama's close has no hints


def _wire_options(opts: ChatOptions) -> dict[str, Any]:
    wire: dict[str, Any] = {"num_ctx": opts.num_ctx, "temperature": opts.temperature}
    if opts.seed is not None:
        wire["seed"] = opts.seed
    if opts.max_tokens is not None:
        wire["num_predict"] = opts.max_tokens
    return wire


def _to_wire(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": clean_text(message.content)}
    if message.tool_calls:
        wire["tool_calls"] = [
            {"function": {"name": c.name, "arguments": _clean(c.arguments)}}
            for c in message.tool_calls
        ]
    if message.role == "tool" and message.name:
        wire["tool_name"] = message.name
    return wire


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _finite(value: Any) -> Any:
    """NaN and Infinity (which Python's JSON reader accepts) as text: echoed back in the
    history they would make the next request invalid JSON; as text the tool says why."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        finite: dict[str, Any] = _finite(dict(raw))
        return finite
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_raw": raw}
    return dict(raw or {})
