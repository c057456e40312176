"""`ca bench run | compare | humaneval`: benchmark runners on requirement suites and HumanEval."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from code_assistant.errors import CAError

bench_app = typer.Typer(
    help="Benchmarks: requirement suites through several runners, compared; HumanEval pass@k.",
    no_args_is_help=True,
)
RUNNER_HELP = "local (the pipeline), claude[:MODEL], openai:MODEL or ollama:MODEL; repeatable."


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


def _out_dir(ctx: typer.Context, out: str | None) -> Path:
    """--out, else bench/results/<timestamp>/ under the current directory (never reused)."""
    import time

    from code_assistant.cli import options_of

    if out:
        return Path(out).expanduser().resolve()
    options = options_of(ctx)
    base = Path(options.cwd) if options.cwd else Path.cwd()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = base / "bench" / "results" / stamp
    n = 2
    while target.exists():
        target = base / "bench" / "results" / f"{stamp}-{n}"
        n += 1
    return target.resolve()


def _err(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)


def _suite_progress(result: dict[str, Any], done: int, total: int) -> None:
    from code_assistant.bench.report import passed_of

    _err(
        f"[{done}/{total}] {result['task']} × {result['runner']} #{result['sample']}: "
        f"{result['status']}, {result['seconds']:.1f}s, {result['model_calls']} calls, "
        f"{result['lines']} lines, tests {passed_of(result['tests'])}, held-out "
        f"{passed_of(result['heldout'])}, {result['syntax_errors']} syntax errors"
    )


@bench_app.command("run", help="Run each requirement document of SUITE_DIR through runners.")
def run(
    ctx: typer.Context,
    suite: str = typer.Argument(..., metavar="SUITE_DIR", help="Folder of *.md / *.txt docs."),
    runner: list[str] = typer.Option([], "--runner", "-r", metavar="RUNNER", help=RUNNER_HELP),
    samples: int = typer.Option(1, "--samples", "-k", min=1, help="Attempts per doc and runner."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1,
                             help="Concurrent jobs for remote backends (local ones: 1)."),
    timeout: float = typer.Option(1800.0, "--timeout", min=1, help="Seconds per attempt."),
    test_timeout: float = typer.Option(300.0, "--test-timeout", min=1,
                                       help="Seconds per test run of the scorer."),
    out: str | None = typer.Option(None, "--out", help="Results directory."),
    keep: bool = typer.Option(False, "--keep", help="Keep each workspace in the results."),
) -> None:
    from code_assistant.bench.harness import BenchOptions, run_suite
    from code_assistant.bench.report import write_report
    from code_assistant.bench.runners import parse_runners
    from code_assistant.cli import options_of

    options = options_of(ctx)
    loaded = options.load()
    base = Path(options.cwd) if options.cwd else Path.cwd()
    suite_dir = Path(suite).expanduser()
    suite_dir = suite_dir if suite_dir.is_absolute() else base / suite_dir
    bench = BenchOptions(parse_runners(runner, loaded.config), samples, jobs, timeout,
                         test_timeout, keep)
    target = _out_dir(ctx, out)
    data = run_suite(loaded, suite_dir, bench, target, on_result=_suite_progress)
    paths = write_report(target, data)
    unreached = [r for r in data["results"] if not r.get("reached", True)]
    if data["interrupted"]:
        raise typer.Exit(130)
    if unreached and len(unreached) == len(data["results"]):
        # No runner did any work: a report of error rows would read as a result.
        raise unreached_error(unreached, len(data["results"]), target / "logs")
    print(paths["md"].read_text(encoding="utf-8"))
    _err(f"results: {paths['json']}\nreport: {paths['md']}\nhtml: {paths['html']}")
    if unreached:
        raise unreached_error(unreached, len(data["results"]), target / "logs")


def unreached_error(unreached: list[dict[str, Any]], total: int, logs: Path) -> CAError:
    """One line for runs that never reached their model, with the exit code `ca` gave them."""
    from code_assistant.bench.harness import resume_hint
    from code_assistant.errors import BackendUnavailable, ModelNotFound

    first = unreached[0]
    reason = resume_hint(first["error"], None).removeprefix("ca: error: ").strip().rstrip(".")
    runners = ", ".join(dict.fromkeys(r["runner"] for r in unreached))
    cls = ModelNotFound if first["exit_code"] == ModelNotFound.exit_code else BackendUnavailable
    if len(unreached) == total:
        return cls(f"no run reached its model ({runners}: {reason}): nothing to score;"
                   f" logs: {logs}")
    return cls(f"{len(unreached)} of {total} runs did not reach their model ({runners}:"
               f" {reason}): their rows are not scores; logs: {logs}")


@bench_app.command("compare", help="Compare two result sets (directories or results.json).")
def compare(
    a: str = typer.Argument(..., metavar="A", help="The first results directory."),
    b: str = typer.Argument(..., metavar="B", help="The second results directory."),
    out: str | None = typer.Option(None, "--out", help="Also write the comparison here."),
) -> None:
    from code_assistant.bench.compare import compare as compare_results

    text = compare_results(Path(a).expanduser(), Path(b).expanduser())
    if out:
        Path(out).expanduser().write_text(text, encoding="utf-8")
    print(text, end="")


@bench_app.command("humaneval", help="HumanEval pass@k of the implementer's model.")
def humaneval(
    ctx: typer.Context,
    samples: int = typer.Option(1, "--samples", "-n", min=1, help="Samples per problem."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first M problems."),
    repair_rounds: int = typer.Option(0, "--repair-rounds", min=0, max=10,
                                      help="Fix rounds against the docstring examples."),
    runner: list[str] = typer.Option([], "--runner", "-r", metavar="RUNNER", help=RUNNER_HELP),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1,
                             help="Concurrent samples for remote backends (local ones: 1)."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds per program run."),
    temperature: float | None = typer.Option(
        None, "--temperature", min=0, max=2, help="Default: config's for 1 sample, else 0.8."
    ),
    out: str | None = typer.Option(None, "--out", help="Results directory."),
) -> None:
    from code_assistant.bench.humaneval import HumanEvalOptions, run_humaneval, write_samples
    from code_assistant.bench.report import write_report
    from code_assistant.bench.runners import parse_runners
    from code_assistant.cli import options_of

    loaded = options_of(ctx).load()
    options = HumanEvalOptions(parse_runners(runner, loaded.config), samples, limit,
                               repair_rounds, jobs, timeout, temperature)

    def progress(result: dict[str, Any], done: int, total: int) -> None:
        _err(f"[{done}/{total}] {result['task']} × {result['runner']} #{result['sample']}: "
             f"{result['status']} ({result['model_calls']} calls, "
             f"{result['repair_rounds']} repairs)")

    target = _out_dir(ctx, out)
    data = run_humaneval(loaded, options, on_result=progress)
    paths = write_report(target, data)
    write_samples(target / "samples.jsonl", data)
    print(paths["md"].read_text(encoding="utf-8"))
    _err(f"results: {paths['json']}\nreport: {paths['md']}\nhtml: {paths['html']}")
    if data["interrupted"]:
        raise typer.Exit(130)
