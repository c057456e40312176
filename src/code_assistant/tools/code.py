"""Code tools for the model: search_code and find_symbols over the project index."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from code_assistant.errors import ToolError
from code_assistant.tools.registry import ToolContext, tool

if TYPE_CHECKING:
    from code_assistant.config import Config

SEARCH_MAX_RESULTS = 10
SYMBOLS_MAX_RESULTS = 60
KINDS = ("function", "method", "class", "struct", "enum", "trait", "interface", "impl",
         "constant", "type", "module", "macro")  # fmt: skip


class ProjectIndex:
    """The session's index handle: brought up to date on first use and after file changes."""

    def __init__(self, root: Path, config: Config) -> None:
        self.root = root
        self.config = config
        self.synced_changes: int | None = None

    def ensure_fresh(self, ctx: ToolContext) -> None:
        # The agent's own edits are the usual reason for staleness; a no-change update
        # costs a directory walk, so it runs once per batch of changes, not per call.
        if self.synced_changes == len(ctx.changes):
            return
        from code_assistant.index.build import update_index

        update_index(self.root, self.config)
        self.synced_changes = len(ctx.changes)


def _index(ctx: ToolContext) -> ProjectIndex:
    handle = ctx.index
    if handle is None or handle.root != ctx.root:
        config = ctx.config
        if config is None:
            from code_assistant.config import Config

            config = Config()
        handle = ProjectIndex(ctx.root, config)
        ctx.index = handle
    handle.ensure_fresh(ctx)
    return handle


@tool
def search_code(ctx: ToolContext, query: str, top_k: int = 5) -> str:
    """Search this project's code by keywords, identifiers or a description of what it does.

    Returns the best matching code chunks with their file path and line range. Use it to find
    where something is implemented before reading or editing files.

    Args:
        query: words, identifiers or a short description of the code to find.
        top_k: how many chunks to return (1 to 10).
    """
    from code_assistant.index.retrieve import QueryEmbedder, format_hit, search
    from code_assistant.index.store import db_path_for

    if not query.strip():
        raise ToolError("query is empty; give words or identifiers to search for")
    handle = _index(ctx)
    embedder = ctx.embedder
    embed = None if embedder is None else QueryEmbedder(embedder, handle.config.embedding_model)
    top_k = max(1, min(SEARCH_MAX_RESULTS, top_k))
    hits = search(db_path_for(ctx.root), query, top_k, embed)
    if not hits:
        if _indexed_files(ctx) == 0:
            return (
                f"no code matches {query!r}: the project has no source files yet. Use list_dir"
                " to see what is there, or write_file to create the file the task needs."
            )
        return (
            f"no code matches {query!r}. Try other words or an exact identifier, "
            "or find_symbols with part of a name."
        )
    blocks = [format_hit(hit) for hit in hits]
    return (
        f"{len(hits)} result(s) for {query!r}, best first:\n\n" + "\n\n".join(blocks)
        + "\n\nNext: read_file the file you need before editing it; edit_file needs its exact"
        " current text."
    )


def _indexed_files(ctx: ToolContext) -> int:
    from code_assistant.index.store import db_path_for, open_readonly

    store = open_readonly(db_path_for(ctx.root))
    if store is None:
        return 0
    try:
        return int(store.conn.execute("SELECT count(*) FROM files").fetchone()[0])
    finally:
        store.close()


def _suggest(ctx: ToolContext, name: str) -> str:
    from code_assistant.index.store import db_path_for, open_readonly

    store = open_readonly(db_path_for(ctx.root))
    if store is None:
        return ""
    try:
        names = [row[0] for row in store.conn.execute("SELECT DISTINCT name FROM symbols")]
    finally:
        store.close()
    wanted = name.rsplit(".", 1)[-1].lower()
    # A suggestion equal to the request would read as "it exists" after "nothing matches".
    by_lower = {n.lower(): n for n in names if n.lower() != wanted}
    close = [by_lower[n] for n in difflib.get_close_matches(wanted, by_lower, n=5, cutoff=0.6)]
    return f" Similar names that do exist: {', '.join(close)}." if close else ""


def _path_filter(ctx: ToolContext, path: str | None) -> str | None:
    """`path` as the index stores paths (relative, posix); None for the whole project.

    ".", "./", "" and the project's absolute root all mean the whole project; a glob keeps
    its pattern, with `**/` made a SQLite GLOB `*` (which already crosses directories).
    """
    from code_assistant.tools.paths import locate

    if path is None:
        return None
    cleaned = path.strip().replace("\\", "/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    if cleaned in ("", ".", "*", "**", "**/*"):
        return None
    if any(ch in cleaned for ch in "*?["):
        return cleaned.replace("**/", "*")
    found = locate(ctx.root, cleaned, must_exist=True)  # a ToolError names close paths
    return None if found.rel in ("", ".") else found.rel


def _describe(name: str | None, kind: str | None, path: str | None) -> str:
    pairs = (("name", name), ("kind", kind), ("path", path))
    return ", ".join(f"{key}={value!r}" for key, value in pairs if value)


def _symbol_lines(found: list[Any]) -> list[str]:
    lines = [
        f"{s.path}:{s.line} {s.kind} {s.qualname}"
        + (" (private)" if s.visibility == "private" else "")
        + f"  {s.signature}"
        for s in found[:SYMBOLS_MAX_RESULTS]
    ]
    if len(found) > SYMBOLS_MAX_RESULTS:
        lines.append(f"... more than {SYMBOLS_MAX_RESULTS}; narrow with kind or path")
    return lines


def _next_step(found: list[Any]) -> str:
    first = found[0]
    return (
        f"Next: read_file path={first.path!r} start_line={first.start_line} to see the code;"
        " edit_file needs the exact current text."
    )


@tool
def find_symbols(
    ctx: ToolContext, name: str | None = None, kind: str | None = None, path: str | None = None
) -> str:
    """Find definitions (functions, methods, classes, structs, traits, constants...) by name.

    Returns each match as `path:line kind name` with its signature line.

    Args:
        name: a name (case-insensitive), `Class.method`, a glob like `parse_*`, or part of one.
        kind: function, method, class, struct, enum, trait, interface, impl, constant, type.
        path: a file, a directory or a glob such as `*.py`; leave it out for the project.
    """
    from code_assistant.index.symbols import find_symbols as lookup

    name = name.strip() if isinstance(name, str) and name.strip() else None
    kind = kind.strip() if isinstance(kind, str) and kind.strip() else None
    if not (name or kind or path):
        raise ToolError("give at least one of name, kind or path")
    where = _path_filter(ctx, path)
    _index(ctx)
    found = lookup(ctx.root, name, kind, where, limit=SYMBOLS_MAX_RESULTS + 1)
    if found:
        # The hint comes first: a 1.5B model copied the line after a signature into old.
        return "\n".join([_next_step(found), *_symbol_lines(found)])
    what = _describe(name, kind, path)
    if name and (kind or where):
        elsewhere = lookup(ctx.root, name, None, None, limit=SYMBOLS_MAX_RESULTS + 1)
        if elsewhere:  # the name exists; only the filters were wrong
            return "\n".join([
                f"no symbols match {what}; without the kind and path filters {name!r} matches:",
                _next_step(elsewhere), *_symbol_lines(elsewhere),
            ])  # fmt: skip
    if not name:
        return (
            f"no definitions match {what}. kind is one of: {', '.join(KINDS)}; a path with no"
            " definitions (text, config, an unsupported language) has none. Use read_file to"
            " see a file, or list_dir to see the files."
        )
    return (
        f"no symbols match {what}: nothing by that name is defined in the project."
        f"{_suggest(ctx, name)} Try search_code with words from the code, or list_dir to see"
        " the files."
    )


def code_tools() -> list[Any]:
    """search_code and find_symbols."""
    return [search_code, find_symbols]
