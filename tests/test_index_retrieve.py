"""Retrieval: BM25, symbol boost, vectors through real backends on the fake server, RRF."""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from code_assistant.backends.ollama import OllamaBackend
from code_assistant.backends.openai_compat import OpenAICompatBackend
from code_assistant.config import Config
from code_assistant.index import static_embed
from code_assistant.index.build import update_index
from code_assistant.index.embed import document_text
from code_assistant.index.retrieve import (
    Hit,
    QueryEmbedder,
    _semantic,
    context_block,
    search,
)
from code_assistant.index.store import IndexStore, db_path_for
from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import embed_text

FILES = {
    "cache/lru.py": '''
        class LRUCache:
            """Keeps the most recently used entries."""

            def __init__(self, capacity):
                self.capacity = capacity
                self.entries = {}

            def get_item(self, key):
                value = self.entries.pop(key)
                self.entries[key] = value
                return value

            def evict_oldest(self):
                oldest = next(iter(self.entries))
                del self.entries[oldest]
        ''',
    "net/http_client.py": """
        def fetch_url(url, timeout=10):
            response = open_connection(url).send(timeout=timeout)
            return response.body


        def parse_headers(raw):
            return dict(line.split(": ", 1) for line in raw.splitlines())
        """,
    "ui/render.ts": """
        export function renderTable(rows: string[][]): string {
          return rows.map((row) => row.join(" | ")).join("\\n");
        }
        """,
    "term/state.rs": """
        pub struct TerminalState {
            cursor: usize,
        }

        impl TerminalState {
            pub fn move_cursor(&mut self, by: usize) {
                self.cursor += by;
            }
        }
        """,
}


def write_repo(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_repo(tmp_path / "repo")
    update_index(root, Config())
    return root


def top(root: Path, query: str, **kwargs: object) -> tuple[str, str]:
    hit = search(root, query, **kwargs)[0]  # type: ignore[arg-type]
    return hit.path, hit.symbol


def test_lexical_search_finds_code_by_words_and_split_identifiers(repo: Path) -> None:
    # A class that fits in one chunk is retrieved whole.
    assert top(repo, "evict the oldest entry") == ("cache/lru.py", "LRUCache")
    assert top(repo, "fetch a url with a timeout") == ("net/http_client.py", "fetch_url")
    assert top(repo, "render table rows") == ("ui/render.ts", "renderTable")
    assert top(repo, "parse headers") == ("net/http_client.py", "parse_headers")


def test_symbol_name_match_wins(repo: Path) -> None:
    hits = search(repo, "TerminalState")
    assert (hits[0].path, hits[0].symbol, hits[0].kind) == (
        "term/state.rs",
        "TerminalState",
        "struct",
    )
    assert {h.symbol for h in hits[:2]} == {"TerminalState"}


def test_hit_shape_and_json_format(repo: Path) -> None:
    hits = search(repo, "get_item", top_k=3)
    assert 1 <= len(hits) <= 3
    first = hits[0]
    assert isinstance(first, Hit)
    assert (first.path, first.start_line, first.end_line) == ("cache/lru.py", 1, 15)
    assert first.text.startswith("class LRUCache:\n")
    assert first.text.endswith("del self.entries[oldest]")
    assert list(first.to_json()) == ["path", "start_line", "end_line", "symbol", "kind", "score"]
    assert json.loads(json.dumps(first.to_json()))["kind"] == "class"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_empty_and_hostile_queries(repo: Path, tmp_path: Path) -> None:
    assert search(repo, "") == []
    assert search(repo, "the of and") == []
    # FTS5 operators are quoted away: no error, and (lexically) no match.
    search(repo, 'NEAR("x" AND) * OR -- ;')
    with IndexStore(db_path_for(repo)) as store:
        store.conn.execute("DELETE FROM vectors")
    assert search(repo, 'NEAR("x" AND) * OR -- ;') == []
    assert search(repo, "cache", top_k=0) == []
    assert search(tmp_path / "no-index-here", "cache") == []


def test_context_block_fits_the_budget(repo: Path) -> None:
    config = Config(retrieval_tokens=120, retrieval_top_k=5)
    block = context_block(repo, "LRU cache get item", config)
    assert block.startswith("Code from this project")
    assert "cache/lru.py:" in block
    assert (len(block) + 3) // 4 <= 120
    assert context_block(repo, "LRU cache", Config(retrieval_tokens=0)) == ""
    assert context_block(repo, "zzzz qqqq", config) == ""
    roomy = context_block(repo, "LRU cache evict oldest", Config(retrieval_tokens=3000))
    assert "```python\n" in roomy and "del self.entries[oldest]" in roomy


@pytest.fixture
def ollama(fake_server: FakeModelServer) -> Iterator[OllamaBackend]:
    backend = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    yield backend
    backend.close()


def test_embeddings_through_ollama_and_exact_cosine_ranking(
    repo: Path, ollama: OllamaBackend
) -> None:
    backend = ollama
    config = Config(embedding_model="nomic-embed-text")
    stats = update_index(repo, config, backend)
    assert stats.embedded == stats.chunks == stats.vectors > 0
    assert stats.notices == []
    again = update_index(repo, config, backend)
    assert again.embedded == 0
    store = IndexStore(db_path_for(repo))
    try:
        rows = store.conn.execute(
            "SELECT c.id, f.path, c.symbol, t.text FROM chunks c JOIN files f ON f.id = c.file_id"
            " JOIN chunks_fts t ON t.rowid = c.id ORDER BY c.id"
        ).fetchall()
        dim = store.get_meta("embedding_dim")
        query = "how are the oldest entries evicted"
        expected_vectors = np.array(
            [
                embed_text(document_text(config.embedding_model, p, s, t), int(dim))
                for _, p, s, t in rows
            ]
        )
        query_vector = np.array(embed_text("search_query: " + query, int(dim)))
        expected = [
            rows[i][0] for i in np.argsort(-(expected_vectors @ query_vector), kind="stable")
        ]
        got = _semantic(store, query, QueryEmbedder(backend, config.embedding_model))
        assert got[:3] == expected[:3]
        assert sorted(got) == sorted(expected)
    finally:
        store.close()
    hybrid = search(repo, query, embed_query=QueryEmbedder(backend, config.embedding_model))
    assert hybrid[0].symbol == "LRUCache"


def test_vectors_alone_find_what_bm25_cannot(repo: Path, ollama: OllamaBackend) -> None:
    backend = ollama
    config = Config(embedding_model="nomic-embed-text")
    update_index(repo, config, backend)
    # Only stopwords for BM25, but the fake embedder hashes them too: the vector list decides.
    assert search(repo, "the for with") == []
    hits = search(repo, "the for with", embed_query=QueryEmbedder(backend, config.embedding_model))
    assert hits


def test_openai_compatible_embeddings(repo: Path, fake_server: FakeModelServer) -> None:
    backend = OpenAICompatBackend(base_url=fake_server.openai_url, timeout=30, retries=0)
    with closing(backend):
        stats = update_index(repo, Config(embedding_model="nomic-embed-text"), backend)
    assert stats.vectors == stats.chunks > 0


def test_changing_the_embedding_model_re_embeds(repo: Path, ollama: OllamaBackend) -> None:
    backend = ollama
    first = update_index(repo, Config(embedding_model="nomic-embed-text"), backend)
    other = update_index(repo, Config(embedding_model="qwen2.5-coder:1.5b"), backend)
    assert other.embedded == first.embedded == other.chunks
    # Vectors of another model are not compared with this model's query vectors.
    store = IndexStore(db_path_for(repo))
    try:
        stale = QueryEmbedder(backend, "nomic-embed-text")
        assert _semantic(store, "oldest entry", stale) == []
    finally:
        store.close()


def test_unknown_model_and_unreachable_server_leave_a_lexical_index(
    repo: Path, ollama: OllamaBackend, tmp_path: Path
) -> None:
    # The fixture's index holds the bundled static model's vectors (when it is installed):
    # a model that cannot answer replaces none of them.
    kept = update_index(repo, Config()).vectors
    assert kept == (update_index(repo, Config()).chunks if static_embed.load() else 0)
    stats = update_index(repo, Config(embedding_model="no-such-model"), ollama)
    assert stats.vectors == kept
    assert any("embeddings skipped" in n and "no-such-model" in n for n in stats.notices)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with closing(OllamaBackend(host=f"http://127.0.0.1:{port}", timeout=5, retries=0)) as dead:
        stats = update_index(repo, Config(), dead)
    assert stats.vectors == kept
    assert any("cannot reach" in n for n in stats.notices)
    fresh = write_repo(tmp_path / "fresh")
    with closing(OllamaBackend(host=f"http://127.0.0.1:{port}", timeout=5, retries=0)) as dead:
        stats = update_index(fresh, Config(), dead, static=False)
    assert stats.vectors == 0
    assert any("lexical only" in n for n in stats.notices)
    assert search(repo, "evict oldest")[0].symbol == "LRUCache"


def test_query_embedding_failure_falls_back_to_lexical(
    repo: Path, fake_server: FakeModelServer, ollama: OllamaBackend
) -> None:
    backend = ollama
    update_index(repo, Config(), backend)
    notices: list[str] = []
    broken = QueryEmbedder(backend, "nomic-embed-text")
    fake_server.stop()
    hits = search(repo, "evict oldest", embed_query=broken, notices=notices)
    assert hits[0].symbol == "LRUCache"
    assert notices and "lexical results only" in notices[0]
    block = context_block(repo, "evict oldest", Config(), backend)
    assert "evict_oldest" in block


def test_a_held_store_sees_vectors_written_by_another_connection(
    repo: Path, ollama: OllamaBackend
) -> None:
    config = Config(embedding_model="nomic-embed-text")
    update_index(repo, config, ollama)
    embed = QueryEmbedder(ollama, config.embedding_model)
    store = IndexStore(db_path_for(repo))
    try:
        before = {h.path for h in search(store, "what is this", top_k=20, embed_query=embed)}
        assert "notes/about.py" not in before
        (repo / "notes").mkdir()
        (repo / "notes" / "about.py").write_text("WHAT_IS_THIS_ABOUT = 'what is this about'\n")
        update_index(repo, config, ollama)
        after = search(store, "what is this", top_k=20, embed_query=embed)
        assert "notes/about.py" in {h.path for h in after}
    finally:
        store.close()


def test_test_code_ranks_below_the_code_it_tests_unless_tests_are_asked_for(
    tmp_path: Path,
) -> None:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "lib").mkdir()
    # The test repeats every word of the function it tests, and more often.
    (root / "tests" / "test_quota.py").write_text(
        "def test_quota():\n    quota = compute_quota(users=3)\n"
        "    assert quota == compute_quota(users=3)  # quota users quota\n"
    )
    (root / "lib" / "billing.py").write_text("def compute_quota(users):\n    return users * 2\n")
    update_index(root, Config())
    assert top(root, "quota for users")[0] == "lib/billing.py"
    assert top(root, "test of the quota for users")[0] == "tests/test_quota.py"


def test_a_word_of_the_signature_outweighs_the_same_word_in_a_body(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.py").write_text("def convert(celsius):\n    return celsius * 9 / 5 + 32\n")
    (root / "b.py").write_text(
        "def report(values):\n    # celsius values, celsius rows, celsius again\n"
        "    return [v for v in values]\n"
    )
    update_index(root, Config(), static=False)
    assert top(root, "celsius input")[0] == "a.py"
