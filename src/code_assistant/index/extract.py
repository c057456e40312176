"""What a pool worker does with one file: read, hash, parse, chunk and make its index rows.

Kept apart from build.py so that a worker process imports only this, the parser, the
chunker and the term helpers: not the store, the config or what they import (0.2 s of CPU
per worker).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from code_assistant.index.walk import is_probably_binary, is_probably_minified


@dataclass
class FileResult:
    """A worker's verdict on one file: skip it, keep it (same hash), or its parsed rows."""

    rel: str
    size: int
    mtime_ns: int
    status: str  # "skip" | "same" | "parsed"
    sha256: str = ""
    language: str = ""
    lines: int = 0
    has_errors: bool = False
    refs: bytes = b""  # zlib of the space-separated identifiers the file uses
    symbols: list[tuple[Any, ...]] = field(default_factory=list)
    chunks: list[tuple[Any, ...]] = field(default_factory=list)


def process_file(path: Path, rel: str, size: int, mtime_ns: int, known_sha: str) -> FileResult:
    """Read, hash and (if the content changed) parse and chunk one file."""
    from code_assistant.index.chunk import make_chunks
    from code_assistant.index.parse import language_for, parse_source
    from code_assistant.index.terms import compounds, expansion, identifiers, name_terms

    try:
        data = path.read_bytes()
    except OSError:
        return FileResult(rel, size, mtime_ns, "skip")
    if is_probably_binary(data) or is_probably_minified(data):
        return FileResult(rel, size, mtime_ns, "skip")
    sha = hashlib.sha256(data).hexdigest()
    if sha == known_sha:
        return FileResult(rel, size, mtime_ns, "same", sha)
    language = language_for(rel) or ""
    parsed = parse_source(data, language)
    text = data.decode("utf-8", errors="replace")
    pieces = make_chunks(text, parsed.symbols)
    word_sets = [set(identifiers(piece.text)) for piece in pieces]
    used = set().union(*word_sets)
    known = compounds(used)
    # Without the extension: ".py" on every chunk of a Python tree would match every query.
    path_terms = name_terms(os.path.splitext(rel)[0])
    # The weighted name column also holds the definition's signature line (parameter and
    # type names): +0.006 hit@5 pooled over five repos in benchmarks/retrieval_eval.py.
    signatures: dict[str, str] = {}
    for symbol in parsed.symbols:
        signatures.setdefault(symbol.qualname, symbol.signature)
    names = {
        name: f"{name_terms(name)} {name_terms(signatures.get(name, ''))}".rstrip()
        for name in {c.symbol for c in pieces}
    }
    chunks = [
        (c.start_line, c.end_line, c.symbol, c.kind, names[c.symbol], path_terms, c.text,
         expansion(found, known))
        for c, found in zip(pieces, word_sets, strict=True)
    ]  # fmt: skip
    symbols = [
        (s.name, s.kind, s.parent, s.line, s.start_line, s.end_line, s.signature, s.visibility)
        for s in parsed.symbols
    ]
    return FileResult(
        rel, size, mtime_ns, "parsed", sha, language, text.count("\n") + 1, parsed.has_errors,
        zlib.compress(" ".join(used).encode(), 1), symbols, chunks,
    )  # fmt: skip


def process_batch(jobs: list[tuple[str, str, int, int, str]]) -> list[FileResult]:
    """Worker entry point: process_file over a batch (fewer round trips to the pool)."""
    return [process_file(Path(path), rel, size, mtime, sha) for path, rel, size, mtime, sha in jobs]
