"""`ca bench compare A B`: two result sets side by side, per task and runner, as markdown."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from code_assistant.bench.report import load_results, markdown_table
from code_assistant.errors import UsageError

# (column, how to get it from one result, digits shown); means over samples.
SUITE_METRICS: tuple[tuple[str, Any, int], ...] = (
    ("time (s)", lambda r: r["seconds"], 1),
    ("calls", lambda r: r["model_calls"], 1),
    ("tokens", lambda r: r["prompt_tokens"] + r["completion_tokens"], 0),
    ("lines", lambda r: r["lines"], 0),
    ("syntax errors", lambda r: r["syntax_errors"], 1),
    ("recoveries", lambda r: sum(r["recoveries"].values()), 1),
)


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if digits else f"{round(value)}"


def _change(a: float | None, b: float | None, digits: int) -> str:
    text = f"{_number(a, digits)} → {_number(b, digits)}"
    if a is None or b is None or abs(b - a) < 10 ** -max(digits, 1) / 2:
        return text
    return f"{text} ({'+' if b > a else '−'}{_number(abs(b - a), digits)})"


def _tests(results: list[dict[str, Any]], key: str) -> str:
    outcomes = [r[key] for r in results if r.get(key)]
    if not outcomes:
        return "-"
    return f"{sum(o['passed'] for o in outcomes)}/{sum(o['collected'] for o in outcomes)}"


def _groups(data: dict[str, Any], by: tuple[str, ...]) -> dict[tuple[str, ...], list[Any]]:
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for result in data["results"]:
        groups[tuple(result[k] for k in by)].append(result)
    return groups


def _mean(results: list[dict[str, Any]] | None, value: Any) -> float | None:
    if not results:
        return None
    return sum(float(value(r)) for r in results) / len(results)


def _suite_rows(a: dict[str, Any], b: dict[str, Any], by: tuple[str, ...]) -> list[list[str]]:
    left, right = _groups(a, by), _groups(b, by)
    rows = []
    for key in sorted(set(left) | set(right)):
        ra, rb = left.get(key), right.get(key)
        row = [*key]
        row += [_change(_mean(ra, value), _mean(rb, value), digits)
                for _, value, digits in SUITE_METRICS]
        for test_key in ("tests", "heldout"):
            row.append(f"{_tests(ra or [], test_key)} → {_tests(rb or [], test_key)}")
        rows.append(row)
    return rows


def compare_suites(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    metrics = [name for name, _, _ in SUITE_METRICS] + ["tests passed", "held-out passed"]
    return [
        "## By task and runner", "",
        *markdown_table(["task", "runner", *metrics], _suite_rows(a, b, ("task", "runner"))),
        "", "## By runner", "",
        *markdown_table(["runner", *metrics], _suite_rows(a, b, ("runner",))),
    ]


def compare_humaneval(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    runners = sorted(set(a["pass_at_k"]) | set(b["pass_at_k"]))
    ks = sorted({k for d in (a, b) for v in d["pass_at_k"].values() for k in v},
                key=lambda k: int(k[5:]))
    rows = []
    for runner in runners:
        pa, pb = a["pass_at_k"].get(runner, {}), b["pass_at_k"].get(runner, {})
        rows.append([runner, *(_change(pa.get(k), pb.get(k), 3) for k in ks)])
    return ["## pass@k", "", *markdown_table(["runner", *ks], rows)]


def compare(path_a: Path, path_b: Path) -> str:
    """Markdown: every metric as `A → B (change)`; rows missing on one side show '-'."""
    a, b = load_results(path_a), load_results(path_b)
    if a["kind"] != b["kind"]:
        raise UsageError(f"cannot compare a {a['kind']} result set with a {b['kind']} one")
    lines = [
        "# ca bench compare", "",
        f"- A: `{path_a}` ({a['created']})",
        f"- B: `{path_b}` ({b['created']})", "",
    ]
    lines += compare_suites(a, b) if a["kind"] == "suite" else compare_humaneval(a, b)
    return "\n".join(lines) + "\n"
