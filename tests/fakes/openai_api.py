"""The OpenAI-compatible API (/v1/*) as the fake server speaks it: chat, SSE streams, embeddings."""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.fakes import dialects
from tests.fakes.script import (
    Reply,
    canonical_model,
    completion_tokens,
    estimate_tokens,
    prompt_tokens,
    split_fragments,
    split_text,
)
from tests.fakes.state import Failure, Response, State, not_found, take_reply

SSE = "text/event-stream"
Route = Callable[[State, dict[str, Any]], Response]


def error(failure: Failure) -> Response:
    return Response(
        failure.status,
        {"error": {"message": failure.message, "type": failure.type, "param": None,
                   "code": failure.code}},
    )


def _calls(reply: Reply, index: int) -> list[dict[str, Any]]:
    """Tool calls with ids and arguments as a JSON string, the way OpenAI sends them."""
    return [
        {
            "id": call.get("id") or f"call_{index}_{n}",
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))},
        }
        for n, call in enumerate(reply.get("tool_calls") or [])
    ]


def _usage(reply: Reply, messages: list[Any]) -> dict[str, int]:
    override = reply.get("usage") or {}
    prompt = int(override.get("prompt_tokens", prompt_tokens(messages)))
    completion = int(override.get("completion_tokens", completion_tokens(reply)))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def chat_completions(state: State, request: dict[str, Any]) -> Response:
    body = request["body"]
    dialect = dialects.get(state.dialect)
    refused = dialect.refusal(body)
    if refused is not None:
        return refused
    outcome = take_reply(state, request)
    if isinstance(outcome, Failure):
        return error(outcome)
    outcome = dialect.rewrite(outcome)
    if "raw_body" in outcome:  # a malformed answer: sent as it is, with a JSON content type
        return Response(body=outcome["raw_body"])
    if outcome.get("disconnect"):
        return Response(disconnect=True)
    state.load(body["model"])
    text = outcome.get("text") or ""
    calls = _calls(outcome, request["index"])
    finish = outcome.get("finish_reason") or ("tool_calls" if calls else "stop")
    usage = _usage(outcome, body.get("messages") or [])
    head = {"id": f"chatcmpl-{request['index']}", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fake"}
    if not body.get("stream"):
        content = text if text or not calls else None  # OpenAI sends null beside tool calls
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return Response(
            body={**head, "object": "chat.completion", "choices": [choice], "usage": usage}
        )
    with_usage = dialect.stream_usage and bool(
        (body.get("stream_options") or {}).get("include_usage")
    )
    chunks = _stream_chunks(head, text, calls, finish, usage if with_usage else None)
    return Response(
        stream=_sse(chunks), content_type=SSE,
        chunk_delay=float(outcome.get("chunk_delay") or 0.0), cut=bool(outcome.get("cut_stream")),
    )


def _stream_chunks(
    head: dict[str, Any], text: str, calls: list[dict[str, Any]], finish: str,
    usage: dict[str, int] | None,
) -> list[dict[str, Any]]:
    """Deltas as real servers send them: role, text pieces, then each call's name and fragments."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**head, "object": "chat.completion.chunk", "choices": [choice]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in split_text(text)]
    for n, call in enumerate(calls):
        function = call["function"]
        opening = {"index": n, "id": call["id"], "type": "function",
                   "function": {"name": function["name"], "arguments": ""}}
        chunks.append(chunk({"tool_calls": [opening]}))
        chunks += [
            chunk({"tool_calls": [{"index": n, "function": {"arguments": fragment}}]})
            for fragment in split_fragments(function["arguments"])
        ]
    chunks.append(chunk({}, finish))
    if usage is not None:
        chunks.append({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
    return chunks


def _sse(chunks: list[dict[str, Any]]) -> Iterator[bytes]:
    for chunk in chunks:
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _inputs(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def embeddings(state: State, request: dict[str, Any]) -> Response:
    body = request["body"]
    model = body.get("model") or ""
    if not model:
        return error(Failure(400, "model is required", "invalid_request_error"))
    if not state.has_model(model):
        return error(not_found(model))
    texts = _inputs(body.get("input"))
    if texts is None:
        return error(Failure(400, "invalid input: expected a string or a list of strings",
                             "invalid_request_error"))
    state.load(model)
    dim = int(body.get("dimensions") or state.script.embedding_dim)
    data = []
    for n, text in enumerate(texts):
        vector: Any = state.script.embed(text, dim)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": n, "embedding": vector})
    tokens = sum(estimate_tokens(t) for t in texts)
    return Response(
        body={"object": "list", "data": data, "model": model,
              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    )


def models(state: State, request: dict[str, Any]) -> Response:
    listing = [
        {"id": canonical_model(m), "object": "model", "created": 1_700_000_000,
         "owned_by": "library"}
        for m in state.script.models
    ]
    return Response(body={"object": "list", "data": listing})


ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("POST", "/v1/embeddings"): embeddings,
    ("GET", "/v1/models"): models,
}
