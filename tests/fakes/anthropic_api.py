"""A scripted fake of Anthropic's Messages API on 127.0.0.1 (POST /v1/messages, GET /v1/models).

Replies use the fake model server's script format (text, tool_calls, error, delay, usage);
requests are checked the way the real API checks them (key, version header, alternating
turns, tool results answering the previous turn's tool_use ids), so conversion bugs show.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from tests.fakes import model_server
from tests.fakes.script import (
    Script,
    completion_tokens,
    estimate_tokens,
    split_fragments,
    split_text,
)
from tests.fakes.state import Failure, Response, State, take_reply

MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5")
API_KEY = "sk-ant-test-0000"
ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}


def error(failure: Failure) -> Response:
    kind = ERROR_TYPES.get(failure.status, "api_error")
    return Response(failure.status, {"type": "error",
                                     "error": {"type": kind, "message": failure.message}})


def _invalid(message: str) -> Response:
    return error(Failure(400, message))


def check_request(body: dict[str, Any]) -> str:
    """What the real API would refuse in this request body; "" when it is acceptable."""
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required (a positive integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return "messages: first message must use the \"user\" role"
    pending: set[str] = set()  # tool_use ids of the previous assistant turn
    for n, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return f"messages.{n}.role: unexpected role {role!r}"
        if n and messages[n - 1].get("role") == role:
            return f"messages.{n}: roles must alternate between \"user\" and \"assistant\""
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list) or not blocks:
            return f"messages.{n}: content must be non-empty"
        if any(b.get("type") == "text" and not str(b.get("text", "")).strip() for b in blocks):
            return f"messages.{n}: text content blocks must be non-empty"
        uses = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
        results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if role == "user" and results - pending:
            return f"messages.{n}: tool_result for an unknown tool_use id"
        if role == "user" and pending - results:
            return f"messages.{n}: tool_use ids were found without tool_result blocks"
        pending = uses if role == "assistant" else set()
    return ""


def _prompt_tokens(body: dict[str, Any]) -> int:
    return estimate_tokens(str(body.get("system") or "") + json.dumps(body.get("messages")))


def _content(reply: dict[str, Any], index: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.get("text"):
        blocks.append({"type": "text", "text": reply["text"]})
    for n, call in enumerate(reply.get("tool_calls") or []):
        blocks.append({"type": "tool_use", "id": call.get("id") or f"toolu_{index}_{n}",
                       "name": call["name"], "input": call.get("arguments", {})})
    return blocks


def messages(state: State, request: dict[str, Any]) -> Response:
    body = request["body"]
    problem = check_request(body)
    if problem:
        return _invalid(problem)
    outcome = take_reply(state, request)
    if isinstance(outcome, Failure):
        return error(outcome)
    if outcome.get("disconnect"):
        return Response(disconnect=True)
    content = _content(outcome, request["index"])
    has_calls = any(b["type"] == "tool_use" for b in content)
    stop = outcome.get("finish_reason") or ("tool_use" if has_calls else "end_turn")
    override = outcome.get("usage") or {}
    usage = {"input_tokens": int(override.get("prompt_tokens", _prompt_tokens(body))),
             "output_tokens": int(override.get("completion_tokens", completion_tokens(outcome)))}
    message = {"id": f"msg_{request['index']}", "type": "message", "role": "assistant",
               "model": body["model"], "content": content, "stop_reason": stop,
               "stop_sequence": None, "usage": usage}
    if not body.get("stream"):
        return Response(body=message)
    return Response(stream=_sse(message), content_type="text/event-stream",
                    chunk_delay=float(outcome.get("chunk_delay") or 0.0))


def _sse(message: dict[str, Any]) -> Iterator[bytes]:
    def event(kind: str, data: dict[str, Any]) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None,
             "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}
    yield event("message_start", {"message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield event("content_block_start",
                        {"index": index, "content_block": {"type": "text", "text": ""}})
            for piece in split_text(block["text"]):
                yield event("content_block_delta",
                            {"index": index, "delta": {"type": "text_delta", "text": piece}})
        else:
            yield event("content_block_start",
                        {"index": index, "content_block": {**block, "input": {}}})
            for fragment in split_fragments(json.dumps(block["input"])):
                yield event("content_block_delta", {
                    "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment},
                })
        yield event("content_block_stop", {"index": index})
    yield event("message_delta", {
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"]},
    })
    yield event("message_stop", {})


def models(state: State, request: dict[str, Any]) -> Response:
    data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in state.script.models]
    return Response(body={"data": data, "has_more": False,
                          "first_id": data[0]["id"] if data else None,
                          "last_id": data[-1]["id"] if data else None})


ROUTES = {("POST", "/v1/messages"): messages, ("GET", "/v1/models"): models}


def _keys(headers: dict[str, str]) -> set[str]:
    """The key as sent: x-api-key, or a bearer token (what recent SDKs send)."""
    bearer = headers.get("authorization", "")
    return {headers.get("x-api-key", ""), bearer[7:] if bearer.startswith("Bearer ") else ""}


class _Handler(model_server._Handler):
    server: _Server

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = self.server.state.record(method, path, headers, body)
        route = ROUTES.get((method, path))
        if route is None:
            response = error(Failure(404, f"Not found: {method} {path}"))
        elif self.server.api_key not in _keys(headers):
            response = error(Failure(401, "invalid x-api-key or bearer token"))
        elif not headers.get("anthropic-version"):
            response = _invalid("anthropic-version: header is required")
        elif not isinstance(body, dict):
            response = _invalid("the request body is not a JSON object")
        else:
            try:
                response = route(self.server.state, request)
            except Exception as exc:  # a broken reply function must fail the test, not hang it
                response = error(Failure(500, f"fake server: handler error: {exc!r}"))
        self._write(response)


class _Server(model_server._Server):
    def __init__(self, port: int, state: State, api_key: str) -> None:
        super().__init__(port, state)
        self.RequestHandlerClass = _Handler
        self.api_key = api_key


class FakeAnthropicServer(model_server.FakeModelServer):
    """`with FakeAnthropicServer(Script(...)) as api:` then base_url=api.url, key API_KEY."""

    def __init__(self, script: Script | None = None, *, api_key: str = API_KEY) -> None:
        super().__init__(script or Script(models=list(MODELS)))
        self.api_key = api_key

    def start(self) -> FakeAnthropicServer:
        self._server = _Server(self._port, self.state, self.api_key)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def message_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/v1/messages"]
