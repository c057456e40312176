"""results.json and report.md (tables and a chart, in the style of `ca bench`) of one run."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from code_assistant.bench.charts import bar_chart
from code_assistant.bench.report import markdown_table

SUMMARY_COLUMNS = ("runner", "solved", "success", "median time (s)", "timeouts",
                   "model calls (median)", "model calls (total)", "recoveries",
                   "most repeats of one call")


def _number(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float))]


def summarize(results: list[dict[str, Any]], runners: list[str]) -> list[dict[str, Any]]:
    """Per runner: solved share, median time, model calls (proxy count), recoveries."""
    summary = []
    for runner in runners:
        mine = [r for r in results if r["runner"] == runner]
        if not mine:
            continue
        calls = _number([r["model_calls"] for r in mine])
        recoveries = _number([r.get("recoveries") for r in mine])
        repeats = _number([r.get("max_same_call") for r in mine])
        summary.append({
            "runner": runner, "tasks": len(mine),
            "solved": sum(1 for r in mine if r["solved"]),
            "success_rate": sum(1 for r in mine if r["solved"]) / len(mine),
            "median_seconds": statistics.median(r["seconds"] for r in mine),
            "timeouts": sum(1 for r in mine if r["timed_out"]),
            "median_model_calls": statistics.median(calls) if calls else None,
            "model_calls": int(sum(calls)),
            "recoveries": int(sum(recoveries)) if recoveries else None,
            "max_same_call": int(max(repeats)) if repeats else None,
        })
    return summary


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def summary_rows(summary: list[dict[str, Any]]) -> list[list[str]]:
    return [[s["runner"], f"{s['solved']}/{s['tasks']}", f"{s['success_rate']:.0%}",
             f"{s['median_seconds']:.0f}", str(s["timeouts"]), _cell(s["median_model_calls"]),
             str(s["model_calls"]), _cell(s["recoveries"]), _cell(s["max_same_call"])]
            for s in summary]


def task_rows(results: list[dict[str, Any]], runners: list[str]) -> list[list[str]]:
    """One row per task: per runner 'yes'/'no'/'timeout' and seconds."""
    cells = {(r["task"], r["runner"]): r for r in results}
    tasks = list(dict.fromkeys(r["task"] for r in results))
    rows = []
    for task in tasks:
        row = [task]
        for runner in runners:
            r = cells.get((task, runner))
            if r is None:
                row.append("")
                continue
            verdict = "yes" if r["solved"] else ("timeout" if r["timed_out"] else "no")
            row.append(f"{verdict} {r['seconds']:.0f}s")
        rows.append(row)
    return rows


def render_markdown(data: dict[str, Any]) -> str:
    runners = data["runners"]
    summary = summarize(data["results"], runners)
    meta = data["meta"]
    lines = [f"# Real-model tasks: {meta['model']} ({meta['date']})", "",
             f"Server: {meta['server']}. Machine: {meta['machine']}. "
             f"Cap per task: {meta['timeout']:.0f} s.", "", "## By runner", ""]
    lines += markdown_table(SUMMARY_COLUMNS, summary_rows(summary))
    lines += ["", "## By task", ""]
    lines += markdown_table(["task", *runners], task_rows(data["results"], runners))
    lines += ["", "## Why each failed", ""]
    failed = [[r["task"], r["runner"], r["check"][:160]] for r in data["results"]
              if not r["solved"]]
    lines += markdown_table(["task", "runner", "hidden check says"], failed) if failed else [
        "Nothing failed."]
    lines += ["", "![success rate and time per runner](charts/runners.png)", ""]
    return "\n".join(lines)


def write(out: Path, data: dict[str, Any]) -> None:
    """results.json, report.md and charts/runners.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    data = {**data, "summary": summarize(data["results"], data["runners"])}
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    summary = data["summary"]
    if summary:
        groups = [s["runner"] for s in summary]
        bar_chart(out / "charts" / "runners.png",
                  f"Real tasks solved, {data['meta']['model']}", "share solved", groups,
                  {"solved": [s["success_rate"] for s in summary]})
        bar_chart(out / "charts" / "time.png", "Median time per task", "seconds", groups,
                  {"median time": [s["median_seconds"] for s in summary]})
    (out / "report.md").write_text(render_markdown(data), encoding="utf-8")
