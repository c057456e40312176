"""The bundled static embedder: its file reader, and semantic search with no model server."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from code_assistant.config import Config
from code_assistant.index import static_embed
from code_assistant.index.build import update_index
from code_assistant.index.retrieve import search
from code_assistant.index.store import IndexStore, db_path_for

FILES = {
    "auth/sessions.py": """def expire_stale_sessions(store, now):
    for key, session in list(store.items()):
        if session.deadline < now:
            store.pop(key)
""",
    "media/pictures.py": """def shrink_picture(image, width):
    ratio = width / image.width
    return image.scaled(width, int(image.height * ratio))
""",
    "billing/invoice.py": """def total_due(lines, tax_rate):
    subtotal = sum(line.price * line.quantity for line in lines)
    return round(subtotal * (1 + tax_rate), 2)
""",
}

needs_model = pytest.mark.skipif(
    static_embed.model_files() is None, reason="wordllama (the static model's wheel) not installed"
)


def write_project(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_read_safetensors_reads_float16_and_float32_tables(tmp_path: Path) -> None:
    for dtype, code in ((np.float16, "F16"), (np.float32, "F32")):
        table = np.arange(12, dtype=dtype).reshape(3, 4) / 4
        header = json.dumps({
            "__metadata__": {"format": "pt"},
            "embedding.weight": {"dtype": code, "shape": [3, 4], "data_offsets": [0, table.nbytes]},
        }).encode()  # fmt: skip
        path = tmp_path / f"{code}.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header + table.tobytes())
        loaded = static_embed.read_safetensors(path)
        assert loaded.dtype == np.float32
        assert loaded.tolist() == table.astype(np.float32).tolist()


def test_code_words_spell_compound_names_out() -> None:
    assert static_embed.code_words("parseHTTPResponse(raw_bytes) + x") == (
        "parseHTTPResponse parse http response(raw_bytes raw bytes) + x"
    )


@needs_model
def test_a_description_finds_code_that_shares_no_word_with_it(tmp_path: Path) -> None:
    lexical = write_project(tmp_path / "lexical")
    assert update_index(lexical, Config(), static=False).vectors == 0
    assert search(lexical, "make a photo smaller") == []
    root = write_project(tmp_path / "static")
    stats = update_index(root, Config())
    assert stats.vectors == stats.chunks == 3
    with IndexStore(db_path_for(root)) as store:
        assert store.get_meta("embedding_model") == static_embed.MODEL
    # Only the one similar enough: the other two chunks stay below the floor.
    assert [hit.path for hit in search(root, "make a photo smaller")] == ["media/pictures.py"]
    # One word is a name lookup: nothing of that name, nothing found.
    assert search(root, "photo") == []


@needs_model
def test_static_vectors_follow_edits_and_never_replace_a_backend_model(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p")
    update_index(root, Config())
    (root / "media/thumbs.py").write_text("def make_thumbnail(image):\n    return image\n")
    stats = update_index(root, Config())
    assert (stats.embedded, stats.vectors, stats.chunks) == (1, 4, 4)
    with IndexStore(db_path_for(root)) as store, store.transaction():
        # As if `ca index` had embedded with the backend's model.
        store.set_meta("embedding_model", "nomic-embed-text")
    (root / "media/crop.py").write_text("def crop(image):\n    return image\n")
    stats = update_index(root, Config())
    assert (stats.embedded, stats.vectors, stats.chunks) == (0, 4, 5)
