"""Time to first token and tokens/s: ca's embedded worker vs the same GGUF in llama_cpp.server.

    python benchmarks/embedded_vs_server.py [--model 0.5b|1.5b|PATH.gguf] [--runs 3] [--tokens 64]

Both run llama.cpp with its default thread count, the same context size and greedy decoding;
the server is reached with streaming through ca's OpenAI-compatible backend, as a user of
`--backend openai` would. Runs alternate between the two so machine noise hits both. The
goal (issue 14): the embedded path within 10% of the server.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.realmodels import MODELS, model_path

from code_assistant.backends.base import ChatOptions, Message
from code_assistant.backends.llamacpp import LlamaCppBackend, WorkerProcess
from code_assistant.backends.openai_compat import OpenAICompatBackend

TOPICS = ["an ISO 8601 date", "a CSV line", "a semantic version", "a URL query string",
          "an HTTP date", "a duration like 1h30m", "a hex colour", "an IPv4 address"]


def prompt(run: int) -> list[Message]:
    """A new question each run: a repeated prompt would be answered from llama.cpp's cache."""
    topic = TOPICS[run % len(TOPICS)]
    return [
        Message("system", "You are a helpful coding assistant."),
        Message("user", f"Write a Python function that parses {topic}, then explain it."),
    ]


def measure(chat: Callable[..., object], run: int) -> tuple[float, float]:
    """Seconds to the first token, and tokens/s after it."""
    stamps: list[float] = []
    started = time.perf_counter()
    chat(prompt(run), on_token=lambda _: stamps.append(time.perf_counter()))
    if len(stamps) < 2:
        raise SystemExit("the model stopped before two tokens: raise --tokens or change TOPICS")
    return stamps[0] - started, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def start_server(gguf: Path, n_ctx: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
               "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--interrupt_requests",
               "False", "--model_alias", "m"]
    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).close()
            return process, url
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited: {log.read_text()[-1500:]}") from None
            time.sleep(0.5)
    raise SystemExit("llama_cpp.server did not come up in 180 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="0.5b", help="0.5b, 1.5b or a .gguf path")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--n-ctx", type=int, default=4096)
    args = parser.parse_args()
    gguf = model_path(args.model) if args.model in MODELS else Path(args.model)
    options = ChatOptions(max_tokens=args.tokens, temperature=0.0, seed=1)
    embedded = LlamaCppBackend(str(gguf), n_ctx=args.n_ctx, worker=WorkerProcess())
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_server(gguf, args.n_ctx, Path(scratch) / "server.log")
        server = OpenAICompatBackend(url, retries=0)
        try:
            lanes: dict[str, Callable[..., object]] = {
                "embedded": lambda messages, on_token: embedded.chat(
                    "m", messages, options=options, on_token=on_token),
                "server": lambda messages, on_token: server.chat(
                    "m", messages, options=options, on_token=on_token),
            }
            for chat in lanes.values():  # warm-up: load the weights
                measure(chat, len(TOPICS) - 1)
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in lanes}
            for run in range(args.runs):  # both lanes get the same new question each run
                for name, chat in lanes.items():
                    results[name].append(measure(chat, run))
        finally:
            embedded.worker.stop()
            server.close()
            process.terminate()
            process.wait(timeout=30)
    print(f"{gguf.name}, {args.tokens} tokens, {args.runs} runs each (median, min-max)")
    medians = {}
    for name, rows in results.items():
        ttft = [r[0] for r in rows]
        rate = [r[1] for r in rows]
        medians[name] = (statistics.median(ttft), statistics.median(rate))
        print(f"  {name:9} first token {medians[name][0]:.3f}s ({min(ttft):.3f}-{max(ttft):.3f})"
              f"  {medians[name][1]:.1f} tok/s ({min(rate):.1f}-{max(rate):.1f})")
    (e_ttft, e_rate), (s_ttft, s_rate) = medians["embedded"], medians["server"]
    print(f"  embedded/server: first token {e_ttft / s_ttft:.2f}x, tokens/s {e_rate / s_rate:.2f}x"
          " (goal: within 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
