"""Index commands: `ca index`, `ca search` and `ca symbols` (the code index in .ca/index.db)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from code_assistant.app import App
from code_assistant.commands import JsonOut

if TYPE_CHECKING:
    from code_assistant.backends.base import Backend
    from code_assistant.config import Config


def register(app: typer.Typer) -> None:
    app.command("index", help="Index the project's code (incremental) into .ca/index.db.")(
        index_command
    )
    app.command("search", help="Search the project's code (BM25 + vectors, fused).")(search_command)
    app.command("symbols", help="Print the symbol map: the most important definitions.")(
        symbols_command
    )


def _load(ctx: typer.Context, path: str | None) -> Any:
    from pathlib import Path

    from code_assistant.cli import options_of
    from code_assistant.errors import UsageError

    options = options_of(ctx)
    if path is None:
        return options.load()
    from code_assistant.config import load_config

    root = Path(path).expanduser()
    if not root.is_dir():
        raise UsageError(f"{path}: not a directory (give the project directory to index)")
    loaded = load_config(root.resolve(), options.cli)
    for warning in loaded.warnings:
        print(f"ca: warning: {warning}", file=sys.stderr)
    return loaded


def _embedding_backend(config: Config, notices: list[str]) -> Backend | None:
    from code_assistant.backends import get_backend
    from code_assistant.errors import CAError

    try:
        return get_backend(config)
    except CAError as exc:
        notices.append(f"embeddings skipped ({exc})")
        return None


def _close(backend: Backend | None) -> None:
    close = getattr(backend, "close", None)
    if close is not None:
        close()


def _progress_bar(enabled: bool) -> Any:
    """A rich progress bar on stderr, or a no-op context when output is for machines."""
    import contextlib

    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _update(loaded: App, *, embed: bool, show_progress: bool, static: bool = True) -> Any:
    from code_assistant.index.build import update_index

    notices: list[str] = []
    backend = _embedding_backend(loaded.config, notices) if embed else None
    with _progress_bar(show_progress) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if bar is None:
                return
            label = {"parse": "parsing", "embed": "embedding"}.get(phase, phase)
            if phase not in tasks:
                tasks[phase] = bar.add_task(label, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            stats = update_index(loaded.root, loaded.config, backend, progress, static=static)
        finally:
            _close(backend)
    if notices and backend is None and stats.embedded:
        notices[-1] += "; the bundled static embeddings stand in"
    stats.notices[:0] = notices
    for notice in stats.notices:
        print(f"ca: {notice}", file=sys.stderr)
    return stats


def index_command(
    ctx: typer.Context,
    path: str | None = typer.Argument(None, help="Project directory (default: this project)."),
    json_out: JsonOut = False,
    no_embed: bool = typer.Option(False, "--no-embed", help="Skip embeddings (lexical only)."),
) -> None:

    from code_assistant.cli import options_of

    as_json = json_out or options_of(ctx).json
    loaded = _load(ctx, path)
    stats = _update(loaded, embed=not no_embed, static=not no_embed,
                    show_progress=not as_json and sys.stderr.isatty())  # fmt: skip
    if as_json:
        from code_assistant.jsonlines import result

        result("index", **stats.to_dict())
        return
    print(
        f"indexed {stats.files} files: {stats.symbols} symbols, {stats.chunks} chunks, "
        f"{stats.vectors} vectors ({stats.indexed} parsed, {stats.removed} removed) "
        f"in {stats.seconds:.2f}s"
    )


def search_command(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="Words, identifiers or a description."),
    top_k: int = typer.Option(8, "--top-k", "-k", min=1, max=100, help="Results to show."),
    json_out: JsonOut = False,
) -> None:

    from code_assistant.cli import options_of
    from code_assistant.index.retrieve import QueryEmbedder, format_hit, search
    from code_assistant.index.store import db_path_for

    as_json = json_out or options_of(ctx).json
    loaded = _load(ctx, None)
    # Keep results current without waiting on a model: embedding new chunks is `ca index`'s job.
    stats = _update(loaded, embed=False, show_progress=False)
    notices: list[str] = []
    backend = _embedding_backend(loaded.config, notices) if stats.vectors else None
    embed = QueryEmbedder(backend, loaded.config.embedding_model) if backend else None
    try:
        hits = search(db_path_for(loaded.root), query, top_k, embed, notices)
    finally:
        _close(backend)
    for notice in notices:
        print(f"ca: {notice}", file=sys.stderr)
    if as_json:
        from code_assistant.jsonlines import result

        result("search", query=query, hits=[hit.to_json() for hit in hits])
        return
    if not hits:
        print(f"no matches for {query!r}", file=sys.stderr)
        raise typer.Exit(1)
    for hit in hits:
        print(format_hit(hit) + "\n")


def symbols_command(
    ctx: typer.Context,
    path: str | None = typer.Argument(None, help="Project directory (default: this project)."),
    budget: int | None = typer.Option(None, "--budget", min=1, help="Token budget."),
    focus: list[str] = typer.Option([], "--focus", help="Rank towards this file (repeatable)."),
    json_out: JsonOut = False,
) -> None:

    from code_assistant.backends.base import estimate_tokens
    from code_assistant.cli import options_of
    from code_assistant.index.symbol_map import render_symbol_map

    as_json = json_out or options_of(ctx).json
    loaded = _load(ctx, path)
    _update(loaded, embed=False, show_progress=not as_json and sys.stderr.isatty())
    tokens = budget or loaded.config.symbol_map_tokens or 1024
    text = render_symbol_map(loaded.root, tokens, focus)
    if as_json:
        from code_assistant.jsonlines import result

        result("symbols", map=text, tokens=estimate_tokens(text), budget=tokens)
        return
    print(text or "no symbols found (no supported source files?)")
