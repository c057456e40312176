"""The symbol map: each file's most important definitions with line numbers, in a token budget.

Files are ranked by PageRank over the reference graph (file A uses a name that file B
defines, or B's module name), personalised towards the files in focus, as aider's repo map
does; each file passes its rank to the names it uses. Names a package file re-exports
(`pkg/__init__.py`) count double, and tests, examples and private modules (`_compat.py`)
count less: on click, requests and flask the modules users open first lead the map
(benchmarks/symbol_map_rank.py).
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from code_assistant.errors import CAError
from code_assistant.index.parse import CONTAINERS
from code_assistant.index.store import IndexStore, db_path_for, open_readonly

DAMPING = 0.85
MAX_MEMBERS = 10
LINE_WIDTH = 100
_EXPORTING = frozenset({"rust", "javascript", "typescript", "tsx", "go"})
# The file that stands for its directory: `import pkg` reads pkg/__init__.py.
_PACKAGE_FILES = frozenset({"__init__", "index", "mod", "lib"})
EXPORTED = 2.0  # a name the package file re-exports is its public API
_SIDE_DIRS = frozenset({
    "test", "tests", "testing", "__tests__", "spec", "example", "examples", "doc", "docs",
    "bench", "benches", "benchmarks",
})  # fmt: skip
_TEST_FILE = re.compile(r"^(test_|conftest\.)|[_.-](test|spec)\.[^.]+$")


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
    copies: int = 1  # definitions of this name collapsed into this entry (overloads)


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


def _weight(name: str, owners: int) -> float:
    """How much using `name` says about who depends on whom (aider's repo map weights, less
    its x10 for long names: with refs a set, not counts, it let `PreparedRequest` and
    `RequestsDependencyWarning` outweigh `Session`; benchmarks/symbol_map_rank.py)."""
    weight = 0.1 if name.startswith("_") else 1.0
    if owners > 5:
        weight *= 0.1  # defined all over (run, get, __init__, name)
    return weight / owners


def _module_name(path: str) -> str:
    """The name other files use to import this one: `import requests`, `from .core import`."""
    parts = PurePosixPath(path).parts
    stem = PurePosixPath(path).stem
    return parts[-2] if stem in _PACKAGE_FILES and len(parts) > 1 else stem


def _package_dir(path: str) -> str | None:
    """The directory a package file (`pkg/__init__.py`, `src/index.ts`) stands for, else None."""
    pure = PurePosixPath(path)
    return str(pure.parent) if pure.stem in _PACKAGE_FILES else None


def _exported(
    owners: set[int], files: dict[int, tuple[str, str]], folder: str
) -> set[int]:  # fmt: skip
    """The owners a package file can re-export: top-level definitions inside its folder.

    `from .api import get` names api.py's `get`, not `Session.get` nor a test's `get`;
    without this, the names a package exports score like any name defined all over.
    """
    prefix = "" if folder == "." else folder + "/"
    return {o for o in owners if files[o][0].startswith(prefix)}


def _rank(
    files: dict[int, tuple[str, str]], refs: dict[int, set[str]], symbols: list[_Sym],
    focus: set[int],
) -> None:  # fmt: skip
    """Score every symbol: its share of the PageRank of the files that use its name.

    Each file passes its rank along its uses in proportion to their weights, so a file
    that uses a hundred names gives each a hundredth: a generic member name (`name`,
    `__init__`) used everywhere no longer outweighs the classes a package is built from.
    """
    definers: dict[str, set[int]] = defaultdict(set)
    top_level: dict[str, set[int]] = defaultdict(set)
    for sym in symbols:
        definers[sym.name].add(sym.file_id)
        if not sym.parent:
            top_level[sym.name].add(sym.file_id)
    for fid, (path, _) in files.items():
        definers[_module_name(path)].add(fid)
    uses: list[tuple[int, int, str, float]] = []
    exported: set[tuple[int, str]] = set()
    for referrer, names in refs.items():
        exporter = _package_dir(files[referrer][0])
        for name in names & definers.keys():
            owners = definers[name]
            if exporter is not None:
                public_api = _exported(owners & top_level[name], files, exporter)
                exported.update((o, name) for o in public_api if o != referrer)
                owners = public_api or owners
            weight = _weight(name, len(owners))
            uses.extend((referrer, o, name, weight) for o in owners if o != referrer)
    edges: dict[tuple[int, int], float] = defaultdict(float)
    out: dict[int, float] = defaultdict(float)
    for referrer, owner, _, weight in uses:
        edges[(referrer, owner)] += weight
        out[referrer] += weight
    rank = _pagerank(list(files), edges, focus)
    used: dict[tuple[int, str], float] = defaultdict(float)
    for referrer, owner, name, weight in uses:
        used[(owner, name)] += rank[referrer] * weight / out[referrer]
    factors = {fid: _file_factor(path) for fid, (path, _) in files.items()}
    for sym in symbols:
        prior = rank[sym.file_id] * (1.5 if sym.kind in CONTAINERS else 1.0)
        score = used.get((sym.file_id, sym.name), 0.0) + 0.05 * prior
        score *= EXPORTED if (sym.file_id, sym.name) in exported else 1.0
        sym.score = score * (1.0 if sym.public else 0.2) * factors[sym.file_id]


def _file_factor(path: str) -> float:
    """Tests, examples and docs use the package (they shape the ranking) but are not the
    package; a private module (`_compat.py`) holds its implementation details."""
    pure = PurePosixPath(path)
    if _SIDE_DIRS.intersection(pure.parts[:-1]) or _TEST_FILE.search(pure.name):
        return 0.3
    private = pure.stem.startswith("_") and not pure.stem.startswith("__")
    return 0.5 if private else 1.0


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
    tops = _collapse(tops)
    for top in tops:
        top.members = _collapse(top.members)
        # A private class is no more central for its members' names (`_Stream.name`).
        lifted = max((m.score for m in top.members), default=0.0) * (1.0 if top.public else 0.2)
        top.score = max(top.score, lifted)
    return tops


def _collapse(syms: list[_Sym]) -> list[_Sym]:
    """One entry per name and scope: `@overload` stubs, TypeScript overload signatures and
    `if WINDOWS: def f` variants list the name once, at its last definition (the one that
    runs), instead of filling the budget with `command; command; command`. Containers stay
    apart: Rust's `impl W` and `impl Default for W` each hold their own members."""
    kept: list[_Sym] = []
    where: dict[tuple[int, str, str, str], int] = {}
    for sym in syms:
        key = (sym.file_id, sym.parent, sym.name, sym.kind)
        if sym.kind in CONTAINERS or key not in where:
            if sym.kind not in CONTAINERS:
                where[key] = len(kept)
            kept.append(sym)
            continue
        earlier = kept[where[key]]
        sym.copies += earlier.copies
        sym.score = max(sym.score, earlier.score)
        kept[where[key]] = sym
    return kept


def _kind_word(sym: _Sym, language: str) -> str:
    # Words, not keywords: "def mean :1" was copied by a real model as edit_file's `old`.
    public = sym.public and sym.kind != "impl" and language in _EXPORTING
    return f"public {sym.kind}" if public else sym.kind


def _entry_text(sym: _Sym, language: str) -> str:
    """`name (kind, line N, members a, b)`: an outline entry that no language parses as code
    and that matches no line of the file, so it cannot pass for an edit snippet."""
    name = f"{sym.parent}.{sym.name}" if sym.kind == "method" and sym.parent else sym.name
    text = f"{name} ({_kind_word(sym, language)}, line {sym.line}"
    if sym.copies > 1:
        text += f", {sym.copies} definitions"
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
