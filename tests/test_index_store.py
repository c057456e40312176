"""The index db: migrations, read-only opening, symbol lookup and big-index query pruning."""

from __future__ import annotations

import sqlite3
import textwrap
import time
from pathlib import Path

import pytest

from code_assistant.config import Config
from code_assistant.errors import CAError
from code_assistant.index.build import update_index
from code_assistant.index.retrieve import RANK_BUDGET, _prune, search
from code_assistant.index.store import (
    MIGRATIONS,
    IndexStore,
    db_path_for,
    open_readonly,
    open_store,
)
from code_assistant.index.symbols import find_symbols


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    store = open_store(path)
    store.migrate()  # a second run applies nothing
    names = [row[0] for row in store.conn.execute("SELECT name FROM migrations")]
    assert names == [name for name, _ in MIGRATIONS]
    assert names == sorted(names)
    store.close()


def test_open_readonly(tmp_path: Path) -> None:
    assert open_readonly(tmp_path / "missing.db") is None
    path = tmp_path / "index.db"
    open_store(path).close()
    store = open_readonly(path)
    assert store is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    store.close()
    path.write_bytes(b"not sqlite" * 200)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with pytest.raises(CAError, match=r"damaged.*ca index"):
        open_readonly(path)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("symbols")
    sources = {
        "pkg/models.py": """
            class UserStore:
                def get_user(self, user_id):
                    return None

                def _evict(self):
                    pass


            def get_user_name(user):
                return user.name
            """,
        "pkg/sub/helpers.py": "def get_config():\n    return {}\n",
        "src/lib.rs": "pub trait Store {\n    fn get(&self);\n}\npub const LIMIT: u8 = 1;\n",
    }
    for rel, text in sources.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    update_index(root, Config())
    return root


def names(found: list) -> list[str]:
    return [f"{s.path}:{s.line}:{s.qualname}" for s in found]


def test_find_symbols_by_name(indexed: Path) -> None:
    assert names(find_symbols(indexed, "userstore")) == ["pkg/models.py:1:UserStore"]
    assert names(find_symbols(indexed, "UserStore.get_user")) == [
        "pkg/models.py:2:UserStore.get_user"
    ]
    assert names(find_symbols(indexed, "get_*")) == [
        "pkg/models.py:2:UserStore.get_user",
        "pkg/models.py:9:get_user_name",
        "pkg/sub/helpers.py:1:get_config",
    ]
    # No exact match: substring.
    assert names(find_symbols(indexed, "user_na")) == ["pkg/models.py:9:get_user_name"]
    assert find_symbols(indexed, "nothing_like_this") == []


def test_find_symbols_by_kind_and_path(indexed: Path) -> None:
    assert names(find_symbols(indexed, kind="const")) == ["src/lib.rs:4:LIMIT"]
    assert names(find_symbols(indexed, kind="trait")) == ["src/lib.rs:1:Store"]
    assert names(find_symbols(indexed, path="pkg/sub")) == ["pkg/sub/helpers.py:1:get_config"]
    assert names(find_symbols(indexed, path="pkg/*.py", kind="method")) == [
        "pkg/models.py:2:UserStore.get_user",
        "pkg/models.py:5:UserStore._evict",  # private ones last
    ]
    assert find_symbols(indexed, path="pkg/mod") == []  # a prefix must end at a '/'
    with IndexStore(db_path_for(indexed)) as store:
        assert len(find_symbols(store, limit=2)) == 2


def test_pruning_keeps_big_indexes_fast(tmp_path: Path) -> None:
    count = RANK_BUDGET + 500
    lines = [f"def handler_{i}(request):\n    return common_word + {i}\n" for i in range(count)]
    lines.append("def rare_target(request):\n    return common_word + unusual_zebra\n")
    (tmp_path / "many.py").write_text("\n".join(lines))
    stats = update_index(tmp_path, Config())
    assert stats.chunks > RANK_BUDGET
    with IndexStore(db_path_for(tmp_path)) as store:
        assert _prune(store, ["common_word", "unusual_zebra", "absent"]) == ["unusual_zebra"]
        assert _prune(store, ["common_word"]) == ["common_word"]  # the rarest always stays
    started = time.perf_counter()
    hits = search(tmp_path, "common_word unusual_zebra")
    assert time.perf_counter() - started < 2
    assert hits[0].symbol == "rare_target"


def test_find_symbols_takes_rust_paths_and_puts_local_definitions_last(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src/lib.rs").write_text(
        "pub struct Grid;\nimpl Grid {\n    pub fn get(&self) {}\n}\n"
        "fn build() {\n    fn get() {}\n}\n"
    )
    update_index(root, Config(), static=False)
    assert names(find_symbols(root, "Grid::get")) == ["src/lib.rs:3:Grid.get"]
    found = find_symbols(root, "get")
    assert names(found) == ["src/lib.rs:3:Grid.get", "src/lib.rs:6:build.get"]
    assert [s.visibility for s in found] == ["public", "local"]
