"""The runners `ca bench` compares: the local pipeline, and one agent with tools on any backend.

Each runner is a `ca` child process in the task's workspace (so a timeout can stop it whole);
what it cost is read back from its own account (`ca do --json` result, or the pipeline's
report.json), while what it achieved is scored apart by the harness.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from code_assistant import jsonlines
from code_assistant.agent.events import Recoveries
from code_assistant.agent.personas import MODEL_KEYS
from code_assistant.errors import UsageError

if TYPE_CHECKING:
    from code_assistant.config import Config


RECOVERY_KEYS = tuple(f.name for f in fields(Recoveries))
# Backends whose server takes concurrent requests well; the rest run one job at a time.
CONCURRENT_BACKENDS = ("openai", "anthropic")
AGENT_INSTRUCTION = (
    "Implement this requirement now in the current directory (the project root; it is empty "
    "at the start) using your tools. Write tests for it too, run them, and fix what fails."
)
RUNNER_HELP = "local | claude[:MODEL] | openai:MODEL | ollama:MODEL"


@dataclass(frozen=True)
class Runner:
    """One way of doing a task: the pipeline, or a single agent on a backend and model."""

    label: str
    kind: Literal["pipeline", "agent"]
    backend: str
    model: str

    @property
    def concurrent(self) -> bool:
        return self.backend in CONCURRENT_BACKENDS

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.label)

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "kind": self.kind, "backend": self.backend,
                "model": self.model}


def parse_runner(spec: str, config: Config) -> Runner:
    """`local`, `claude`, `claude:MODEL`, `openai:MODEL` or `ollama:MODEL`."""
    spec = spec.strip()
    name, _, model = spec.partition(":")
    if spec == "local":
        models = dict.fromkeys(str(getattr(config, key)) for key in MODEL_KEYS)
        return Runner("local", "pipeline", config.backend, "+".join(models))
    if name == "claude":
        if not config.anthropic_api_key:
            raise UsageError(
                "the claude runner needs an Anthropic API key: set anthropic_api_key in "
                "~/.code-assistant/config.toml or CA_ANTHROPIC_API_KEY (machine-only)"
            )
        return Runner(spec, "agent", "anthropic", model or config.anthropic_model)
    if name in ("openai", "ollama") and model:
        return Runner(spec, "agent", name, model)
    raise UsageError(f"unknown runner {spec!r}; use {RUNNER_HELP}")


def parse_runners(specs: list[str], config: Config) -> list[Runner]:
    runners = [parse_runner(spec, config) for spec in specs or ["local"]]
    labels = [r.label for r in runners]
    duplicate = next((label for label in labels if labels.count(label) > 1), None)
    if duplicate:
        raise UsageError(f"runner {duplicate!r} is given twice; use --samples for repeats")
    return runners


def agent_task(requirement: str) -> str:
    return f"{requirement.strip()}\n\n---\n{AGENT_INSTRUCTION}"


def command(runner: Runner, requirement_path: Path, requirement: str) -> list[str]:
    """The `ca` command line that does the task in the current directory, unattended."""
    ca = [sys.executable, "-m", "code_assistant", "--yes"]
    if runner.kind == "pipeline":
        return [*ca, "run", "--json", str(requirement_path)]
    return [*ca, "--backend", runner.backend, "--model", runner.model,
            "do", "--json", "--", agent_task(requirement)]


def error_kind(stdout: str) -> str:
    """The kind of the `error` event a `ca --json` run ended with ("" when none)."""
    errors = [e for e in jsonlines.parse(stdout) if e["event"] == "error"]
    return str(errors[-1].get("error", "")) if errors else ""


def _recoveries(data: dict[str, Any] | None) -> dict[str, int]:
    data = data or {}
    return {key: int(data.get(key) or 0) for key in RECOVERY_KEYS}


def agent_metrics(stdout: str) -> dict[str, Any] | None:
    """From `ca do --json`: its result (or done) event; else what the events show so far."""
    events = jsonlines.parse(stdout)
    final = next((e for e in reversed(events) if e["event"] in ("result", "done")), None)
    if final is not None:
        stop = final.get("stop_reason", "")
        return _metrics(final, final.get("recoveries"), stop,
                        "done" if stop == "done" else "incomplete", final.get("final_text"))
    if not events:
        return None
    seen = {  # cut short (timeout, crash): calls seen, tokens unknown
        "model_calls": sum(e["event"] == "model_call" for e in events),
        "tool_calls": sum(e["event"] == "tool_call" for e in events),
    }
    return _metrics(seen, None, "", "incomplete", "")


def _metrics(
    counts: dict[str, Any], recoveries: Any, stop_reason: str, run_status: str, final_text: Any
) -> dict[str, Any]:
    """The metrics every ca runner reports; counts missing from `counts` are 0."""
    return {
        **{key: counts.get(key, 0)
           for key in ("model_calls", "tool_calls", "prompt_tokens", "completion_tokens")},
        "recoveries": _recoveries(recoveries),
        "stop_reason": stop_reason,
        "run_status": run_status,
        "final_text": str(final_text or "")[:500],
    }


def pipeline_metrics(workspace: Path) -> dict[str, Any] | None:
    """From the pipeline's own .ca/runs/<id>/report.json (written however the run ended)."""
    reports = sorted((workspace / ".ca" / "runs").glob("*/report.json"))
    if not reports:
        return None
    try:
        report = json.loads(reports[-1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    totals = report.get("totals") or {}
    status = report.get("status", "")
    models = [m for phase in report.get("phases") or [] for m in phase.get("models") or []]
    return {
        **_metrics(totals, report.get("recoveries"), status,
                   {"done": "done", "failed": "error"}.get(status, "incomplete"),
                   report.get("error")),
        "models": list(dict.fromkeys(models)),
        "pipeline_tests_passed": (report.get("tests") or {}).get("passed"),
    }


def read_metrics(runner: Runner, workspace: Path, stdout: str) -> dict[str, Any] | None:
    if runner.kind == "pipeline":
        return pipeline_metrics(workspace)
    return agent_metrics(stdout)
