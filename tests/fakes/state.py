"""The fake server's memory: recorded requests, loaded models, and taking the next reply."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.script import Reply, ReplySource, Script, canonical_model, normalise_reply

CHAT_PATHS = frozenset({"/api/chat", "/v1/chat/completions"})


@dataclass
class Failure:
    """An error answer, rendered in the protocol's own error shape."""

    status: int
    message: str
    type: str = "server_error"
    code: str | None = None


@dataclass
class Response:
    """What a route answers: a JSON body, a stream of byte chunks, or a dropped connection."""

    status: int = 200
    body: Any = None
    stream: Iterable[bytes] | None = None
    content_type: str = "application/json"
    chunk_delay: float = 0.0
    disconnect: bool = False
    cut: bool = False  # a stream stops halfway: no finish, no [DONE], the connection drops
    after: Callable[[], None] | None = None  # runs once the answer is written (unloads)


@dataclass
class State:
    """Everything the server remembers; every method is safe to call from handler threads."""

    script: Script
    record_path: Path | None = None
    dialect: str = "openai"  # which local server /v1 behaves like (tests/fakes/dialects.py)
    requests: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    loaded: dict[str, float] = field(default_factory=dict)  # model -> time loaded
    max_loaded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
        model = (body.get("model") or body.get("name")) if isinstance(body, dict) else None
        options = body.get("options") if isinstance(body, dict) else None
        entry = {
            "path": path,
            "method": method,
            "body": body,
            "time": time.time(),
            "model": model,
            "headers": headers,
            "num_ctx": options.get("num_ctx") if isinstance(options, dict) else None,
        }
        with self.lock:
            entry["index"] = len(self.requests)
            self.requests.append(entry)
            if self.record_path is not None:
                with self.record_path.open("a", encoding="utf-8") as file:
                    file.write(json.dumps(entry) + "\n")
        return entry

    def has_model(self, model: str) -> bool:
        return canonical_model(model) in {canonical_model(m) for m in self.script.models}

    def next_reply(self) -> ReplySource | None:
        """The next scripted reply, the default when the list is empty, or None: exhausted."""
        with self.lock:
            if self.script.replies:
                return self.script.replies.pop(0)
            return self.script.default

    def enqueue(self, *replies: ReplySource) -> None:
        checked = Script(models=[], replies=list(replies)).replies
        with self.lock:
            self.script.replies.extend(checked)

    def set_script(self, script: Script) -> None:
        with self.lock:
            self.script = script

    def reset(self) -> None:
        """Forget requests, events and loaded models; the script stays."""
        with self.lock:
            self.requests.clear()
            self.events.clear()
            self.loaded.clear()
            self.max_loaded = 0

    def load(self, model: str) -> bool:
        """Mark the model loaded; True when it was not loaded before."""
        name = canonical_model(model)
        with self.lock:
            if name in self.loaded:
                return False
            self.loaded[name] = time.time()
            self.max_loaded = max(self.max_loaded, len(self.loaded))
            self.events.append({"event": "load", "model": name, "time": time.time()})
            return True

    def unload(self, model: str) -> bool:
        name = canonical_model(model)
        with self.lock:
            if self.loaded.pop(name, None) is None:
                return False
            self.events.append({"event": "unload", "model": name, "time": time.time()})
            return True

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "loaded": list(self.loaded),
                "max_loaded": self.max_loaded,
                "events": [dict(e) for e in self.events],
                "remaining": len(self.script.replies),
                "models": list(self.script.models),
            }


def not_found(model: str) -> Failure:
    return Failure(
        404, f'model "{model}" not found, try pulling it first', "invalid_request_error",
        "model_not_found",
    )


def take_reply(state: State, request: dict[str, Any]) -> Reply | Failure:
    """Check the model, take the next reply, wait its delay; a Failure for any mismatch."""
    model = request.get("model") or ""
    if not model:
        return Failure(400, "model is required", "invalid_request_error")
    if not state.has_model(model):
        return not_found(model)
    source = state.next_reply()
    if source is None:
        return Failure(500, "fake server: script exhausted")
    try:
        reply = normalise_reply(source(request) if callable(source) else source)
    except ValueError as exc:
        return Failure(500, f"fake server: bad reply: {exc}")
    expected = reply.get("model")
    if expected and canonical_model(expected) != canonical_model(model):
        return Failure(500, f"fake server: expected model {expected}, got {model}")
    if reply.get("delay"):
        time.sleep(float(reply["delay"]))
    error = reply.get("error")
    if error is not None:
        return Failure(
            int(error.get("status", 500)), str(error.get("message", "fake server error")),
            str(error.get("type", "server_error")), error.get("code"),
        )
    return reply
