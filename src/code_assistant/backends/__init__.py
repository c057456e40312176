"""Model backends behind one protocol; each is imported only when it is used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from code_assistant.backends.base import (
    Backend,
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
)
from code_assistant.errors import UsageError

if TYPE_CHECKING:
    from code_assistant.config import Config

BACKENDS = ("ollama", "openai", "llamacpp", "anthropic")

__all__ = [
    "BACKENDS",
    "Backend",
    "ChatOptions",
    "ChatResult",
    "Message",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "get_backend",
]


def get_backend(config: Config, name: str | None = None) -> Backend:
    """Build the backend named in config (or `name`), importing its SDK only now."""
    name = name or config.backend
    if name == "ollama":
        from code_assistant.backends.ollama import OllamaBackend

        return OllamaBackend(
            host=config.ollama_host, timeout=config.request_timeout, retries=config.max_retries
        )
    if name == "openai":
        from code_assistant.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(
            base_url=config.openai_base_url,
            api_key=config.openai_api_key,
            timeout=config.request_timeout,
            retries=config.max_retries,
        )
    if name == "llamacpp":
        from code_assistant import embedded
        from code_assistant.backends.llamacpp import LlamaCppBackend

        embedded.before_first_use(config)

        # `--model x.gguf` sets every persona's model: the file is also the default model.
        gguf = config.implementer_model if config.implementer_model.endswith(".gguf") else ""
        return LlamaCppBackend(
            model_path=config.llamacpp_model_path or gguf,
            n_ctx=config.num_ctx,
            timeout=config.request_timeout,
        )
    if name == "anthropic":
        from code_assistant.backends.anthropic import AnthropicBackend

        return AnthropicBackend(
            api_key=config.anthropic_api_key,
            base_url=config.anthropic_base_url,
            timeout=config.request_timeout,
            retries=config.max_retries,
        )
    raise UsageError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
