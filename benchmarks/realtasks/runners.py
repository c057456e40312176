"""The four ways of doing a task: `ca` one-shot, `ca run` (the pipeline), aider and mini-swe-agent.

Each builds a command line and environment against the same (proxied) server, and reads back
what the tool itself says it did (ca's --json result, the pipeline's report.json, aider's
edit-format complaints, mini-swe-agent's trajectory). Success is never taken from these: the
hidden check decides.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_assistant import jsonlines
from code_assistant.bench.runners import agent_metrics, pipeline_metrics

from .suite import Task

RUNNERS = ("ca", "ca-run", "aider", "mini")
PEERS = Path(os.environ.get("REAL_TASKS_PEERS", "/work/peers"))
STEP_LIMIT = 30  # mini-swe-agent's step limit, the same as ca's default max_steps
# Variables that could point a runner at another service or at the user's own settings.
LEAKY = ("CA_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "AIDER_", "MSWEA_", "LITELLM_")


@dataclass(frozen=True)
class Context:
    """What a runner gets for one task."""

    task: Task
    workspace: Path
    scratch: Path  # private to this run, outside the workspace: homes, REQ.md, trajectories
    server: str  # the proxy's root URL; the OpenAI-compatible API is under /v1
    model: str  # the name the server serves the model under
    ca_src: Path | None = None  # run ca from this source tree instead of the installed one


def base_env(ctx: Context) -> dict[str, str]:
    """The caller's environment minus anything model-related, with a fresh HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY)}
    real_home = Path(os.environ.get("HOME", "/root"))
    home = ctx.scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        # Rust keeps its toolchain under the real home; the fresh HOME must not hide it.
        CARGO_HOME=os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
        RUSTUP_HOME=os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        NO_COLOR="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # no fetch of litellm's price list
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _ca(ctx: Context, env: dict[str, str]) -> list[str]:
    env.update(CA_HOME=str(ctx.scratch / "ca-home"), CA_OPENAI_BASE_URL=f"{ctx.server}/v1",
               CA_OPENAI_API_KEY="x")
    for persona in ("ARCHITECT", "IMPLEMENTER", "REVIEWER", "TESTER", "DOCS"):
        env[f"CA_{persona}_MODEL"] = ctx.model
    if ctx.ca_src is not None:
        env["PYTHONPATH"] = str(ctx.ca_src / "src")
    return [sys.executable, "-m", "code_assistant", "--backend", "openai", "--model", ctx.model,
            "--yes"]


def command(kind: str, ctx: Context) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of runner `kind` for this task, run in the workspace."""
    env = base_env(ctx)
    if kind == "ca":
        return [*_ca(ctx, env), "do", "--json", "--", ctx.task.sentence], env
    if kind == "ca-run":
        requirement = ctx.scratch / "REQ.md"
        requirement.write_text(ctx.task.sentence + "\n", encoding="utf-8")
        return [*_ca(ctx, env), "run", "--json", str(requirement)], env
    if kind == "aider":
        return [str(PEERS / "aider" / "bin" / "aider"), "--message", ctx.task.sentence,
                "--yes-always", "--no-git", "--no-auto-commits", "--no-analytics",
                "--no-check-update", "--no-show-model-warnings", "--no-show-release-notes",
                "--no-pretty", "--no-fancy-input", "--no-stream",
                "--model", f"openai/{ctx.model}", "--openai-api-base", f"{ctx.server}/v1",
                "--openai-api-key", "x", *ctx.task.starter_files()], env
    if kind == "mini":
        env.update(MSWEA_CONFIGURED="true", MSWEA_GLOBAL_CONFIG_DIR=str(ctx.scratch / "mini"),
                   MSWEA_COST_TRACKING="ignore_errors")
        return [str(PEERS / "mini" / "bin" / "mini"), "-y", "--exit-immediately",
                "-c", "mini_textbased.yaml",
                "-c", f"model.model_kwargs.api_base={ctx.server}/v1",
                "-c", "model.model_kwargs.api_key=x",
                "-c", "model.cost_tracking=ignore_errors",
                "-c", f"agent.step_limit={STEP_LIMIT}", "-c", "agent.cost_limit=0",
                "--model-class", "litellm_textbased", "-m", f"openai/{ctx.model}",
                "-t", ctx.task.sentence, "-o", str(ctx.scratch / "mini.traj.json")], env
    raise ValueError(f"unknown runner {kind!r}; use one of {', '.join(RUNNERS)}")


def max_same(calls: list[str]) -> int:
    """How often the most repeated call of a run was made (1: no call repeated)."""
    return max(Counter(calls).values(), default=0)


def _ca_metrics(stdout: str) -> dict[str, Any]:
    found = agent_metrics(stdout) or {}
    # the model's calls: ca's own runs of the task's check (ids check_*) are not its repeats
    calls = [json.dumps([e.get("name"), e.get("arguments")], sort_keys=True)
             for e in jsonlines.parse(stdout) if e["event"] == "tool_call"
             and not str(e.get("id", "")).startswith("check_")]
    recoveries = found.get("recoveries") or {}
    return {"agent_model_calls": found.get("model_calls"), "tool_calls": found.get("tool_calls"),
            "recoveries": sum(recoveries.values()), "recovery_kinds": recoveries,
            "stop_reason": found.get("stop_reason", ""), "max_same_call": max_same(calls)}


def _mini_metrics(trajectory: Path) -> dict[str, Any]:
    try:
        data = json.loads(trajectory.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"recoveries": None, "stop_reason": "no trajectory"}
    messages = data.get("messages") or []
    format_errors = sum(1 for m in messages if m.get("role") == "user"
                        and "EXACTLY ONE action" in str(m.get("content", "")))
    actions = [a.get("command", "") for m in messages if m.get("role") == "assistant"
               for a in (m.get("extra") or {}).get("actions") or []]
    info = data.get("info") or {}
    return {"agent_model_calls": (info.get("model_stats") or {}).get("api_calls"),
            "tool_calls": len(actions), "recoveries": format_errors,
            "stop_reason": info.get("exit_status", ""), "max_same_call": max_same(actions)}


def metrics(kind: str, ctx: Context, stdout: str) -> dict[str, Any]:
    """What the runner says it did. recoveries: ca's recovered malformed calls; peers: format
    errors their own parser reported back to the model (aider's edit format, mini's action)."""
    if kind == "ca":
        return _ca_metrics(stdout)
    if kind == "ca-run":
        found = pipeline_metrics(ctx.workspace) or {}
        recoveries = found.get("recoveries") or {}
        return {"agent_model_calls": found.get("model_calls"),
                "tool_calls": found.get("tool_calls"), "recoveries": sum(recoveries.values()),
                "recovery_kinds": recoveries, "stop_reason": found.get("stop_reason", "")}
    if kind == "aider":
        return {"recoveries": stdout.count("did not conform to the edit format"),
                "stop_reason": ""}
    return _mini_metrics(ctx.scratch / "mini.traj.json")
