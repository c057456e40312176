"""Real-model task suite: ca, ca run, aider and mini-swe-agent on the same llama.cpp server.

    flock /work/realmodel.lock python benchmarks/real_tasks.py --model 1.5b \
        --runner ca --runner aider --runner mini [--tasks a,b] [--timeout 300] \
        [--ca-src /work/baseline] --out DIR

Starts one `llama_cpp.server` (the GGUF from `python -m tests.realmodels MODEL`) behind a
counting proxy, runs every runner on every task in a fresh git workspace holding only the
task's starter, stops a run at the cap (its whole process group), scores it with the task's
hidden check and writes DIR/results.json and DIR/report.md (+ charts). `--server URL` uses a
server that is already running instead (the model name is then `--served-name`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.realtasks import report  # noqa: E402
from benchmarks.realtasks.proxy import CountingProxy  # noqa: E402
from benchmarks.realtasks.runners import RUNNERS, Context, command, metrics  # noqa: E402
from benchmarks.realtasks.server import N_CTX, gguf_path, llama_server  # noqa: E402
from benchmarks.realtasks.suite import Task, load_tasks, prepare_workspace, score  # noqa: E402

from code_assistant.bench.proc import run_process  # noqa: E402

IDLE_WAIT = 600.0  # a stopped agent's last call may run on for minutes on 2 cores


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="1.5b", choices=("0.5b", "1.5b"))
    parser.add_argument("--runner", action="append", choices=RUNNERS, dest="runners")
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: all)")
    parser.add_argument("--timeout", type=float, default=300.0, help="cap per task, seconds")
    parser.add_argument("--ca-src", type=Path, help="run ca from this source tree")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--server", help="use this running OpenAI-compatible server (root URL)")
    parser.add_argument("--served-name", default="", help="model name on --server")
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def label(kind: str, ca_src: Path | None) -> str:
    return f"{kind}@{ca_src.name}" if ca_src is not None and kind.startswith("ca") else kind


def run_one(kind: str, task: Task, args: argparse.Namespace, proxy: CountingProxy,
            model: str) -> dict[str, Any]:
    """One runner on one task: fresh workspace, capped run, model calls, hidden check."""
    scratch = (args.out / "work" / label(kind, args.ca_src) / task.name).resolve()
    workspace = prepare_workspace(task, scratch / "ws")
    ctx = Context(task, workspace, scratch, proxy.url, model, args.ca_src)
    argv, env = command(kind, ctx)
    proxy.take()
    done = run_process(argv, cwd=workspace, env=env, timeout=args.timeout,
                       stdout=scratch / "stdout.txt", stderr=scratch / "stderr.txt")
    proxy.wait_idle(IDLE_WAIT)
    calls = proxy.take()
    stdout = (scratch / "stdout.txt").read_text(encoding="utf-8", errors="replace")
    verdict = score(task, workspace)
    return {"runner": label(kind, args.ca_src), "task": task.name, "solved": verdict.solved,
            "check": verdict.message, "seconds": round(done.seconds, 1),
            "exit_code": done.exit_code, "timed_out": done.timed_out, "model_calls": calls,
            **metrics(kind, ctx, stdout)}


def _commit(tree: Path) -> str:
    done = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _meta(args: argparse.Namespace, server: str) -> dict[str, Any]:
    return {"model": args.model if not args.server else args.served_name,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()}",
            "server": server, "timeout": args.timeout,
            "ca_commit": _commit(args.ca_src or ROOT), "ca_src": str(args.ca_src or ROOT)}


def run_all(args: argparse.Namespace, upstream: str, model: str, server: str) -> dict[str, Any]:
    names = [n.strip() for n in args.tasks.split(",") if n.strip()]
    tasks = load_tasks(names)
    kinds = args.runners or ["ca"]
    data: dict[str, Any] = {"meta": _meta(args, server),
                            "runners": [label(k, args.ca_src) for k in kinds], "results": []}
    with CountingProxy(upstream) as proxy:
        for kind in kinds:
            for task in tasks:
                result = run_one(kind, task, args, proxy, model)
                data["results"].append(result)
                print(f"{result['runner']:<12} {task.name:<22} "
                      f"{'SOLVED' if result['solved'] else 'failed':<7}"
                      f"{result['seconds']:>7.0f}s {result['model_calls']:>3} calls  "
                      f"{result['check'][:70]}", flush=True)
                report.write(args.out, data)  # after every task: a crash keeps what was done
    return data


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the server and the running agent are stopped on the way out


def main(argv: list[str] | None = None) -> int:
    # A job started in the background ignores SIGINT, and SIGTERM kills without cleanup.
    before = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(parse_args(argv))
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _main(args: argparse.Namespace) -> int:
    args.out = args.out.resolve()
    if args.ca_src is not None:
        args.ca_src = args.ca_src.resolve()
        if not (args.ca_src / "src" / "code_assistant").is_dir():
            print(f"error: {args.ca_src} has no src/code_assistant", file=sys.stderr)
            return 2
    try:
        load_tasks([n.strip() for n in args.tasks.split(",") if n.strip()])
        if args.server:
            data = run_all(args, args.server.rstrip("/"), args.served_name or "model",
                           f"given server {args.server}")
        else:
            gguf = gguf_path(args.model)
            alias = f"qwen2.5-coder-{args.model}-instruct"
            server = (f"llama_cpp.server, {gguf.name} (Q4_K_M), n_ctx {N_CTX}, "
                      f"{args.threads} threads")
            with llama_server(gguf, alias, args.out / "server.log", args.threads) as url:
                data = run_all(args, url, alias, server)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = report.summarize(data["results"], data["runners"])
    print("\n".join(report.markdown_table(report.SUMMARY_COLUMNS, report.summary_rows(summary))))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
