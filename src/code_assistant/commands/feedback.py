"""`ca feedback add|list|show|rm|stats|export`: the corrections learned from past sessions."""

from __future__ import annotations

from typing import Any

import typer

from code_assistant.commands import JsonOut

feedback_app = typer.Typer(
    help="Corrections learned from past sessions: add, inspect, remove, export for fine-tuning.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")


def _loaded(ctx: typer.Context) -> tuple[Any, bool]:
    from code_assistant.cli import options_of

    options = options_of(ctx)
    return options.load(), options.json


@feedback_app.command("add", help="Record your verdict on an answer: good or bad, with a note.")
def add(
    ctx: typer.Context,
    verdict: str = typer.Argument(..., metavar="good|bad"),
    note: str = typer.Argument("", help="Why (for bad: what was wrong)."),
    task: str = typer.Option("", "--task", help="The task the answer was for."),
    output: str = typer.Option("", "--output", help="The answer judged ('-': read stdin)."),
    correction: str = typer.Option("", "--correction", help="What the answer should have been."),
    persona: str = typer.Option("implementer", "--persona", help="Persona that answered."),
    model: str = typer.Option("", "--model", help="Model that answered (default: persona's)."),
) -> None:
    import sys

    from code_assistant.errors import UsageError
    from code_assistant.feedback.store import add_user_feedback

    loaded, _ = _loaded(ctx)
    if output == "-":
        output = sys.stdin.read()
    if note.strip() and not output.strip():
        # A note on no answer is an empty pair: nothing to learn from (issue 17).
        raise UsageError(
            "a note needs the answer it judges: add --output TEXT (or --output - for stdin) "
            "and --task TEXT; in the REPL, /feedback judges the last answer"
        )
    from code_assistant.agent.personas import PERSONAS

    if persona not in PERSONAS:
        raise UsageError(f"unknown persona {persona!r}: use one of {', '.join(PERSONAS)}")
    model = model or str(getattr(loaded.config, PERSONAS[persona].model_key))
    pair = add_user_feedback(
        loaded, verdict.strip().lower(), note, persona=persona, model=model, task=task,
        output=output, correction=correction,
    )
    print(f"recorded {pair.category} {pair.id}")


@feedback_app.command("list", help="Stored pairs, newest first.")
def list_pairs(
    ctx: typer.Context,
    persona: str = typer.Option("", "--persona", help="Only this persona's pairs."),
    category: str = typer.Option("", "--category", help="Only this category."),
    limit: int = typer.Option(30, "--limit", min=0, help="At most this many (0: all)."),
    json_out: JsonOut = False,
) -> None:
    import time

    from code_assistant.errors import UsageError
    from code_assistant.feedback.pairs import CATEGORIES
    from code_assistant.feedback.store import open_store

    if category and category not in CATEGORIES:
        raise UsageError(f"unknown category {category!r}: one of {', '.join(CATEGORIES)}")
    loaded, as_json = _loaded(ctx)
    pairs = [
        p for p in reversed(open_store(loaded).read())
        if (not persona or p.persona == persona) and (not category or p.category == category)
    ]
    pairs = pairs[:limit] if limit else pairs
    if json_out or as_json:
        from code_assistant.jsonlines import result

        result("feedback list", pairs=[p.model_dump() for p in pairs])
        return
    if not pairs:
        print("no feedback pairs yet")
        return
    for p in pairs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.created))
        task = " ".join(p.task.split())
        task = task if len(task) <= 50 else task[:47] + "..."
        print(f"{p.id}  {when}  {p.category:<19} {p.persona:<11} {p.summary()}  | {task}")


@feedback_app.command("show", help="One pair in full (an id or a unique prefix of it).")
def show(ctx: typer.Context, pair_id: str = typer.Argument(..., metavar="ID")) -> None:
    from code_assistant.feedback.store import open_store

    loaded, _ = _loaded(ctx)
    print(open_store(loaded).get(pair_id).model_dump_json(indent=2))


@feedback_app.command("rm", help="Delete pairs (ids or unique prefixes).")
def rm(ctx: typer.Context, pair_ids: list[str] = typer.Argument(..., metavar="ID...")) -> None:
    from code_assistant.feedback.store import open_store

    loaded, _ = _loaded(ctx)
    removed = open_store(loaded).remove(pair_ids)
    print(f"removed {len(removed)} pair(s): {' '.join(p.id for p in removed)}")


@feedback_app.command("stats", help="How many pairs per category, source, persona and model.")
def stats(
    ctx: typer.Context, json_out: JsonOut = False
) -> None:

    from code_assistant.feedback.store import open_store
    from code_assistant.feedback.store import stats as pair_stats

    loaded, as_json = _loaded(ctx)
    store = open_store(loaded)
    counts = pair_stats(store.read())
    counts["unreadable_lines"] = store.skipped
    if json_out or as_json:
        from code_assistant.jsonlines import result

        result("feedback stats", **counts)
        return
    print(f"{counts['total']} pairs ({counts['distinct']} distinct) in {store.path}")
    for group in ("by_category", "by_source", "by_persona", "by_model"):
        print(f"{group.replace('_', ' ')}:")
        for key, value in counts[group].items():
            print(f"  {key:<22} {value}")
    if store.skipped:
        print(f"{store.skipped} unreadable line(s) skipped")


@feedback_app.command("export", help="Training data for LoRA fine-tuning, one JSON per line.")
def export(
    ctx: typer.Context,
    fmt: str = typer.Option("chatml", "--format", help="chatml (Qwen tool calls) or sharegpt."),
    out: str = typer.Option(..., "--out", help="Output file ('-': standard output)."),
    persona: str = typer.Option("", "--persona", help="Only this persona's pairs."),
) -> None:
    import sys

    from code_assistant.feedback.export import export_pairs
    from code_assistant.feedback.store import open_store
    from code_assistant.workspace import build_registry

    loaded, _ = _loaded(ctx)
    pairs = [p for p in open_store(loaded).read() if not persona or p.persona == persona]
    result = export_pairs(
        pairs, fmt.strip().lower(), out,  # type: ignore[arg-type]
        lambda names: build_registry(loaded, names).specs,
    )
    where = "standard output" if out == "-" else out
    print(
        f"wrote {result.written} example(s) to {where} ({result.duplicates} duplicate(s), "
        f"{result.skipped} without a correction skipped)",
        file=sys.stderr if out == "-" else sys.stdout,
    )
