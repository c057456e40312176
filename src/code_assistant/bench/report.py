"""Bench results as files: results.json (the data), report.md (the tables), report.html."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from code_assistant.bench.runners import RECOVERY_KEYS
from code_assistant.errors import UsageError

SUITE_COLUMNS = ("task", "runner", "model", "sample", "status", "time (s)", "calls",
                 "tokens in/out", "lines (tests)", "tests passed", "held-out passed",
                 "syntax errors", "recoveries")
RUNNER_COLUMNS = ("runner", "model", "runs", "done", "timeouts", "errors", "mean time (s)",
                  "calls", "tokens in/out", "lines (tests)", "tests passed", "held-out passed",
                  "held-out all pass", "syntax errors")
HUMANEVAL_COLUMNS = ("task", "runner", "model", "time (s)", "calls", "tokens in/out",
                     "passed", "repair rounds")


def passed_of(outcome: dict[str, Any] | None) -> str:
    """'passed/collected' of one test outcome; '-' when no tests ran."""
    if not outcome:
        return "-"
    text = f"{outcome['passed']}/{outcome['collected']}"
    if outcome.get("note"):
        return f"{text} ({outcome['note']})"
    return text + " (timeout)" if outcome.get("timed_out") else text


def _ratio(passed: int, total: int) -> str:
    return f"{passed}/{total}" if total else "-"


def suite_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    """One row per result, in the order of SUITE_COLUMNS (markdown and HTML share them)."""
    return [
        [
            r["task"], r["runner"], r["model"], str(r["sample"]), r["status"],
            f"{r['seconds']:.1f}", str(r["model_calls"]),
            f"{r['prompt_tokens']}/{r['completion_tokens']}",
            f"{r['lines']} ({r['test_lines']})", passed_of(r["tests"]), passed_of(r["heldout"]),
            str(r["syntax_errors"]), str(sum(r["recoveries"].values())),
        ]
        for r in results
    ]


def _sum_tests(results: list[dict[str, Any]], key: str) -> tuple[int, int]:
    outcomes = [r[key] for r in results if r.get(key)]
    return sum(o["passed"] for o in outcomes), sum(o["collected"] for o in outcomes)


def summarize_suite(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per runner: runs by status, cost, output, and tests passed, over every task and sample."""
    summary = []
    for runner in data["runners"]:
        mine = [r for r in data["results"] if r["runner"] == runner["label"]]
        statuses = [r["status"] for r in mine]
        tests = _sum_tests(mine, "tests")
        held = _sum_tests(mine, "heldout")
        recoveries = {k: sum(r["recoveries"].get(k, 0) for r in mine) for k in RECOVERY_KEYS}
        summary.append({
            "runner": runner["label"], "model": runner["model"], "runs": len(mine),
            "done": statuses.count("done"), "timeouts": statuses.count("timeout"),
            "errors": statuses.count("error"),
            "mean_seconds": sum(r["seconds"] for r in mine) / len(mine) if mine else 0.0,
            "model_calls": sum(r["model_calls"] for r in mine),
            "prompt_tokens": sum(r["prompt_tokens"] for r in mine),
            "completion_tokens": sum(r["completion_tokens"] for r in mine),
            "lines": sum(r["lines"] for r in mine),
            "test_lines": sum(r["test_lines"] for r in mine),
            "tests_passed": tests[0], "tests_collected": tests[1],
            "heldout_passed": held[0], "heldout_collected": held[1],
            "heldout_all_pass": sum(1 for r in mine if (r.get("heldout") or {}).get("ok")),
            "heldout_runs": sum(1 for r in mine if r.get("heldout")),
            "syntax_errors": sum(r["syntax_errors"] for r in mine),
            "recoveries": {**recoveries, "total": sum(recoveries.values())},
        })
    return summary


def runner_rows(summary: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            s["runner"], s["model"], str(s["runs"]), str(s["done"]), str(s["timeouts"]),
            str(s["errors"]), f"{s['mean_seconds']:.1f}", str(s["model_calls"]),
            f"{s['prompt_tokens']}/{s['completion_tokens']}",
            f"{s['lines']} ({s['test_lines']})", _ratio(s["tests_passed"], s["tests_collected"]),
            _ratio(s["heldout_passed"], s["heldout_collected"]),
            _ratio(s["heldout_all_pass"], s["heldout_runs"]), str(s["syntax_errors"]),
        ]
        for s in summary
    ]


def recovery_rows(summary: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    columns = ["runner", *RECOVERY_KEYS, "total"]
    rows = [[s["runner"], *(str(s["recoveries"][k]) for k in (*RECOVERY_KEYS, "total"))]
            for s in summary]
    return columns, rows


def humaneval_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row per problem and runner: its samples taken together."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in data["results"]:
        groups[(r["task"], r["runner"])].append(r)
    rows = []
    for (task, runner), samples in groups.items():
        passed = sum(1 for s in samples if s["passed"])
        rows.append([
            task, runner, samples[0]["model"], f"{sum(s['seconds'] for s in samples):.1f}",
            str(sum(s["model_calls"] for s in samples)),
            f"{sum(s['prompt_tokens'] for s in samples)}/"
            f"{sum(s['completion_tokens'] for s in samples)}",
            f"{passed}/{len(samples)}", str(sum(s["repair_rounds"] for s in samples)),
        ])
    return rows


def passk_table(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    ks = sorted({k for v in data["pass_at_k"].values() for k in v}, key=lambda k: int(k[5:]))
    rows = [[r["label"], r["model"], *(f"{data['pass_at_k'][r['label']].get(k, 0.0):.3f}"
                                       for k in ks)] for r in data["runners"]]
    return ["runner", "model", *ks], rows


def markdown_table(columns: list[str] | tuple[str, ...], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    if data["kind"] == "humaneval":
        return _humaneval_markdown(data)
    summary = summarize_suite(data)
    options = data["options"]
    lines = [
        f"# ca bench: suite `{data['suite_name']}`",
        "",
        f"{data['created']} · {len(data['tasks'])} tasks × {len(data['runners'])} runners × "
        f"{options['samples']} samples · wall time {data['seconds']:.1f}s"
        + (" · **interrupted**" if data.get("interrupted") else ""),
        "",
        "## Results",
        "",
        *markdown_table(SUITE_COLUMNS, suite_rows(data["results"])),
        "",
        "Lines count every file written (tests in brackets); tests are run by the harness, "
        "the held-out tests are files the agent never saw.",
        "",
        "## By runner",
        "",
        *markdown_table(RUNNER_COLUMNS, runner_rows(summary)),
        "",
        "## Recoveries by category",
        "",
        *markdown_table(*recovery_rows(summary)),
    ]
    failures = [r for r in data["results"] if r["error"] or r["syntax_error_details"]]
    if failures:
        lines += ["", "## Problems", ""]
        for r in failures:
            where = f"{r['task']} × {r['runner']} #{r['sample']}"
            lines += [f"- {where}: {r['error']}"] if r["error"] else []
            lines += [f"- {where}: syntax: {d}" for d in r["syntax_error_details"]]
    return "\n".join(lines) + "\n"


def _humaneval_markdown(data: dict[str, Any]) -> str:
    options = data["options"]
    lines = [
        "# ca bench: HumanEval",
        "",
        f"{data['created']} · {data['problems']} problems × {options['samples']} samples · "
        f"repair rounds {options['repair_rounds']} · wall time {data['seconds']:.1f}s"
        + (" · **interrupted**" if data.get("interrupted") else ""),
        "",
        "## pass@k",
        "",
        *markdown_table(*passk_table(data)),
        "",
        "pass@k is the unbiased estimator of the Codex paper, averaged over problems.",
        "",
        "## Per problem",
        "",
        *markdown_table(HUMANEVAL_COLUMNS, humaneval_rows(data)),
    ]
    return "\n".join(lines) + "\n"


def write_report(out: Path, data: dict[str, Any]) -> dict[str, Path]:
    """results.json, report.md and report.html (with charts/*.png) in `out`."""
    from code_assistant.bench.charts import render_html
    from code_assistant.redact import redact_data, secret_values

    out.mkdir(parents=True, exist_ok=True)
    # Runner output and error texts can quote keys (an anthropic error, a printed env).
    data.update(redact_data(data, secret_values()))
    if data["kind"] == "suite":
        data["summary"] = summarize_suite(data)
    paths = {"json": out / "results.json", "md": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(data), encoding="utf-8")
    paths["html"].write_text(render_html(data, out), encoding="utf-8")
    return paths


def load_results(path: Path) -> dict[str, Any]:
    """A results.json, or the results directory holding one."""
    file = path / "results.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no bench results at {str(path)!r} (give a results directory "
                         "or its results.json)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read bench results {str(file)!r}: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") not in ("suite", "humaneval"):
        raise UsageError(f"{str(file)!r} is not a results.json written by `ca bench`")
    return data
