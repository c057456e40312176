"""llama.cpp in this process (llama-cpp-python): GGUF models, JSON-schema grammars.

This is what runs inside the embedded backend's worker process (backends/llamacpp_worker.py);
`ca` itself talks to it through backends/llamacpp.py, so a native crash never takes `ca` down.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from code_assistant.backends.base import ChatOptions, ChatResult, Message, ToolSpec, Usage
from code_assistant.backends.envelope import envelope_json, parse_envelope, with_envelope_prompt
from code_assistant.errors import BackendError, BackendUnavailable, ModelNotFound

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

INSTALL_HINT = (
    "the llamacpp backend needs llama-cpp-python: in your clone of code-assistant run "
    "pip install --no-cache-dir -e '.[llamacpp]' with the CMAKE_ARGS of the README's first "
    "command (it compiles llama.cpp)"
)


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise BackendUnavailable(INSTALL_HINT) from None
    return llama_cpp


@dataclass
class _Loaded:
    llm: Llama
    n_ctx: int
    # A llama.cpp context is not thread-safe: one generation at a time per model.
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelCache:
    """Models loaded in this process, one per (path, embedding mode), freed by `free`."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, bool], _Loaded] = {}
        self._lock = threading.Lock()

    def get(self, path: str, *, n_ctx: int, embedding: bool = False) -> tuple[_Loaded, float]:
        """The loaded model (loading it on first use) and the seconds this call spent loading."""
        key = (path, embedding)
        with self._lock:
            loaded = self._models.get(key)
            if loaded is not None and loaded.n_ctx == n_ctx:
                return loaded, 0.0
            if loaded is not None:  # the context size is fixed at load: reload to change it
                self._close(self._models.pop(key))
            started = time.perf_counter()
            loaded = _Loaded(_load(path, n_ctx, embedding), n_ctx)
            self._models[key] = loaded
            return loaded, time.perf_counter() - started

    def paths(self) -> list[str]:
        with self._lock:
            return sorted({path for path, _ in self._models})

    def loaded_chat_paths(self) -> list[str]:
        with self._lock:
            return sorted(path for path, embedding in self._models if not embedding)

    def free(self, path: str) -> int:
        """Close every instance of `path`; returns how many were freed."""
        with self._lock:
            keys = [key for key in self._models if key[0] == path]
            for key in keys:
                self._close(self._models.pop(key))
        return len(keys)

    @staticmethod
    def _close(loaded: _Loaded) -> None:
        with loaded.lock:
            loaded.llm.close()


# One copy of the weights per process: get_backend builds a new backend for every command
# and pipeline phase, and reloading a multi-GB GGUF each time would dominate the run.
SHARED_MODELS = ModelCache()


def _load(path: str, n_ctx: int, embedding: bool) -> Llama:
    llama_cpp = _llama_cpp()
    try:
        # The chat template comes from the GGUF metadata; llama-cpp-python falls back to
        # the llama-2 format when the file has none.
        llm: Llama = llama_cpp.Llama(
            model_path=path, n_ctx=n_ctx, embedding=embedding, verbose=False
        )
        return llm
    except ValueError as exc:
        raise BackendError(
            f"llama.cpp could not load {path}: not a GGUF file, or an architecture this "
            f"llama-cpp-python does not know ({exc})"
        ) from None


@functools.lru_cache(maxsize=32)
def _grammar(schema_json: str) -> LlamaGrammar:
    """Compiling a grammar costs milliseconds per tool; the loop reuses one schema per run."""
    llama_cpp = _llama_cpp()
    try:
        grammar: LlamaGrammar = llama_cpp.LlamaGrammar.from_json_schema(schema_json, verbose=False)
        return grammar
    except (ValueError, RuntimeError, KeyError) as exc:
        raise BackendError(f"cannot turn the JSON schema into a llama.cpp grammar: {exc}") from None


def resolve_gguf(model: str, model_path: str) -> str:
    """The absolute GGUF path for `model`: the model itself when it names a .gguf file, else
    `model_path` (llamacpp_model_path). Shared by the engine and the worker's parent."""
    chosen = model if model.endswith(".gguf") else model_path
    if not chosen:
        raise ModelNotFound(
            f"the llamacpp backend runs GGUF files and {model!r} is not one: pass "
            "--model PATH.gguf or set llamacpp_model_path"
        )
    path = Path(chosen).expanduser()
    if not path.is_file():
        raise ModelNotFound(
            f"no GGUF file at {path}: check the path (--model or llamacpp_model_path)"
        )
    return str(path.resolve())


class LlamaCppEngine:
    """GGUF files run in this process. `model` may be a .gguf path; else `model_path` is used."""

    name = "llamacpp"

    def __init__(
        self, model_path: str = "", n_ctx: int = 8192, cache: ModelCache | None = None
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.cache = cache if cache is not None else SHARED_MODELS

    def resolve(self, model: str) -> str:
        """The GGUF file for `model`: the model itself when it names one, else `model_path`."""
        return resolve_gguf(model, self.model_path)

    def llama(self, model: str, *, embedding: bool = False) -> Llama:
        """The loaded llama_cpp.Llama for `model`, shared by every backend in this process."""
        return self.cache.get(self.resolve(model), n_ctx=self.n_ctx, embedding=embedding)[0].llm

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
        """One reply. Unconstrained, tools go through the model's own chat template (Qwen
        writes <tool_call> JSON, which the loop reads from the text, as with llama_cpp.server);
        constrained, or for a template that knows no tools, they are described in the prompt
        and an envelope reply comes back as the tool call."""
        opts = options or ChatOptions()
        path = self.resolve(model)
        loaded, load_seconds = self.cache.get(path, n_ctx=self.n_ctx)
        native = bool(tools) and opts.format is None and _template_knows_tools(loaded.llm)
        if tools and not native:
            messages = with_envelope_prompt(messages, tools)
        request: dict[str, Any] = {
            "messages": _native_wire(messages) if native else _to_wire(messages),
            "temperature": opts.temperature,
            # Uncapped, a small model that loops on code fills the whole context in one reply
            # (a real 0.5B: 8,000 tokens), and the next prompt no longer fits.
            "max_tokens": opts.max_tokens or max(512, self.n_ctx // 3),
        }
        if native:
            request["tools"] = [t.openai_schema() for t in tools]
        if opts.seed is not None:
            request["seed"] = opts.seed
        if opts.format is not None:
            # Key order matters: the grammar writes properties in the order the schema lists
            # them ("type", then "name", then "arguments"), so keys are never sorted here.
            request["grammar"] = _grammar(json.dumps(opts.format))
        started = time.perf_counter()
        with loaded.lock:
            if native:  # streamed even for a caller that wants no tokens: see _stream
                relay = on_token or (lambda _: None)
                text, usage = self._stream(loaded.llm, request, path, relay, one_call=True)
            elif on_token is None:
                text, usage = self._generate(loaded.llm, request, path)
            else:
                text, usage = self._stream(loaded.llm, request, path, on_token)
        result = ChatResult(
            text=text,
            usage=usage,
            model=path,
            seconds=time.perf_counter() - started,
            load_seconds=load_seconds,
        )
        if tools and not native:
            reply = parse_envelope(text, [t.name for t in tools])
            if reply is not None:
                result.text, result.tool_calls = reply.text, reply.calls
        return result

    def _generate(self, llm: Llama, request: dict[str, Any], path: str) -> tuple[str, Usage]:
        response = _guarded(path, lambda: llm.create_chat_completion(**request))
        usage = response["usage"]
        text = response["choices"][0]["message"]["content"] or ""
        return text, Usage(usage["prompt_tokens"], usage["completion_tokens"])

    def _stream(
        self,
        llm: Llama,
        request: dict[str, Any],
        path: str,
        on_token: Callable[[str], None],
        *,
        one_call: bool = False,
    ) -> tuple[str, Usage]:
        """Relay a reply token by token. `one_call`: stop when a second tool call starts.
        After its first call a small model (Qwen2.5-Coder-0.5B, seen) repeats the same call
        until the context is full; the loop runs one call per reply and shows the result."""
        chunks: Generator[Any, None, None] = _guarded(
            path, lambda: llm.create_chat_completion(**request, stream=True)
        )
        text: list[str] = []
        finish = None
        for chunk in _guarded_iter(path, chunks):
            choice = chunk["choices"][0]
            finish = choice.get("finish_reason") or finish
            piece = choice["delta"].get("content")
            if piece:
                text.append(piece)
                if one_call and (cut := _second_call_at("".join(text))) is not None:
                    chunks.close()
                    return "".join(text)[:cut].rstrip(), Usage(
                        max(llm.n_tokens - len(text), 0), len(text)
                    )
                on_token(piece)
        # Streams carry no usage. One chunk is one sampled token, and every sampled token is
        # evaluated except the last when generation hit max_tokens.
        completion = len(text)
        prompt = llm.n_tokens - completion + (1 if finish == "length" else 0)
        return "".join(text), Usage(max(prompt, 0), completion)

    # -- the rest -----------------------------------------------------------
    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text; models without pooling get their token vectors averaged."""
        import numpy as np

        path = self.resolve(model)
        loaded, _ = self.cache.get(path, n_ctx=self.n_ctx, embedding=True)
        llm = loaded.llm
        with loaded.lock:
            if llm.pooling_type() != _llama_cpp().LLAMA_POOLING_TYPE_NONE:
                return [list(v) for v in _guarded(path, lambda: llm.embed(list(texts)))]
            # Without pooling, llama-cpp-python mixes up token vectors of texts batched
            # together: embed one text per call and average its tokens.
            return [
                np.asarray(_guarded(path, functools.partial(llm.embed, text)), dtype=np.float32)
                .mean(axis=0)
                .tolist()
                for text in texts
            ]

    def unload(self, model: str) -> None:
        """Free the model's weights and context now (the cache holds the only reference)."""
        self.cache.free(self.resolve(model))

    def list_models(self) -> list[str]:
        """The configured GGUF, the .gguf files beside it, and whatever is loaded."""
        found = set(self.cache.paths())
        if self.model_path and Path(self.model_path).expanduser().is_file():
            configured = Path(self.model_path).expanduser().resolve()
            found.update(str(p) for p in configured.parent.glob("*.gguf"))
        return sorted(found)

    def loaded_models(self) -> list[str]:
        return self.cache.paths()

    def close(self) -> None:
        """Nothing to release per backend: models stay for the process until `unload`."""


_CALL_START = '{"name"'


def _second_call_at(text: str) -> int | None:
    """Where a second `{"name" ...` call begins (in JSON such text cannot sit inside a string:
    its quotes would be escaped), or None."""
    first = text.find(_CALL_START)
    if first < 0:
        return None
    second = text.find(_CALL_START, first + len(_CALL_START))
    return second if second >= 0 else None


def _template_knows_tools(llm: Llama) -> bool:
    template = llm.metadata.get("tokenizer.chat_template", "") if llm.metadata else ""
    return "tools" in template and "tool_call" in template


def _native_wire(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """OpenAI-style turns for a template that renders tools itself. Arguments stay objects:
    Qwen's template writes them with `tojson`, which would quote a JSON string again."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        turn: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            turn["tool_calls"] = [
                {"id": c.id or f"call_{i}", "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}}
                for i, c in enumerate(message.tool_calls)
            ]
        if message.role == "tool":
            turn["tool_call_id"] = message.tool_call_id or "call_0"
            turn["name"] = message.name
        wire.append(turn)
    return wire


def _to_wire(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Plain role/content turns: calls as envelope JSON, tool results as user turns.

    Consecutive turns of one role are merged, because many GGUF chat templates raise
    when roles do not alternate.
    """
    wire: list[dict[str, str]] = []
    for message in messages:
        role, content = message.role, message.content
        if message.tool_calls:
            calls = "\n".join(envelope_json(c) for c in message.tool_calls)
            content = f"{content}\n{calls}".strip()
        if role == "tool":
            role, content = "user", f"Result of {message.name or 'the tool'}:\n{content}"
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"] += "\n\n" + content
        else:
            wire.append({"role": role, "content": content})
    return wire


def _guarded(path: str, call: Callable[[], Any]) -> Any:
    """Run a llama.cpp call, turning its errors into BackendErrors the user can act on."""
    from jinja2 import TemplateError

    try:
        return call()
    except ValueError as exc:
        if "context window" in str(exc):
            raise BackendError(
                f"the prompt does not fit the context of {Path(path).name} ({exc}); "
                "raise num_ctx or trim the context"
            ) from None
        raise BackendError(f"llama.cpp failed on {Path(path).name}: {exc}") from None
    except (RuntimeError, TemplateError) as exc:
        raise BackendError(f"llama.cpp failed on {Path(path).name}: {exc}") from None


def _guarded_iter(path: str, chunks: Iterator[Any]) -> Iterator[Any]:
    while True:
        chunk = _guarded(path, lambda: next(chunks, None))
        if chunk is None:
            return
        yield chunk
