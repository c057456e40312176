"""Retrieval: FTS5 BM25 plus exact cosine over vectors, fused by reciprocal rank."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from code_assistant.errors import BackendError, CAError
from code_assistant.index.store import (
    IndexStore,
    damaged_error,
    db_path_for,
    is_damage,
    open_readonly,
)
from code_assistant.index.terms import STOPWORDS, fts_query, query_terms

if TYPE_CHECKING:
    from code_assistant.backends.base import Embedder
    from code_assistant.config import Config


RRF_K = 60
# The weight of the vector ranking in RRF, by embedder (BM25 and name matches weigh 1).
# Measured with benchmarks/retrieval_eval.py --vector-weights over five repos.
VECTOR_WEIGHTS = {"static": 0.25, "backend": 1.0}
CANDIDATES = 50
RANK_BUDGET = 10_000  # matching rows bm25 may rank per query (see _prune)
# bm25 column weights: symbol name, path, code text, split parts of compound names
# (tuned on benchmarks/retrieval_eval.py over four repos).
BM25_WEIGHTS = (4.0, 1.0, 1.0, 0.5)
# A third list, BM25 over the name column alone (definition names, their parts, signature
# terms), breaks ties between chunks that match the same words in their code. Pooled over
# five repos (benchmarks/retrieval_eval.py), hybrid hit@1 / hit@5 / MRR went from
# 0.316 / 0.607 / 0.441 to 0.342 / 0.615 / 0.460 at 0.15, with 0.25-0.35 about the same.
NAME_LIST_WEIGHT = 0.15
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORDS = re.compile(r"\w+")
_CAMEL = re.compile(r"[a-z0-9][A-Z]")
EmbedQuery = Callable[[str], Sequence[float]]
# Test code repeats the words of the code it tests: unless the query asks for tests, a test
# chunk's fused score is scaled by this (measured in benchmarks/retrieval_eval.py).
TEST_WEIGHT = 0.5
_TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|testdata|testing)/|(^|/)test_[^/]*$|_test\.\w+$"
    r"|[._-](test|spec)\.[jt]sx?$"
)
_TEST_QUERY = re.compile(r"\b(tests?|testing|spec|fixtures?)\b", re.I)


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. Lines are 1-based and inclusive; path is relative to the root."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    score: float
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        """The public `ca search --json` shape: keep it stable."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "kind": self.kind,
            "score": self.score,
        }


class QueryEmbedder:
    """Embeds queries with the model the index was embedded with."""

    def __init__(self, backend: Embedder, model: str) -> None:
        self.backend = backend
        self.model = model

    def __call__(self, query: str) -> Sequence[float]:
        from code_assistant.index.embed import query_text

        return self.backend.embed(self.model, [query_text(self.model, query)])[0]


def vector_weight(embed_query: EmbedQuery) -> float:
    """How much the vector list counts: `embed_query.weight`, else by its `kind`."""
    weight = getattr(embed_query, "weight", None)
    if weight is not None:
        return float(weight)
    return VECTOR_WEIGHTS.get(getattr(embed_query, "kind", "backend"), 1.0)


def _describes(query: str, embed_query: EmbedQuery) -> bool:
    """Whether to rank by meaning. For the static model only descriptions (two or more
    content words): a single word is a name lookup, and a mean of function-word vectors is
    noise, where "no match" is the right answer."""
    if getattr(embed_query, "kind", "") != "static":
        return True
    return sum(word.lower() not in STOPWORDS for word in _WORDS.findall(query)) >= 2


def _embedder_for(store: IndexStore, embed_query: EmbedQuery | None) -> EmbedQuery | None:
    """The query embedder that matches the index's vectors: the bundled static model's when
    the index was embedded with it (whatever the caller passed), else the caller's."""
    from code_assistant.index.static_embed import MODEL, StaticQueryEmbedder, load

    if getattr(embed_query, "model", None) == MODEL or store.get_meta("embedding_model") != MODEL:
        return embed_query
    embedder = load()
    return StaticQueryEmbedder(embedder) if embedder is not None else embed_query


def _resolve(root_or_db: Path | str | IndexStore) -> tuple[IndexStore | None, bool]:
    """(store, opened_here). A directory means its project index; a file, that db."""
    if isinstance(root_or_db, IndexStore):
        return root_or_db, False
    path = Path(root_or_db)
    return open_readonly(path if path.is_file() else db_path_for(path)), True


def _document_counts(store: IndexStore, terms: list[str]) -> list[int]:
    # Counting a doclist is ~20x cheaper than ranking it, and MATCH stems as indexing did.
    sql = "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?"
    return [store.conn.execute(sql, (fts_query([term]),)).fetchone()[0] for term in terms]


def _prune(store: IndexStore, terms: list[str]) -> list[str]:
    """Drop the most common terms until at most RANK_BUDGET rows need ranking.

    bm25 costs about 2 microseconds per matching row: a term found in half of a big index
    ("test" in site-packages) would cost most of a second, and adds little to the ranking.
    The rarest term is always kept.
    """
    counted = sorted(zip(_document_counts(store, terms), range(len(terms)), terms, strict=True))
    kept: list[str] = []
    rows = 0
    for count, _, term in counted:
        if count == 0:
            continue
        if kept and rows + count > RANK_BUDGET:
            break
        kept.append(term)
        rows += count
    return kept


def _lexical(store: IndexStore, terms: list[str]) -> tuple[list[int], list[int]]:
    """(BM25 over all columns, BM25 over the name column alone), best first."""
    if not terms:
        return [], []
    size = store.conn.execute("SELECT max(id) FROM chunks").fetchone()[0] or 0
    if size > RANK_BUDGET:
        terms = _prune(store, terms)
        if not terms:
            return [], []
    sql = (
        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?"
        " ORDER BY bm25(chunks_fts, {}) LIMIT ?"
    )
    weights = ", ".join(map(str, BM25_WEIGHTS))
    every = store.conn.execute(sql.format(weights), (fts_query(terms), CANDIDATES))
    ranked = [row[0] for row in every]
    names = store.conn.execute(
        sql.format("1.0, 0.0, 0.0, 0.0"), ("{name} : (" + fts_query(terms) + ")", CANDIDATES)
    )
    return ranked, [row[0] for row in names]


def _identifier_words(query: str) -> list[str]:
    """Words of the query that name code: snake_case, camelCase, or a one-word query.

    Plain words are left to BM25: matching "run" or "index" in a sentence against symbol
    names boosted the wrong chunks (MRR 0.36 instead of 0.45 in benchmarks/retrieval_eval).
    """
    if len(_WORDS.findall(query)) == 1:
        return _IDENTIFIER.findall(query)  # `f`, `id`: short names count when asked alone
    words = list(dict.fromkeys(_NAME.findall(query)))
    return [w for w in words if "_" in w.strip("_") or _CAMEL.search(w)]


def _symbol_matches(store: IndexStore, query: str) -> list[int]:
    """Chunks of definitions whose name is an identifier in the query (exact case first)."""
    found: list[tuple[int, int]] = []
    for word in _identifier_words(query)[:12]:
        rows = store.conn.execute(
            "SELECT c.id, s.name = ? FROM symbols s JOIN chunks c ON c.file_id = s.file_id"
            " AND c.start_line <= s.line AND c.end_line >= s.line"
            " WHERE s.name = ? COLLATE NOCASE LIMIT 20",
            (word, word),
        )
        found.extend((0 if exact else 1, cid) for cid, exact in rows)
    return list(dict.fromkeys(cid for _, cid in sorted(found, key=lambda f: f[0])))


def _vector_matrix(store: IndexStore) -> tuple[Any, Any] | None:
    import numpy as np

    key = (store.data_version(), store.conn.total_changes)
    if store.vector_cache is not None and store.vector_cache[0] == key:
        return store.vector_cache[1]
    rows = store.conn.execute("SELECT chunk_id, vector FROM vectors").fetchall()
    data = None
    if rows:
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.vstack([np.frombuffer(row[1], dtype=np.float32) for row in rows])
        data = (ids, matrix)
    store.vector_cache = (key, data)
    return data


def _semantic(store: IndexStore, query: str, embed_query: EmbedQuery) -> list[int]:
    import numpy as np

    model = getattr(embed_query, "model", None)
    if model is not None and store.get_meta("embedding_model") != model:
        return []  # vectors of another model cannot be compared with this query
    data = _vector_matrix(store)
    if data is None:
        return []
    ids, matrix = data
    vector = np.asarray(embed_query(query), dtype=np.float32)
    if vector.shape != (matrix.shape[1],):
        return []
    norm = float(np.linalg.norm(vector))
    sims = matrix @ (vector / norm if norm else vector)
    count = min(CANDIDATES, len(sims))
    top = np.argpartition(-sims, count - 1)[:count]
    floor = float(getattr(embed_query, "floor", 0.0))
    return [int(ids[i]) for i in top[np.argsort(-sims[top])] if sims[i] >= floor]


def _fuse(rankings: list[list[int]], weights: Sequence[float]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def _is_test(path: str, first: int, last: int, symbol: str) -> bool:
    # Rust keeps unit tests in a `mod tests` of the file they test.
    return bool(_TEST_PATH.search(path)) or symbol == "tests" or symbol.startswith("tests.")


def _rows(store: IndexStore, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 400):
        part = ids[start : start + 400]
        found.update(
            (row[0], row[1:])
            for row in store.conn.execute(
                "SELECT c.id, f.path, c.start_line, c.end_line, c.symbol, c.kind, t.text"
                " FROM chunks c JOIN files f ON f.id = c.file_id"
                f" JOIN chunks_fts t ON t.rowid = c.id WHERE c.id IN ({','.join('?' * len(part))})",
                part,
            )
        )
    return found


def _load(
    store: IndexStore, fused: list[tuple[int, float]], top_k: int, query: str = ""
) -> list[Hit]:
    rows = _rows(store, [cid for cid, _ in fused])
    if TEST_WEIGHT != 1.0 and not _TEST_QUERY.search(query):
        fused = [
            (cid, score * TEST_WEIGHT if cid in rows and _is_test(*rows[cid][:4]) else score)
            for cid, score in fused
        ]
        fused.sort(key=lambda item: -item[1])
    hits: list[Hit] = []
    for cid, score in fused:
        if cid not in rows:
            continue
        path, first, last, symbol, kind, text = rows[cid]
        # Overlapping windows of one body: the better-ranked one stands for both.
        if any(h.path == path and h.start_line <= last and first <= h.end_line for h in hits):
            continue
        hits.append(Hit(path, first, last, symbol, kind, round(score, 6), text))
        if len(hits) >= top_k:
            break
    return hits


def search(
    root_or_db: Path | str | IndexStore,
    query: str,
    top_k: int = 8,
    embed_query: EmbedQuery | None = None,
    notices: list[str] | None = None,
    semantic: bool = True,
) -> list[Hit]:
    """The `top_k` chunks that best match `query`: BM25 over FTS5, cosine over vectors when
    the index has vectors (of `embed_query`'s model, or of the bundled static model) unless
    not `semantic`, and symbol-name matches, fused by RRF. No index (or an empty query)
    gives []."""
    store, owned = _resolve(root_or_db)
    if store is None or top_k <= 0:
        return []
    try:
        embed_query = _embedder_for(store, embed_query) if semantic else None
        lexical, by_name = _lexical(store, query_terms(query))
        rankings = [lexical, _symbol_matches(store, query), by_name]
        weights = [1.0, 1.0, NAME_LIST_WEIGHT]
        if embed_query is not None and _describes(query, embed_query):
            try:
                rankings.append(_semantic(store, query, embed_query))
                weights.append(vector_weight(embed_query))
            except BackendError as exc:
                if notices is not None:
                    notices.append(f"query not embedded ({exc}); lexical results only")
        return _load(store, _fuse(rankings, weights), top_k, query)
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        raise damaged_error(store.path, exc) from None
    finally:
        if owned:
            store.close()


def _fence(path: str) -> str:
    from code_assistant.index.parse import language_for

    return {"tsx": "typescript"}.get(language_for(path) or "", language_for(path) or "")


def format_hit(hit: Hit, max_chars: int | None = None) -> str:
    """A hit as a fenced block headed by `path:first-last (symbol, kind)`."""
    label = f" ({hit.symbol}, {hit.kind})" if hit.symbol else ""
    text = hit.text if max_chars is None else hit.text[:max_chars]
    return f"{hit.path}:{hit.start_line}-{hit.end_line}{label}\n```{_fence(hit.path)}\n{text}\n```"


def _context_hits(
    root: Path, query: str, config: Config, backend: Embedder | None
) -> list[Hit]:
    store = open_readonly(db_path_for(Path(root)))
    if store is None:
        return []
    try:
        has_vectors = store.conn.execute("SELECT 1 FROM vectors LIMIT 1").fetchone()
        embed = QueryEmbedder(backend, config.embedding_model) if backend and has_vectors else None
        return search(store, query, config.retrieval_top_k, embed)
    finally:
        store.close()


def context_block(
    root: Path, query: str, config: Config, backend: Embedder | None = None
) -> str:
    """The top chunks for `query` fitted to `config.retrieval_tokens`, ready to put in a
    prompt; "" when there is no index, no budget or nothing matches."""
    from code_assistant.backends.base import estimate_tokens

    if config.retrieval_top_k <= 0 or config.retrieval_tokens <= 0:
        return ""
    try:
        hits = _context_hits(root, query, config, backend)
    except CAError:
        return ""  # a damaged index must not break the conversation; `ca index` repairs it
    header = "Code from this project that may be relevant (from the index; verify before use):"
    budget = config.retrieval_tokens - estimate_tokens(header)
    blocks: list[str] = []
    for hit in hits:
        block = format_hit(hit)
        cost = estimate_tokens(block) + 1
        if cost > budget:
            if budget < 80:
                break
            block = format_hit(hit, max_chars=max(0, (budget - 30) * 4 - len(hit.path)))
            cost = estimate_tokens(block) + 1
        blocks.append(block)
        budget -= cost
    return "\n\n".join([header, *blocks]) if blocks else ""
