"""Anthropic's Messages API through the `anthropic` SDK: the cloud reference for `ca bench`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import anthropic

from code_assistant.backends.base import (
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
    retry_chat,
)
from code_assistant.errors import (
    BackendError,
    BackendServerError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ModelNotFound,
)

# The Messages API requires max_tokens; below the SDK's limit for non-streamed requests.
DEFAULT_MAX_TOKENS = 16_000


class AnthropicBackend:
    """Claude models; `unload` is meaningless and embeddings do not exist here."""

    name = "anthropic"

    def __init__(
        self, api_key: str, base_url: str = "", timeout: float = 600.0, retries: int = 2
    ) -> None:
        if not api_key:
            raise ConfigError(
                "no Anthropic API key: set anthropic_api_key in ~/.code-assistant/config.toml "
                "or the CA_ANTHROPIC_API_KEY environment variable (machine-only)"
            )
        self.base_url = base_url or "https://api.anthropic.com"
        self.retries = retries
        # Our own bounded retry policy applies, so the SDK's is switched off.
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0
        )

    def _call(self, model: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except anthropic.APITimeoutError:
            raise BackendTimeout(
                f"the Anthropic API at {self.base_url} did not answer in time; "
                "raise request_timeout"
            ) from None
        except anthropic.APIConnectionError:
            raise BackendUnavailable(
                f"cannot reach the Anthropic API at {self.base_url}: check the network "
                "or anthropic_base_url"
            ) from None
        except anthropic.AuthenticationError:
            raise BackendError(
                "the Anthropic API rejected the key (HTTP 401): check anthropic_api_key"
            ) from None
        except anthropic.NotFoundError as exc:
            raise ModelNotFound(
                f"model {model!r} is not available from the Anthropic API: {_message(exc)}; "
                "set anthropic_model"
            ) from None
        except anthropic.APIStatusError as exc:
            status = exc.status_code
            if status == 429 or status >= 500:
                raise BackendServerError(
                    f"the Anthropic API is busy or failing (HTTP {status}): {_message(exc)}"
                ) from None
            raise BackendError(
                f"the Anthropic API rejected the request (HTTP {status}): {_message(exc)}"
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
        request = build_request(model, messages, tools, options or ChatOptions())
        def attempt(relay: Callable[[str], None] | None) -> ChatResult:
            started = time.perf_counter()
            if relay is None:
                reply = self._call(model, lambda: self._client.messages.create(**request))
            else:
                reply = self._call(model, lambda: self._stream(request, relay))
            return to_result(reply, request["model"], time.perf_counter() - started)

        return retry_chat(attempt, on_token, retries=self.retries)

    def _stream(
        self, request: dict[str, Any], on_token: Callable[[str], None]
    ) -> Any:
        with self._client.messages.stream(**request) as stream:
            for text in stream.text_stream:
                if text:
                    on_token(text)
            return stream.get_final_message()

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        raise BackendError(
            "the Anthropic API has no embeddings; keep backend = \"ollama\" or \"openai\" "
            "for the index and use anthropic only in `ca bench`"
        )

    def unload(self, model: str) -> None:
        """Nothing is loaded on our side."""

    def list_models(self) -> list[str]:
        page = self._call("", lambda: self._client.models.list(limit=1000))
        return [m.id for m in page.data]

    def loaded_models(self) -> list[str]:
        return []

    def close(self) -> None:
        self._client.close()


def build_request(
    model: str, messages: Sequence[Message], tools: Sequence[ToolSpec], options: ChatOptions
) -> dict[str, Any]:
    """The Messages API request: system prompts apart, tool results as user content blocks."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": options.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": to_wire(messages),
    }  # no temperature: the current Messages API and SDK have no sampling parameters
    if system:
        request["system"] = system
    if tools:
        request["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in tools
        ]
    if options.format is not None:
        request["output_config"] = {"format": {"type": "json_schema", "schema": options.format}}
    return request


def to_wire(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Alternating user/assistant turns; consecutive blocks of one role share a turn."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [{
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "call_0",
            "content": message.content or "(no output)",
        }]
    # The API refuses empty text blocks; a blank user turn keeps its place with a placeholder.
    text = message.content if message.content.strip() else ""
    if not text and message.role == "user":
        text = "(empty message)"
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for n, call in enumerate(message.tool_calls):
        blocks.append({"type": "tool_use", "id": call.id or f"call_{n}", "name": call.name,
                       "input": call.arguments})
    return blocks


def to_result(reply: Any, model: str, seconds: float) -> ChatResult:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in reply.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            arguments = block.input if isinstance(block.input, dict) else {"_raw": block.input}
            calls.append(ToolCall(name=block.name, arguments=arguments, id=block.id))
    usage = reply.usage
    # Cached prompt tokens are billed apart but are still prompt the model read.
    prompt = (usage.input_tokens or 0) + (getattr(usage, "cache_read_input_tokens", 0) or 0) + (
        getattr(usage, "cache_creation_input_tokens", 0) or 0
    )
    warnings = []
    if reply.stop_reason == "max_tokens":
        warnings.append("the reply was cut at max_tokens")
    return ChatResult(
        text="".join(texts),
        tool_calls=calls,
        usage=Usage(prompt, usage.output_tokens or 0),
        model=reply.model or model,
        seconds=seconds,
        warnings=warnings,
    )


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message", json.dumps(inner)))
        return str(inner)
    return str(exc.message)
