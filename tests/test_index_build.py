"""Incremental indexing on real small repos: edits, deletes, renames, damage and crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from code_assistant.config import Config
from code_assistant.errors import CAError
from code_assistant.index.build import COMMIT_FILES, update_index
from code_assistant.index.retrieve import search
from code_assistant.index.store import IndexStore, db_path_for

PY_APP = '''
"""The app."""

DEFAULT_PORT = 8080


class Server:
    def __init__(self, port):
        self.port = port

    def start(self):
        return listen(self.port)


def listen(port):
    return port
'''

JS_UTIL = """
export function formatDate(date) {
  return date.toISOString();
}

export class Clock {
  now() { return new Date(); }
}
"""

TS_TYPES = """
export interface User {
  id: number;
  greet(): string;
}
export type UserId = number;
"""

RS_LIB = """
pub struct TerminalState {
    rows: u16,
}

impl TerminalState {
    pub fn new() -> Self { Self { rows: 0 } }
    pub fn update(&mut self) {}
    pub fn reset(&mut self) {}
}
"""


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            "app/server.py": PY_APP,
            "web/util.js": JS_UTIL,
            "web/types.ts": TS_TYPES,
            "src/lib.rs": RS_LIB,
            "README.md": "# not indexed\n",
        },
    )
    return root


def rows(root: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(db_path_for(root))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def symbol_rows(root: Path) -> list[tuple]:
    return rows(
        root,
        "SELECT f.path, s.kind, s.name, s.parent, s.start_line, s.end_line FROM symbols s"
        " JOIN files f ON f.id = s.file_id ORDER BY f.path, s.start_line, s.name",
    )


def snapshot(root: Path) -> tuple[list[tuple], list[tuple], int]:
    chunks = rows(
        root,
        "SELECT f.path, c.start_line, c.end_line, c.symbol, t.text FROM chunks c"
        " JOIN files f ON f.id = c.file_id JOIN chunks_fts t ON t.rowid = c.id"
        " ORDER BY f.path, c.start_line",
    )
    fts = rows(root, "SELECT count(*) FROM chunks_fts")[0][0]
    return symbol_rows(root), chunks, fts


def test_full_index_of_a_mixed_repo(repo: Path) -> None:
    stats = update_index(repo, Config())
    assert (stats.files, stats.indexed, stats.removed, stats.skipped) == (4, 4, 0, 0)
    assert symbol_rows(repo) == [
        ("app/server.py", "constant", "DEFAULT_PORT", "", 3, 3),
        ("app/server.py", "class", "Server", "", 6, 11),
        ("app/server.py", "method", "__init__", "Server", 7, 8),
        ("app/server.py", "method", "start", "Server", 10, 11),
        ("app/server.py", "function", "listen", "", 14, 15),
        ("src/lib.rs", "struct", "TerminalState", "", 1, 3),
        ("src/lib.rs", "impl", "TerminalState", "", 5, 9),
        ("src/lib.rs", "method", "new", "TerminalState", 6, 6),
        ("src/lib.rs", "method", "update", "TerminalState", 7, 7),
        ("src/lib.rs", "method", "reset", "TerminalState", 8, 8),
        ("web/types.ts", "interface", "User", "", 1, 4),
        ("web/types.ts", "method", "greet", "User", 3, 3),
        ("web/types.ts", "type", "UserId", "", 5, 5),
        ("web/util.js", "function", "formatDate", "", 1, 3),
        ("web/util.js", "class", "Clock", "", 5, 7),
        ("web/util.js", "method", "now", "Clock", 6, 6),
    ]
    assert stats.symbols == 16
    assert stats.chunks == rows(repo, "SELECT count(*) FROM chunks_fts")[0][0]
    languages = dict(rows(repo, "SELECT path, language FROM files"))
    assert languages == {
        "app/server.py": "python", "src/lib.rs": "rust", "web/types.ts": "typescript",
        "web/util.js": "javascript",
    }  # fmt: skip
    assert rows(repo, "PRAGMA journal_mode") == [("wal",)]
    assert [r[0] for r in rows(repo, "SELECT name FROM migrations")] == ["001_initial"]


def test_no_change_and_touch_do_not_reparse(repo: Path) -> None:
    update_index(repo, Config())
    before = snapshot(repo)
    again = update_index(repo, Config())
    assert (again.indexed, again.unchanged, again.removed) == (0, 4, 0)
    server = repo / "app/server.py"
    os.utime(server, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    touched = update_index(repo, Config())
    assert (touched.indexed, touched.unchanged) == (0, 4)
    mtime = rows(repo, "SELECT mtime_ns FROM files WHERE path = 'app/server.py'")[0][0]
    assert mtime == server.stat().st_mtime_ns
    assert snapshot(repo) == before


def test_edit_delete_and_rename(repo: Path) -> None:
    update_index(repo, Config())
    (repo / "app/server.py").write_text("def serve_forever():\n    return None\n")
    (repo / "web/util.js").unlink()
    (repo / "src/lib.rs").rename(repo / "src/terminal.rs")
    stats = update_index(repo, Config())
    assert (stats.indexed, stats.removed, stats.unchanged) == (2, 2, 1)
    names = {(path, name) for path, _, name, *_ in symbol_rows(repo)}
    assert ("app/server.py", "serve_forever") in names
    assert not any(name in ("Server", "listen", "formatDate") for _, name in names)
    assert ("src/terminal.rs", "TerminalState") in names
    assert not any(path in ("src/lib.rs", "web/util.js") for path, _ in names)
    assert rows(repo, "SELECT count(*) FROM chunks")[0][0] == stats.chunks
    assert rows(repo, "SELECT count(*) FROM chunks_fts")[0][0] == stats.chunks
    assert search(repo, "formatDate") == []
    # Static vectors always give some nearest chunk: none may come from the removed files.
    assert {hit.path for hit in search(repo, "listen port")} <= {
        "app/server.py", "src/terminal.rs", "web/types.ts"
    }
    assert [h.path for h in search(repo, "serve_forever")][:1] == ["app/server.py"]


def test_files_that_become_ignored_or_binary_are_purged(repo: Path) -> None:
    update_index(repo, Config())
    (repo / ".gitignore").write_text("web/\n")
    (repo / "src/lib.rs").write_bytes(b"\x00\x01binary now")
    stats = update_index(repo, Config())
    assert sorted(r[0] for r in rows(repo, "SELECT path FROM files")) == ["app/server.py"]
    assert stats.removed == 2
    assert stats.skipped == 1


def test_exclude_from_config(repo: Path) -> None:
    stats = update_index(repo, Config(index_exclude=["web/*.ts", "src"]))
    paths = sorted(r[0] for r in rows(repo, "SELECT path FROM files"))
    assert paths == ["app/server.py", "web/util.js"]
    assert stats.files == 2


def test_syntax_errors_binary_and_minified_files(repo: Path) -> None:
    minified = "var a=" + ",".join(f"f{i}=function(){{return {i}}}" for i in range(30_000))
    write_tree(
        repo,
        {
            "broken.py": "def ok():\n    return 1\n\ndef broken(:\n    pass\n\n"
            "class After:\n    pass\n",
            "blob.py": b"\x7fELF\x00\x00\x00" + bytes(range(256)) * 100,
            "dist.js": minified,
            "huge.js": minified * 7,
        },
    )
    started = time.perf_counter()
    stats = update_index(repo, Config(index_exclude=[]))
    assert time.perf_counter() - started < 20
    paths = sorted(r[0] for r in rows(repo, "SELECT path FROM files"))
    assert "broken.py" in paths
    assert not {"blob.py", "dist.js", "huge.js"} & set(paths)
    assert stats.skipped == 2  # huge.js is over the size limit: the walk never yields it
    assert stats.parse_errors == 1
    broken = [name for path, _, name, *_ in symbol_rows(repo) if path == "broken.py"]
    assert "ok" in broken and "After" in broken
    assert rows(repo, "SELECT parse_errors FROM files WHERE path = 'broken.py'") == [(1,)]


def test_parallel_and_serial_indexes_agree(tmp_path: Path) -> None:
    files = {}
    for i in range(70):
        files[f"pkg/mod_{i}.py"] = f"class Thing{i}:\n    def run_{i}(self):\n        return {i}\n"
        files[f"web/part_{i}.ts"] = f"export function part{i}(x: number): number {{ return x; }}\n"
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    write_tree(serial, files)
    write_tree(parallel, files)
    one = update_index(serial, Config(), workers=1)
    two = update_index(parallel, Config(), workers=2)
    assert (one.files, one.symbols, one.chunks) == (two.files, two.symbols, two.chunks)
    assert one.files == 140
    assert snapshot(serial) == snapshot(parallel)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "future", "missing_table"])
def test_a_damaged_db_is_rebuilt_with_a_notice(repo: Path, damage: str) -> None:
    update_index(repo, Config())
    expected = snapshot(repo)
    path = db_path_for(repo)
    if damage == "garbage":
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.write_bytes(b"this is not a database" * 500)
    elif damage == "truncated":
        db = sqlite3.connect(path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        size = path.stat().st_size
        with open(path, "r+b") as handle:
            handle.truncate(size // 2)
    else:
        db = sqlite3.connect(path)
        if damage == "future":
            db.execute("INSERT INTO migrations VALUES ('999_from_the_future', 'now')")
        else:
            db.execute("DROP TABLE vectors")
        db.commit()
        db.close()
    if damage in ("garbage", "truncated"):
        with pytest.raises(CAError, match="ca index"):
            search(path, "Server")
    stats = update_index(repo, Config())
    assert stats.rebuilt
    assert any("rebuilding" in notice for notice in stats.notices)
    assert stats.indexed == 4
    assert snapshot(repo) == expected


CRASHER = """
import os, sys
from pathlib import Path
from code_assistant.config import Config
from code_assistant.index.build import COMMIT_FILES, update_index

def progress(phase, done, total):
    if phase == "parse" and done >= COMMIT_FILES:
        os._exit(9)  # die right after the first commit

update_index(Path(sys.argv[1]), Config(), progress=progress, workers=1)
"""


def _many_files(root: Path, count: int) -> None:
    write_tree(
        root,
        {f"m{i:04}.py": f"def func_{i}(a, b):\n    return a + b + {i}\n" for i in range(count)},
    )


def test_crash_after_a_batch_leaves_a_usable_index(tmp_path: Path) -> None:
    total = 2 * COMMIT_FILES + 100
    root = tmp_path / "crash"
    _many_files(root, total)
    result = subprocess.run([sys.executable, "-c", CRASHER, str(root)], timeout=120)
    assert result.returncode == 9
    partial = rows(root, "SELECT count(*) FROM files")[0][0]
    assert COMMIT_FILES <= partial < total
    assert [h.symbol for h in search(root, "func_0")][:1] == ["func_0"]
    stats = update_index(root, Config())
    assert (stats.files, stats.indexed, stats.rebuilt) == (total, total - partial, False)
    reference = tmp_path / "reference"
    _many_files(reference, total)
    update_index(reference, Config())
    assert snapshot(root) == snapshot(reference)


def test_killed_at_any_moment_the_next_update_repairs(tmp_path: Path) -> None:
    root = tmp_path / "killed"
    _many_files(root, 3000)
    code = (
        "import sys; from pathlib import Path; from code_assistant.config import Config;"
        "from code_assistant.index.build import update_index;"
        "update_index(Path(sys.argv[1]), Config(), workers=1)"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(root)])
    deadline = time.monotonic() + 60
    while not db_path_for(root).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert rows(root, "SELECT count(*) FROM files")[0][0] < 3000
    stats = update_index(root, Config())
    assert not stats.rebuilt
    assert stats.files == 3000
    reference = tmp_path / "reference"
    _many_files(reference, 3000)
    update_index(reference, Config())
    assert snapshot(root) == snapshot(reference)


def test_an_index_made_by_an_older_extractor_is_re_made_once(repo: Path) -> None:
    first = update_index(repo, Config())
    with IndexStore(db_path_for(repo)) as store, store.transaction():
        store.set_meta("extractor", "1")
    again = update_index(repo, Config())
    assert again.indexed == first.files
    assert update_index(repo, Config()).indexed == 0
