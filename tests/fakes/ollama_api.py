"""Ollama's native API (/api/*) as the fake server speaks it: chat, generate, embed, ps, show."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.fakes.script import (
    OLLAMA_DEFAULT_NUM_CTX,
    Reply,
    canonical_model,
    completion_tokens,
    estimate_tokens,
    is_zero_keep_alive,
    prompt_tokens,
    split_text,
)
from tests.fakes.state import Failure, Response, State, not_found, take_reply

NDJSON = "application/x-ndjson"
VERSION = "0.9.0"
Route = Callable[[State, dict[str, Any]], Response]


def error(failure: Failure) -> Response:
    return Response(failure.status, {"error": failure.message})


def _now(offset: float = 0.0) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=offset)
    return moment.isoformat().replace("+00:00", "Z")


def _unloader(state: State, body: dict[str, Any]) -> Callable[[], None] | None:
    if not is_zero_keep_alive(body.get("keep_alive")):
        return None
    model = body["model"]
    return lambda: state.unload(model)


def _check_model(state: State, body: dict[str, Any]) -> Failure | None:
    model = body.get("model") or body.get("name") or ""
    if not model:
        return Failure(400, "model is required")
    return None if state.has_model(model) else not_found(model)


def _stats(prompt: int, completion: int, newly_loaded: bool) -> dict[str, int]:
    load = 40_000_000 if newly_loaded else 20_000
    prompt_ns, eval_ns = prompt * 500_000, completion * 20_000_000
    return {
        "total_duration": load + prompt_ns + eval_ns,
        "load_duration": load,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": prompt_ns,
        "eval_count": completion,
        "eval_duration": eval_ns,
    }


def _piece(key: str, text: str, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if key == "response":
        return {"response": text}
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    return {"message": message}


def _answer(state: State, request: dict[str, Any], prompt: int, key: str) -> Response:
    """A scripted reply as Ollama writes it: one JSON object, or NDJSON chunks when streaming."""
    body = request["body"]
    outcome = take_reply(state, request)
    if isinstance(outcome, Failure):
        return error(outcome)
    if outcome.get("disconnect"):
        return Response(disconnect=True)
    newly_loaded = state.load(body["model"])
    num_ctx = (body.get("options") or {}).get("num_ctx") or OLLAMA_DEFAULT_NUM_CTX
    # Ollama silently keeps only the last num_ctx tokens; the count is the only trace of the cut.
    usage = outcome.get("usage") or {}
    prompt = usage.get("prompt_tokens", min(prompt, num_ctx))
    completion = usage.get("completion_tokens", completion_tokens(outcome))
    head = {"model": body["model"], "created_at": _now()}
    final = {
        "done": True,
        "done_reason": outcome.get("finish_reason") or "stop",
        **_stats(prompt, completion, newly_loaded),
    }
    text, calls = outcome.get("text") or "", _tool_calls(outcome)
    after = _unloader(state, body)
    if body.get("stream") is False:
        return Response(body={**head, **_piece(key, text, calls), **final}, after=after)
    chunks = [{**head, **_piece(key, part), "done": False} for part in split_text(text)]
    if calls:
        chunks.append({**head, **_piece(key, "", calls), "done": False})
    chunks.append({**head, **_piece(key, ""), **final})
    return Response(
        stream=(json.dumps(chunk).encode() + b"\n" for chunk in chunks),
        content_type=NDJSON,
        chunk_delay=float(outcome.get("chunk_delay") or 0.0),
        after=after,
    )


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"function": {"name": c["name"], "arguments": c.get("arguments", {})}}
        for c in reply.get("tool_calls") or []
    ]


def chat(state: State, request: dict[str, Any]) -> Response:
    messages = request["body"].get("messages") or []
    return _answer(state, request, prompt_tokens(messages), "message")


def generate(state: State, request: dict[str, Any]) -> Response:
    """With a prompt: a scripted reply. Without: load the model, or unload it (keep_alive 0)."""
    body = request["body"]
    failure = _check_model(state, body)
    if failure:
        return error(failure)
    if body.get("prompt"):
        parts = [{"content": body.get("system") or ""}, {"content": body["prompt"]}]
        return _answer(state, request, prompt_tokens(parts), "response")
    if is_zero_keep_alive(body.get("keep_alive")):
        state.unload(body["model"])
        reason = "unload"
    else:
        state.load(body["model"])
        reason = "load"
    return Response(
        body={"model": body["model"], "created_at": _now(), "response": "", "done": True,
              "done_reason": reason}
    )


def _embed_inputs(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def embed(state: State, request: dict[str, Any]) -> Response:
    body = request["body"]
    failure = _check_model(state, body)
    if failure:
        return error(failure)
    texts = _embed_inputs(body, "input")
    if texts is None:
        return error(Failure(400, "invalid input type"))
    dim = int(body.get("dimensions") or state.script.embedding_dim)
    newly_loaded = state.load(body["model"])
    stats = _stats(sum(estimate_tokens(t) for t in texts), 0, newly_loaded)
    return Response(
        body={
            "model": body["model"],
            "embeddings": [state.script.embed(t, dim) for t in texts],
            "total_duration": stats["total_duration"],
            "load_duration": stats["load_duration"],
            "prompt_eval_count": stats["prompt_eval_count"],
        },
        after=_unloader(state, body),
    )


def embeddings_legacy(state: State, request: dict[str, Any]) -> Response:
    body = request["body"]
    failure = _check_model(state, body)
    if failure:
        return error(failure)
    state.load(body["model"])
    text = str(body.get("prompt") or "")
    return Response(body={"embedding": state.script.embed(text, state.script.embedding_dim)},
                    after=_unloader(state, body))


def _details(model: str) -> dict[str, Any]:
    base = model.rsplit("/", 1)[-1]
    found = re.match(r"[a-z]+\d*", base)
    family = found.group(0) if found else "llama"
    size = re.search(r":(\d+(?:\.\d+)?)b", base)
    embedding = "embed" in base
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "nomic-bert" if embedding else family,
        "families": ["nomic-bert" if embedding else family],
        "parameter_size": f"{size.group(1)}B" if size else "137M",
        "quantization_level": "F16" if embedding else "Q4_K_M",
    }


def _size(model: str) -> int:
    found = re.search(r":(\d+(?:\.\d+)?)b", model)
    return int(float(found.group(1)) * 600_000_000) if found else 274_302_450


def _digest(model: str) -> str:
    return hashlib.sha256(canonical_model(model).encode()).hexdigest()


def tags(state: State, request: dict[str, Any]) -> Response:
    models = [canonical_model(m) for m in state.script.models]
    listing = [
        {"name": m, "model": m, "modified_at": _now(-86_400), "size": _size(m),
         "digest": _digest(m), "details": _details(m)}
        for m in models
    ]
    return Response(body={"models": listing})


def ps(state: State, request: dict[str, Any]) -> Response:
    running = [
        {"name": m, "model": m, "size": _size(m), "digest": _digest(m), "details": _details(m),
         "expires_at": _now(300), "size_vram": 0}
        for m in state.snapshot()["loaded"]
    ]
    return Response(body={"models": running})


def show(state: State, request: dict[str, Any]) -> Response:
    body = request["body"]
    failure = _check_model(state, body)
    if failure:
        return error(failure)
    model = body.get("model") or body.get("name")
    details = _details(model)
    arch = details["family"]
    embedding = "embed" in model
    return Response(
        body={
            "license": "",
            "modelfile": f"FROM {canonical_model(model)}\n",
            "parameters": 'stop "<|im_end|>"',
            "template": "{{ .Prompt }}",
            "details": details,
            "model_info": {
                "general.architecture": arch,
                f"{arch}.context_length": 2048 if embedding else 32768,
                f"{arch}.embedding_length": 768 if embedding else 3584,
            },
            "capabilities": ["embedding"] if embedding else ["completion", "tools"],
            "modified_at": _now(-86_400),
        }
    )


def version(state: State, request: dict[str, Any]) -> Response:
    return Response(body={"version": VERSION})


def root(state: State, request: dict[str, Any]) -> Response:
    return Response(body="Ollama is running", content_type="text/plain; charset=utf-8")


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/api/chat"): chat,
    ("POST", "/api/generate"): generate,
    ("POST", "/api/embed"): embed,
    ("POST", "/api/embeddings"): embeddings_legacy,
    ("GET", "/api/tags"): tags,
    ("GET", "/api/ps"): ps,
    ("POST", "/api/show"): show,
    ("GET", "/api/version"): version,
    ("GET", "/"): root,
}
