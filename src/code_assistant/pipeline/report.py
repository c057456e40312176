"""The run report: .ca/runs/<id>/report.json and report.md, built from the run's state."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from code_assistant.pipeline.state import PHASES, RunState, RunStore

TOTALS = ("seconds", "model_calls", "failed_calls", "tool_calls", "prompt_tokens",
          "completion_tokens", "lines_added", "lines_removed")


def build_report(state: RunState) -> dict[str, Any]:
    """Everything measured in a run, as plain JSON data."""
    phases = []
    recoveries: Counter[str] = Counter()
    for name in PHASES:
        record = state.phases[name]
        recoveries.update(record.recoveries)
        phases.append({
            **record.model_dump(exclude={"syntax_errors", "recoveries"}),
            "seconds": round(record.seconds, 3),
            "syntax_errors": len(record.syntax_errors),
            "syntax_error_details": record.syntax_errors,
            "recoveries": dict(record.recoveries),
        })
    totals: dict[str, Any] = {key: sum(p[key] for p in phases) for key in TOTALS}
    totals["seconds"] = round(totals["seconds"], 3)
    totals["syntax_errors"] = sum(p["syntax_errors"] for p in phases)
    severities = Counter(f.severity for f in state.findings)
    return {
        "run_id": state.id,
        "status": state.status,
        "error": state.error,
        "requirement_path": state.requirement_path,
        "intent": state.plan.intent if state.plan else None,
        "plan": state.plan.model_dump() if state.plan else None,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "resumes": state.resumes,
        "phases": phases,
        "totals": totals,
        "tests": {
            "command": state.test_command,
            "passed": state.tests_passed,
            "rounds": [r.model_dump(exclude={"tail"}) for r in state.test_rounds],
        },
        "findings": {
            "by_severity": {level: severities.get(level, 0) for level in ("HIGH", "MEDIUM", "LOW")},
            "items": [f.model_dump() for f in state.findings],
        },
        "recoveries": {**dict(recoveries), "total": sum(recoveries.values())},
        "architect_questions": [q.model_dump() for q in state.questions],
        "model_switches": [s.model_dump() for s in state.switches],
        "samples": [s.model_dump() for s in state.samples],
        "files_touched": state.files_touched,
        "checkpoints": state.checkpoints,
    }


def render_markdown(report: dict[str, Any]) -> str:
    """The report for people: a table per phase, then tests, findings and recoveries."""
    totals = report["totals"]
    lines = [
        f"# ca run {report['run_id']}",
        "",
        f"- status: **{report['status']}**" + (f" ({report['error']})" if report["error"] else ""),
        f"- requirement: `{report['requirement_path']}` (intent: {report['intent']})",
        f"- wall time {totals['seconds']:.1f}s, {totals['model_calls']} model calls, "
        f"{totals['prompt_tokens']} prompt + {totals['completion_tokens']} completion tokens",
        "",
        "| phase | status | models | time (s) | model calls | tool calls | prompt tok | "
        "completion tok | files | +lines | syntax errors | recoveries |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in report["phases"]:
        lines.append(
            f"| {p['name']} | {p['status']} | {', '.join(p['models'])} | {p['seconds']:.1f} | "
            f"{p['model_calls']} | {p['tool_calls']} | {p['prompt_tokens']} | "
            f"{p['completion_tokens']} | {len(p['files'])} | {p['lines_added']} | "
            f"{p['syntax_errors']} | {sum(p['recoveries'].values())} |"
        )
    lines += ["", "## Tests", ""]
    tests = report["tests"]
    if tests["rounds"]:
        lines.append(f"Command: `{tests['command']}`\n")
        lines += ["| round | collected | passed | failed | errors | exit | fixed after |",
                  "|---:|---:|---:|---:|---:|---:|---|"]
        for r in tests["rounds"]:
            lines.append(f"| {r['round']} | {r['collected']} | {r['passed']} | {r['failed']} | "
                         f"{r['errors']} | {r['exit_code']} | {'yes' if r['fixed'] else 'no'} |")
    else:
        lines.append("No test rounds ran.")
    findings = report["findings"]
    lines += ["", "## Review findings", "",
              ", ".join(f"{n} {level}" for level, n in findings["by_severity"].items())]
    for item in findings["items"]:
        where = f"{item['file']}:{item['line']}" if item["line"] else item["file"]
        lines.append(f"- **{item['severity']}** `{where}`: {item['message']}")
    recoveries = {k: v for k, v in report["recoveries"].items() if v and k != "total"}
    lines += ["", "## Recoveries", "",
              ", ".join(f"{k}: {v}" for k, v in recoveries.items()) or "none"]
    if report["architect_questions"]:
        lines += ["", "## Questions to the architect", ""]
        lines += [f"- {q['question']} → {q['answer']}" for q in report["architect_questions"]]
    if report["model_switches"]:
        lines += ["", "## Models unloaded", ""]
        lines += [f"- {s['unloaded']} before {s['loading']} ({s['phase']})"
                  for s in report["model_switches"]]
    if report["samples"]:
        lines += ["", *_samples_table(report["samples"])]
    return "\n".join(lines) + "\n"


def _samples_table(samples: list[dict[str, Any]]) -> list[str]:
    """Best-of-n: every implementer sample's score, and which one was kept."""
    lines = ["## Implementer samples", "",
             "Ranked by tests passed, then reviewer findings (read only when tests tie: - means "
             "not reviewed), then diff size.", "",
             "| sample | tests passed | failed | errors | findings | diff lines | files | "
             "time (s) | kept |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in samples:
        findings = "-" if s["findings"] is None else s["findings"]
        error = s["error"][:80].replace("|", "/")
        kept = "**yes**" if s["kept"] else (f"no (error: {error})" if error else "no")
        lines.append(f"| {s['sample']} | {s['passed']} | {s['failed']} | {s['errors']} | "
                     f"{findings} | {s['diff_lines']} | {len(s['files'])} | "
                     f"{s['seconds']:.1f} | {kept} |")
    return lines


def write_report(store: RunStore, state: RunState) -> Path:
    """Write report.json and report.md; the path of report.md."""
    report = build_report(state)
    store.write(state.id, "report.json", json.dumps(report, indent=2, default=str))
    return store.write(state.id, "report.md", render_markdown(report))
