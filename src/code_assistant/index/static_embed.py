"""Semantic search with no model server: static token embeddings shipped inside a wheel.

The `wordllama` wheel (`pip install -e '.[semantic]'` in the checkout) carries a 32,000 x 256
float16 token table and its tokenizer. A text's vector is the mean of its tokens' rows, so
embedding is a table lookup: no model server, no download, no GPU. Only the files are used
(wordllama's own package is never imported: it configures logging when imported), and they
are loaded on first use, never on the start-up path.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from code_assistant.index.terms import split_identifier

MODEL = "wordllama-l2-supercat-256"  # the index's embedding_model when these vectors are used
_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_BATCH = 64
_MAX_TOKENS = 128  # the head of a chunk says what it is (measured: 128 beat 512)
_HEAD_CHARS = _MAX_TOKENS * 5  # code averages under 4 characters a token
_LOCK = threading.Lock()


def model_files() -> tuple[Path, Path] | None:
    """(weights, tokenizer) inside the installed wordllama wheel, or None."""
    try:
        spec = importlib.util.find_spec("wordllama")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    weights, tokenizer = root / _WEIGHTS, root / _TOKENIZER
    return (weights, tokenizer) if weights.is_file() and tokenizer.is_file() else None


def read_safetensors(path: Path) -> Any:
    """The one tensor of a safetensors file as float32 (8-byte header size, JSON header, data)."""
    import numpy as np

    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    name = next(key for key in header if key != "__metadata__")
    info = header[name]
    dtype = {"F16": np.float16, "F32": np.float32}[info["dtype"]]
    start, end = info["data_offsets"]
    table = np.frombuffer(data[8 + size + start : 8 + size + end], dtype=dtype)
    return table.reshape(info["shape"]).astype(np.float32)


def code_words(text: str) -> str:
    """Code with its compound names also spelt as words: `parseHeaders` -> `parseHeaders
    parse headers`, so a plain-English query meets the same tokens."""
    import re

    def spell(match: re.Match[str]) -> str:
        word = match.group(0)
        parts = split_identifier(word)
        return word if len(parts) < 2 else f"{word} {' '.join(parts)}"

    return re.sub(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*", spell, text)


class StaticEmbedder:
    """The embed() half of the Backend protocol over the bundled static embeddings."""

    kind = "static"

    def __init__(self, files: tuple[Path, Path]) -> None:
        from tokenizers import Tokenizer

        self.table = read_safetensors(files[0])
        self.tokenizer = Tokenizer.from_file(str(files[1]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(_MAX_TOKENS)
        # Without offsets: 35% faster where the installed tokenizers has it.
        self.encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), _BATCH):
            # Tokenizing the whole chunk only to keep its head cost 80% of the time.
            batch = [code_words(text[:_HEAD_CHARS]) for text in texts[start : start + _BATCH]]
            with _LOCK:  # the tokenizer's truncation state is shared
                encoded = self.encode(batch, add_special_tokens=False)
            for row, item in enumerate(encoded, start=start):
                if item.ids:
                    out[row] = self.table[item.ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1, norms)).tolist()


class StaticQueryEmbedder:
    """Embeds queries for an index whose vectors came from the static model."""

    kind = "static"
    model = MODEL
    # Chunks less similar than this are not results: a query about nothing in the project
    # must find nothing rather than its nearest noise (measured in benchmarks/retrieval_eval).
    floor = 0.25  # 0.25 cost nothing over 0; 0.35 cost 0.01 hit@5 (five repos)

    def __init__(self, embedder: StaticEmbedder) -> None:
        self.embedder = embedder

    def __call__(self, query: str) -> Sequence[float]:
        return self.embedder.embed(MODEL, [query])[0]


@cache
def load() -> StaticEmbedder | None:
    """The static embedder, loaded once per process; None when wordllama is not installed."""
    files = model_files()
    return StaticEmbedder(files) if files is not None else None
