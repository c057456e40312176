"""The embedded backend's child process: runs llama.cpp and answers JSON lines on a pipe.

    python -m code_assistant.backends.llamacpp_worker

One request per line on stdin, replies on the original stdout: `{"token": ...}` lines while
a streamed reply is generated, then one `{"result": ...}` or `{"error": {"type", "message"}}`.
Native code may print to stdout, so the protocol keeps a private copy of fd 1 and fd 1 itself
is pointed at stderr. The process exits when its parent goes away or stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import IO, Any

from code_assistant.backends.base import ChatOptions, Message, ToolSpec
from code_assistant.errors import BackendError

PARENT_POLL_SECONDS = 1.0


def _serve(engine: Any, request: dict[str, Any], out: IO[str]) -> dict[str, Any]:
    op = request["op"]
    if op == "chat":
        path = engine.resolve(request["model"])
        # One chat model in memory at a time: a new model frees the previous one first.
        for loaded in engine.cache.loaded_chat_paths():
            if loaded != path:
                engine.cache.free(loaded)

        def relay(token: str) -> None:
            out.write(json.dumps({"token": token}) + "\n")
            out.flush()

        result = engine.chat(
            request["model"],
            [Message.from_dict(m) for m in request["messages"]],
            tools=[ToolSpec(**t) for t in request["tools"]],
            options=ChatOptions(**request["options"]),
            on_token=relay if request.get("stream") else None,
        )
        return {"result": result.to_dict()}
    if op == "embed":
        return {"result": engine.embed(request["model"], request["texts"])}
    if op == "unload":
        engine.unload(request["model"])
        return {"result": engine.loaded_models()}
    if op == "loaded":
        return {"result": engine.loaded_models()}
    if op == "ping":
        return {"result": os.getpid()}
    raise BackendError(f"unknown worker request {op!r}")


def _watch_parent(parent: int) -> None:
    """A worker whose `ca` died (kill -9) must not keep gigabytes of weights in memory."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(0)


def main() -> int:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    from code_assistant.backends.llamacpp_engine import LlamaCppEngine

    engine: LlamaCppEngine | None = None
    for line in sys.stdin:
        request = json.loads(line)
        if engine is None or engine.n_ctx != request["n_ctx"]:
            engine = LlamaCppEngine(n_ctx=request["n_ctx"])
        try:
            reply = _serve(engine, request, out)
        except BackendError as exc:
            reply = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        except Exception as exc:  # this process's outermost edge: ca gets one line, not a dead pipe
            message = f"llama.cpp failed: {type(exc).__name__}: {exc}"
            reply = {"error": {"type": "BackendServerError", "message": message}}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
