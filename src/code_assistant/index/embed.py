"""Chunk embeddings through the Backend protocol, stored as unit float32 blobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from code_assistant.errors import BackendError

if TYPE_CHECKING:
    from code_assistant.backends.base import Embedder
    from code_assistant.index.store import IndexStore


EMBED_BATCH = 32
EMBED_CHARS = 2000
# Some embedding models were trained with task prefixes; they retrieve worse without them.
_PREFIXES = {"nomic-embed": ("search_document: ", "search_query: ")}


def _prefixes(model: str) -> tuple[str, str]:
    for key, pair in _PREFIXES.items():
        if key in model:
            return pair
    return "", ""


def document_text(model: str, path: str, symbol: str, text: str) -> str:
    """What is embedded for a chunk: where it is, what it defines, then the code."""
    head = f"{path} {symbol}".strip()
    return (_prefixes(model)[0] + head + "\n" + text)[:EMBED_CHARS]


def query_text(model: str, query: str) -> str:
    return _prefixes(model)[1] + query


def to_blob(vector: Sequence[float]) -> bytes:
    """A unit-length float32 blob, so cosine similarity is a dot product."""
    import numpy as np

    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).tobytes()


def embed_pending(
    store: IndexStore,
    backend: Embedder,
    model: str,
    notices: list[str],
    progress: Callable[[str, int, int], None] | None = None,
) -> int:
    """Embed every chunk without a vector; returns how many were embedded.

    A different model than last time replaces all vectors, once its first batch has come
    back (a model that cannot answer leaves the old vectors in place). A backend that cannot
    embed leaves a notice (what was embedded so far stays).
    """
    conn = store.conn
    fresh = store.get_meta("embedding_model") != model
    pending = [row[0] for row in conn.execute(
        "SELECT c.id FROM chunks c" if fresh else
        "SELECT c.id FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id"
        " WHERE v.chunk_id IS NULL ORDER BY c.id"
    )]  # fmt: skip
    done = 0
    dim = "" if fresh else store.get_meta("embedding_dim")
    for start in range(0, len(pending), EMBED_BATCH):
        ids = pending[start : start + EMBED_BATCH]
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            "SELECT c.id, f.path, c.symbol, t.text FROM chunks c JOIN files f ON f.id = c.file_id"
            f" JOIN chunks_fts t ON t.rowid = c.id WHERE c.id IN ({marks})",
            ids,
        ).fetchall()
        texts = [document_text(model, path, symbol, text) for _, path, symbol, text in rows]
        try:
            vectors = backend.embed(model, texts)
        except BackendError as exc:
            notices.append(f"embeddings skipped ({exc}); search is lexical only for now")
            return done
        if len(vectors) != len(rows) or any(str(len(v)) != (dim or str(len(v))) for v in vectors):
            notices.append(f"embeddings skipped: {model} returned vectors of unexpected shape")
            return done
        dim = dim or str(len(vectors[0]))
        with store.transaction():
            if fresh:
                conn.execute("DELETE FROM vectors")
                store.set_meta("embedding_model", model)
                fresh = False
            store.set_meta("embedding_dim", dim)
            conn.executemany(
                "INSERT OR REPLACE INTO vectors(chunk_id, vector) VALUES (?, ?)",
                [(row[0], to_blob(v)) for row, v in zip(rows, vectors, strict=True)],
            )
        done += len(rows)
        if progress:
            progress("embed", done, len(pending))
    if fresh and not pending:
        with store.transaction():
            conn.execute("DELETE FROM vectors")
            store.set_meta("embedding_model", model)
            store.set_meta("embedding_dim", "")
    return done
