"""The symbol map: each file's most important definitions with line numbers, in a token budget.

Files are ranked by PageRank over the reference graph (file A uses a name that file B
defines), personalised towards the files in focus, as aider's repo map does.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.errors import CAError
from code_assistant.index.parse import CONTAINERS
from code_assistant.index.store import IndexStore, db_path_for, open_readonly

DAMPING = 0.85
MAX_MEMBERS = 10
LINE_WIDTH = 100
_EXPORTING = frozenset({"rust", "javascript", "typescript", "tsx", "go"})


@dataclass
class _Sym:
    file_id: int
    name: str
    kind: str
    parent: str
    line: int
    start: int
    end: int
    public: bool
    score: float = 0.0
    members: list[_Sym] = field(default_factory=list)


def _decode_refs(blob: bytes | None) -> set[str]:
    try:
        return set(zlib.decompress(blob).decode("utf-8").split()) if blob else set()
    except (zlib.error, UnicodeDecodeError):
        return set()  # unreadable refs only cost this file its ranking


def _load(
    store: IndexStore,
) -> tuple[dict[int, tuple[str, str]], dict[int, set[str]], list[_Sym]]:
    files: dict[int, tuple[str, str]] = {}
    refs: dict[int, set[str]] = {}
    for fid, path, language, blob in store.conn.execute(
        "SELECT id, path, language, refs FROM files"
    ):
        files[fid] = (path, language)
        refs[fid] = _decode_refs(blob)
    symbols = [
        _Sym(fid, name, kind, parent, line, start, end, visibility == "public")
        for fid, name, kind, parent, line, start, end, visibility in store.conn.execute(
            "SELECT file_id, name, kind, parent, line, start_line, end_line, visibility"
            # Definitions inside function bodies are search targets, not the project's map.
            " FROM symbols WHERE visibility != 'local' ORDER BY file_id, start_line, end_line DESC"
        )
    ]
    return files, refs, symbols


def _pagerank(
    nodes: list[int], edges: dict[tuple[int, int], float], focus: set[int]
) -> dict[int, float]:
    import numpy as np

    index = {node: i for i, node in enumerate(nodes)}
    count = len(nodes)
    teleport = np.full(count, 1.0 / count)
    if focus:
        teleport[:] = 0.0
        for node in focus:
            teleport[index[node]] = 1.0 / len(focus)
    rank = teleport.copy()
    if edges:
        src = np.array([index[s] for s, _ in edges], dtype=np.int64)
        dst = np.array([index[d] for _, d in edges], dtype=np.int64)
        weight = np.array(list(edges.values()), dtype=np.float64)
        out = np.bincount(src, weights=weight, minlength=count)
        share = weight / out[src]
        dangling = out == 0
        for _ in range(60):
            spread = np.bincount(dst, weights=rank[src] * share, minlength=count)
            new = DAMPING * (spread + rank[dangling].sum() * teleport) + (1 - DAMPING) * teleport
            done = float(np.abs(new - rank).sum()) < 1e-9
            rank = new
            if done:
                break
    return {node: float(rank[index[node]]) for node in nodes}


def _rank(
    files: dict[int, tuple[str, str]], refs: dict[int, set[str]], symbols: list[_Sym],
    focus: set[int],
) -> None:  # fmt: skip
    """Score every symbol: the rank its file passes along references to its name."""
    definers: dict[str, set[int]] = defaultdict(set)
    for sym in symbols:
        definers[sym.name].add(sym.file_id)
    edges: dict[tuple[int, int], float] = defaultdict(float)
    uses = [(r, name) for r, names in refs.items() for name in names & definers.keys()]
    for referrer, name in uses:
        owners = definers[name]
        # Names defined all over (run, get, __init__) say little about who uses whom.
        weight = 0.1 if name.startswith("_") else 1.0
        weight *= 0.1 if len(owners) > 5 else 1.0
        for owner in owners:
            if owner != referrer:
                edges[(referrer, owner)] += weight / len(owners)
    rank = _pagerank(list(files), edges, focus)
    used: dict[tuple[int, str], float] = defaultdict(float)
    for referrer, name in uses:
        for owner in definers[name]:
            if owner != referrer:
                used[(owner, name)] += rank[referrer]
    for sym in symbols:
        prior = rank[sym.file_id] * (1.5 if sym.kind in CONTAINERS else 1.0)
        score = used.get((sym.file_id, sym.name), 0.0) + 0.05 * prior
        sym.score = score * (1.0 if sym.public else 0.2)


def _entries(symbols: list[_Sym]) -> list[_Sym]:
    """Top-level definitions, each holding its members (by nesting, or Go receiver name)."""
    tops: list[_Sym] = []
    stack: list[_Sym] = []
    orphans: list[_Sym] = []
    for sym in symbols:  # sorted by file, start, end desc
        while stack and (stack[-1].file_id != sym.file_id or stack[-1].end < sym.start):
            stack.pop()
        if stack and sym.end <= stack[-1].end:
            stack[-1].members.append(sym)
        elif sym.parent and sym.kind == "method":
            orphans.append(sym)
        else:
            tops.append(sym)
        if sym.kind in CONTAINERS and not (stack and sym.end <= stack[-1].end):
            stack.append(sym)
    owners = {(t.file_id, t.name): t for t in reversed(tops) if t.kind in CONTAINERS}
    for sym in orphans:
        owner = owners.get((sym.file_id, sym.parent))
        (owner.members if owner else tops).append(sym)
    for top in tops:
        top.score = max([top.score, *(m.score for m in top.members)])
    return tops


def _kind_word(sym: _Sym, language: str) -> str:
    # Words, not keywords: "def mean :1" was copied by a real model as edit_file's `old`.
    public = sym.public and sym.kind != "impl" and language in _EXPORTING
    return f"public {sym.kind}" if public else sym.kind


def _entry_text(sym: _Sym, language: str) -> str:
    """`name (kind, line N, members a, b)`: an outline entry that no language parses as code
    and that matches no line of the file, so it cannot pass for an edit snippet."""
    name = f"{sym.parent}.{sym.name}" if sym.kind == "method" and sym.parent else sym.name
    text = f"{name} ({_kind_word(sym, language)}, line {sym.line}"
    if sym.members:
        best = sorted(sym.members, key=lambda m: -m.score)[:MAX_MEMBERS]
        names = [m.name for m in sorted(best, key=lambda m: m.line)]
        more = len(sym.members) - len(best)
        text += ", members: " + ", ".join(names) + (f" +{more} more" if more > 0 else "")
    return text + ")"


def _render(
    chosen: list[_Sym], files: dict[int, tuple[str, str]], header: str
) -> str:  # fmt: skip
    by_file: dict[int, list[_Sym]] = {}
    for sym in chosen:
        by_file.setdefault(sym.file_id, []).append(sym)
    lines = [header]
    for fid, syms in by_file.items():
        path, language = files[fid]
        items = [_entry_text(sym, language) for sym in sorted(syms, key=lambda s: s.line)]
        current = f"{path}: {items[0]}"
        for item in items[1:]:
            if len(current) + len(item) + 2 > LINE_WIDTH:
                lines.append(current + ";")
                current = "  " + item  # the same file goes on, indented
            else:
                current += "; " + item
        lines.append(current)
    return "\n".join(lines)


def _header(files: dict[int, tuple[str, str]], symbols: list[_Sym]) -> str:
    file_count: dict[str, int] = defaultdict(int)
    sym_count: dict[str, int] = defaultdict(int)
    for _, language in files.values():
        file_count[language] += 1
    for sym in symbols:
        sym_count[files[sym.file_id][1]] += 1
    parts = [
        f"{lang} {file_count[lang]}/{sym_count[lang]}"
        for lang in sorted(file_count, key=lambda k: (-file_count[k], k))
    ]
    return (
        f"Symbol map (an outline, not code: read_file before editing): {len(files)} files,"
        f" {len(symbols)} symbols ({', '.join(parts)} files/symbols), most important first."
    )


def render_symbol_map(
    root: Path | str | IndexStore, budget_tokens: int, focus_files: Iterable[str] = ()
) -> str:
    """The map of the project's index within `budget_tokens` ("" without index or budget).

    `focus_files` (paths relative to the root) pull the ranking towards themselves and the
    files they use, e.g. the files mentioned in the chat.
    """
    from code_assistant.backends.base import estimate_tokens

    if budget_tokens <= 0:
        return ""
    try:
        store = root if isinstance(root, IndexStore) else open_readonly(db_path_for(Path(root)))
    except CAError:
        return ""  # a damaged index must not break a prompt; update_index rebuilds it
    if store is None:
        return ""
    try:
        files, refs, symbols = _load(store)
    finally:
        if store is not root:
            store.close()
    if not symbols:
        return ""
    wanted = {str(p).removeprefix("./") for p in focus_files}
    focus = {fid for fid, (path, _) in files.items() if path in wanted}
    _rank(files, refs, symbols, focus)
    # Files in focus come first; PageRank then orders what they (and the rest) depend on.
    entries = sorted(_entries(symbols), key=lambda s: (s.file_id not in focus, -s.score))
    header = _header(files, symbols)
    # Binary search for the most entries whose rendering fits the budget.
    low, high, best = 1, len(entries), ""
    while low <= high:
        middle = (low + high) // 2
        text = _render(_in_file_order(entries[:middle]), files, header)
        if estimate_tokens(text) <= budget_tokens:
            best, low = text, middle + 1
        else:
            high = middle - 1
    return best


def _in_file_order(chosen: list[_Sym]) -> list[_Sym]:
    """Group by file, files ordered by their best entry (`chosen` is best first)."""
    order: dict[int, int] = {}
    for position, sym in enumerate(chosen):
        order.setdefault(sym.file_id, position)
    return sorted(chosen, key=lambda s: (order[s.file_id], s.line))
