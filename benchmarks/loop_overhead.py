"""Agent-loop harness overhead per turn, against an instant fake model over loopback HTTP.

    python benchmarks/loop_overhead.py [--turns 200]

Runs the real Agent for N tool-call turns (a trivial tool) with the real Ollama backend, timing
the time spent inside backend.chat separately. Loop time minus backend time, per turn, is what
the harness adds (tool dispatch, argument checks, events, message bookkeeping), measured in
the same run. Goal: <= 5 ms per turn.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script

from code_assistant.agent.loop import Agent
from code_assistant.backends.base import ChatOptions, Message
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.tools.registry import ToolContext, ToolRegistry, tool

MODEL = "qwen2.5-coder:14b"


@tool
def note(ctx: ToolContext, text: str) -> str:
    """Remember a short note.

    Args:
        text: the note
    """
    return f"noted: {text}"


class TimedBackend:
    """Passes every call through to the real backend, adding up the seconds spent in chat."""

    def __init__(self, inner: OllamaBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    def chat(self, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return self.inner.chat(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            self.seconds += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    turns = args.turns
    call = {"tool_calls": [{"name": "note", "arguments": {"text": "x"}}]}
    script = Script(replies=[call] * turns + [{"text": "done"}])
    with FakeModelServer(script) as server, tempfile.TemporaryDirectory() as tmp:
        backend = TimedBackend(OllamaBackend(host=server.url, timeout=30, retries=0))
        agent = Agent(
            backend=backend,  # type: ignore[arg-type]
            model=MODEL, tools=ToolRegistry([note]),
            ctx=ToolContext(root=Path(tmp)), options=ChatOptions(), on_event=lambda e: None,
            max_steps=turns + 1,
        )
        started = time.perf_counter()
        transcript = agent.run([Message("user", "take notes")])
        loop_seconds = time.perf_counter() - started
        backend.inner.close()
    assert transcript.tool_calls == turns, transcript.summary()
    calls = transcript.model_calls
    per_turn_loop = loop_seconds / calls * 1000
    per_turn_backend = backend.seconds / calls * 1000
    overhead = per_turn_loop - per_turn_backend
    print(f"turns: {turns} tool calls, {calls} model calls")
    print(f"agent loop       {per_turn_loop:7.2f} ms/turn")
    print(f"inside backend   {per_turn_backend:7.2f} ms/turn (HTTP to the instant fake)")
    print(f"harness overhead {overhead:6.2f} ms/turn  (goal <= 5 ms: "
          f"{'met' if overhead <= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
