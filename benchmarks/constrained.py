"""Tokens/s of an embedded GGUF with and without the tool-call grammar, and the overhead ratio.

    python benchmarks/constrained.py [--model PATH.gguf] [--runs 10] [--max-tokens 64]

Runs through LlamaCppEngine.chat (what the worker runs): what the agent pays. Three modes:
  free         no grammar
  envelope     the tool-call envelope over two small tools (short bounded strings)
  real-tools   the envelope over the built-in tools (text allowed, unbounded strings)
Each mode runs the same seeds; the ratio is free tok/s over constrained tok/s. The first call
with a new schema also compiles its grammar; that cost is printed on its own. Default model:
$CA_TEST_GGUF or ../shared/models/llama-2-tiny-random.gguf (random weights, 1.7 MB).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from code_assistant.agent.grammar import envelope_schema  # noqa: E402
from code_assistant.backends.base import ChatOptions, Message, ToolSpec  # noqa: E402
from code_assistant.backends.llamacpp_engine import LlamaCppEngine, ModelCache  # noqa: E402
from code_assistant.tools.builtin import builtin_tools  # noqa: E402

DEFAULT_MODEL = os.environ.get("CA_TEST_GGUF") or str(
    ROOT.parent / "shared" / "models" / "llama-2-tiny-random.gguf"
)
SMALL_TOOLS = [
    ToolSpec(
        "read_lines",
        "Show lines of a file.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "maxLength": 24},
                "start": {"type": "integer"},
            },
            "required": ["path", "start"],
        },
    ),
    ToolSpec(
        "grep",
        "Search for a pattern.",
        {
            "type": "object",
            "properties": {"pattern": {"type": "string", "maxLength": 16}},
            "required": ["pattern"],
        },
    ),
]
PROMPT = [Message("system", "You are a coding assistant."), Message("user", "Show me main.py")]


def measure(
    backend: LlamaCppEngine, schema: dict[str, Any] | None, runs: int, max_tokens: int
) -> tuple[int, float]:
    """Completion tokens and generation seconds over `runs` seeds."""
    tokens, seconds = 0, 0.0
    for seed in range(runs):
        options = ChatOptions(seed=seed, temperature=1.0, format=schema, max_tokens=max_tokens)
        result = backend.chat("bench", PROMPT, options=options)
        tokens += result.usage.completion_tokens
        seconds += result.seconds
    return tokens, seconds


def first_call_seconds(backend: LlamaCppEngine, schema: dict[str, Any]) -> tuple[float, float]:
    """One-token calls with a schema never seen, then with it compiled: (first, cached)."""
    options = ChatOptions(seed=0, format=schema, max_tokens=1)
    first = backend.chat("bench", PROMPT, options=options).seconds
    cached = backend.chat("bench", PROMPT, options=options).seconds
    return first, cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=1024)
    args = parser.parse_args()

    backend = LlamaCppEngine(args.model, n_ctx=args.n_ctx, cache=ModelCache())
    backend.chat("bench", PROMPT, options=ChatOptions(max_tokens=1))  # load outside timing
    real = envelope_schema([t.spec for t in builtin_tools()])
    first, cached = first_call_seconds(backend, real)
    modes = {
        "free": None,
        "envelope": envelope_schema(SMALL_TOOLS, allow_text=False),
        "real-tools": real,
    }
    print(f"model: {args.model}  runs: {args.runs}  max_tokens: {args.max_tokens}")
    print(f"{'mode':<12}{'tokens':>8}{'seconds':>10}{'tok/s':>10}{'overhead':>10}")
    base_rate = 0.0
    for name, schema in modes.items():
        tokens, seconds = measure(backend, schema, args.runs, args.max_tokens)
        rate = tokens / seconds if seconds else 0.0
        base_rate = base_rate or rate
        overhead = base_rate / rate if rate else float("inf")
        print(f"{name:<12}{tokens:>8}{seconds:>10.2f}{rate:>10.1f}{overhead:>9.1f}x")
    print(
        f"grammar compile for the built-in tools (first call minus cached): "
        f"{(first - cached) * 1000:.0f} ms"
    )
    backend.unload("bench")


if __name__ == "__main__":
    main()
