"""The embedded default: with no backend configured and no Ollama answering, llama.cpp in ca.

A new user needs no server and no key: `ca` runs the default GGUF (Qwen2.5-Coder-1.5B-Instruct
Q4_K_M) from the machine's models dir for every persona, and says so in one line. Explicit
config (any layer naming `backend`) always wins.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from code_assistant.app import App
from code_assistant.errors import ModelNotFound
from code_assistant.models.catalog import CATALOG, DEFAULT_MODEL

if TYPE_CHECKING:
    from code_assistant.config import Config


PROBE_SECONDS = 0.3
# Set by apply_default, used once by the first llamacpp backend built (before_first_use):
# the notice line, and the loaded config whose default model may still need a download.
_notice: list[str] = []
_pending: list[Any] = []


def ollama_answers(host: str, timeout: float = PROBE_SECONDS) -> bool:
    """Something accepts connections at Ollama's address (a refused loopback port: ~0.1 ms)."""
    parts = urlsplit(host if "://" in host else f"http://{host}")
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def default_model_path(home: Path) -> Path:
    from code_assistant.models.store import models_dir

    return models_dir(home) / CATALOG[DEFAULT_MODEL].filename


def apply_default(loaded: App) -> bool:
    """Switch `loaded` to the embedded backend when nothing chose one and Ollama is away."""
    config = loaded.config
    if loaded.sources.get("backend", "default") != "default":
        return False
    if ollama_answers(config.ollama_host):
        return False
    config.backend = "llamacpp"
    why = f"embedded default: no backend configured, no Ollama at {config.ollama_host}"
    loaded.sources["backend"] = why
    if not config.llamacpp_model_path and not config.implementer_model.endswith(".gguf"):
        config.llamacpp_model_path = str(default_model_path(loaded.home))
        loaded.sources["llamacpp_model_path"] = "embedded default"
    model = config.llamacpp_model_path or config.implementer_model
    # Every persona on the one file unless configured: Ollama-style names left in place would
    # read as different models and make the pipeline unload and reload the same GGUF.
    from code_assistant.agent.personas import MODEL_KEYS

    for key in MODEL_KEYS:
        if loaded.sources.get(key, "default") == "default":
            setattr(config, key, model)
            loaded.sources[key] = "embedded default"
    _notice[:] = [f"ca: no Ollama at {config.ollama_host}; using embedded llama.cpp with "
                  f"{Path(model).name} (set `backend` to choose)"]
    _pending[:] = [loaded]
    return True


def before_first_use(config: Config) -> None:
    """The first embedded backend of the process: say so once, fetch the default if missing."""
    if _notice:
        print(_notice.pop(), file=sys.stderr)
    if _pending and _pending[0].config is config:
        ensure_default_model(_pending.pop(), ask=True)


def ensure_default_model(loaded: App, *, ask: bool) -> None:
    """The default GGUF is missing: pull it (asked on a terminal, at once with --yes)."""
    path = Path(loaded.config.llamacpp_model_path)
    if loaded.config.backend != "llamacpp" or path.is_file():
        return
    if path != default_model_path(loaded.home):
        return  # a file the user named: the backend reports it missing
    entry = CATALOG[DEFAULT_MODEL]
    pull_hint = f"`ca models pull {entry.name}` ({entry.size / 1e9:.1f} GB)"
    auto = loaded.config.approval == "auto"
    if not auto:
        if not (ask and sys.stdin.isatty()):
            raise ModelNotFound(
                f"the embedded default model is not downloaded yet: run {pull_hint}, "
                "pass --yes to download it now, or point --model at a .gguf file"
            )
        reply = input(f"Download {entry.filename} ({entry.size / 1e9:.1f} GB) from the "
                      "Hugging Face Hub now? [Y/n] ").strip().lower()
        if reply not in ("", "y", "yes"):
            raise ModelNotFound(f"no model to run: {pull_hint} when you are ready")
    from code_assistant.models.pull import pull

    pull(loaded.home, entry.name)
