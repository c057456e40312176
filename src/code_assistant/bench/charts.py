"""report.html: the report's tables plus matplotlib charts (PNG files, embedded inline too)."""

from __future__ import annotations

import base64
import html
from collections import defaultdict
from pathlib import Path
from typing import Any

from code_assistant.bench.report import (
    HUMANEVAL_COLUMNS,
    RUNNER_COLUMNS,
    SUITE_COLUMNS,
    humaneval_rows,
    passk_table,
    recovery_rows,
    runner_rows,
    suite_rows,
    summarize_suite,
)
from code_assistant.bench.runners import RECOVERY_KEYS

Series = dict[str, list[float]]
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em; }
img { max-width: 560px; }
"""


def _pyplot() -> Any:
    """matplotlib with the file-only Agg backend, imported only when a report is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(path: Path, title: str, ylabel: str, groups: list[str], series: Series,
              stacked: bool = False) -> Path:
    """Bars per group, one colour per series (side by side, or stacked)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    try:
        width = 0.8 if stacked else 0.8 / max(1, len(series))
        bottom = [0.0] * len(groups)
        for n, (label, values) in enumerate(series.items()):
            xs: list[float]
            if stacked:
                xs = list(range(len(groups)))
                ax.bar(xs, values, width, bottom=bottom, label=label)
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            else:
                xs = [i - 0.4 + width * (n + 0.5) for i in range(len(groups))]
                ax.bar(xs, values, width, label=label)
        ax.set_xticks(list(range(len(groups))))
        ax.set_xticklabels(groups, rotation=20 if len(groups) > 4 else 0, ha="right"
                           if len(groups) > 4 else "center")
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        top = max([*bottom, *(v for values in series.values() for v in values), 0.0])
        ax.set_ylim(0, top * 1.1 if top > 0 else 1)
        if series:
            ax.legend(fontsize="small")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def _mean_by_task(data: dict[str, Any], value: Any) -> tuple[list[str], Series]:
    """Per task (x) and runner (series): the mean of value(result) over samples."""
    tasks = [t["name"] for t in data["tasks"]]
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in data["results"]:
        cells[(r["task"], r["runner"])].append(float(value(r)))
    series = {
        runner["label"]: [
            sum(cells[(t, runner["label"])]) / len(cells[(t, runner["label"])])
            if cells[(t, runner["label"])] else 0.0
            for t in tasks
        ]
        for runner in data["runners"]
    }
    return tasks, series


def _pass_rate(result: dict[str, Any]) -> float:
    outcome = result.get("heldout") or result.get("tests")
    return outcome["passed"] / outcome["collected"] if outcome and outcome["collected"] else 0.0


def suite_charts(data: dict[str, Any], charts: Path) -> list[tuple[str, Path]]:
    specs = [
        ("time", "Wall time per task", "seconds", lambda r: r["seconds"]),
        ("calls", "Model calls per task", "calls", lambda r: r["model_calls"]),
        ("lines", "Lines written per task", "lines", lambda r: r["lines"]),
        ("tests", "Tests passed per task (held-out, else own)", "share passed", _pass_rate),
    ]
    made = []
    for name, title, ylabel, value in specs:
        groups, series = _mean_by_task(data, value)
        made.append((title, bar_chart(charts / f"{name}.png", title, ylabel, groups, series)))
    summary = summarize_suite(data)
    runners = [s["runner"] for s in summary]
    recoveries = {k: [float(s["recoveries"][k]) for s in summary] for k in RECOVERY_KEYS}
    title = "Recoveries by category"
    made.append((title, bar_chart(charts / "recoveries.png", title, "count", runners,
                                  recoveries, stacked=True)))
    return made


def humaneval_charts(data: dict[str, Any], charts: Path) -> list[tuple[str, Path]]:
    columns, rows = passk_table(data)
    ks = columns[2:]
    series = {row[0]: [float(v) for v in row[2:]] for row in rows}
    title = "pass@k by runner"
    made = [(title, bar_chart(charts / "passk.png", title, "pass@k", ks, series))]
    seconds: dict[str, float] = defaultdict(float)
    for r in data["results"]:
        seconds[r["runner"]] += r["seconds"]
    labels = [r["label"] for r in data["runners"]]
    title = "Model time by runner"
    made.append((title, bar_chart(charts / "time.png", title, "seconds", labels,
                                  {"seconds": [seconds[label] for label in labels]})))
    return made


def html_table(columns: list[str] | tuple[str, ...], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for value in row:
            number = value.replace(".", "", 1).replace("/", "", 1).isdigit()
            cells.append(f"<td{' class=num' if number else ''}>{html.escape(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _figure(title: str, path: Path, out: Path) -> str:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(str(path.relative_to(out)))
    return (f'<figure><img alt="{html.escape(title)}" data-file="{name}" '
            f'src="data:image/png;base64,{encoded}"><figcaption>{html.escape(title)}'
            "</figcaption></figure>")


def render_html(data: dict[str, Any], out: Path) -> str:
    """The whole page; the charts are written to out/charts/ and embedded, so it stands alone."""
    charts = out / "charts"
    if data["kind"] == "humaneval":
        made = humaneval_charts(data, charts)
        columns, rows = passk_table(data)
        tables = [("pass@k", html_table(columns, rows, "passk")),
                  ("Per problem", html_table(HUMANEVAL_COLUMNS, humaneval_rows(data),
                                             "results"))]
    else:
        made = suite_charts(data, charts)
        summary = summarize_suite(data)
        tables = [("Results", html_table(SUITE_COLUMNS, suite_rows(data["results"]), "results")),
                  ("By runner", html_table(RUNNER_COLUMNS, runner_rows(summary), "runners")),
                  ("Recoveries by category", html_table(*recovery_rows(summary), "recoveries"))]
    title = ("ca bench: HumanEval" if data["kind"] == "humaneval"
             else f"ca bench: suite {data['suite_name']}")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    parts += [f"<h2>{html.escape(name)}</h2>{table}" for name, table in tables]
    parts.append("<h2>Charts</h2>")
    parts += [_figure(chart_title, path, out) for chart_title, path in made]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
