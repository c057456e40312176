"""The index's one SQLite file (.ca/index.db): schema migrations, opening, rebuild when damaged."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_assistant import sqlitedb
from code_assistant.config import ensure_ignored_dir
from code_assistant.errors import CAError

DB_DIR = ".ca"
DB_NAME = "index.db"
LOCK_NAME = "index.lock"

# Numbered migrations, applied in order and recorded in `migrations`. Never edit one that
# has shipped: add the next. The index is a cache, so a db from a newer `ca` is rebuilt.
MIGRATIONS: tuple[tuple[str, sqlitedb.Step], ...] = (
    (
        "001_initial",
        """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE files(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            language TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            lines INTEGER NOT NULL DEFAULT 0,
            parse_errors INTEGER NOT NULL DEFAULT 0,
            refs BLOB
        );
        CREATE TABLE symbols(
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            parent TEXT NOT NULL DEFAULT '',
            line INTEGER NOT NULL,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            signature TEXT NOT NULL DEFAULT '',
            visibility TEXT NOT NULL DEFAULT 'public'
        );
        CREATE INDEX symbols_file ON symbols(file_id);
        CREATE INDEX symbols_name ON symbols(name COLLATE NOCASE);
        CREATE TABLE chunks(
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            symbol TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'module'
        );
        CREATE INDEX chunks_file ON chunks(file_id);
        -- The chunk text lives here once; `terms` holds the split parts of compound names.
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            name, path, text, terms, tokenize = "porter unicode61 tokenchars '_'"
        );
        CREATE TABLE vectors(
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            vector BLOB NOT NULL
        );
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            DELETE FROM chunks_fts WHERE rowid = old.id;
        END;
        """,
    ),
)
LEDGER = sqlitedb.Ledger(
    create="CREATE TABLE IF NOT EXISTS migrations(name TEXT PRIMARY KEY, applied_at TEXT)",
    select="SELECT name FROM migrations",
    insert="INSERT INTO migrations VALUES (:name, datetime('now'))",
    key="name",
)
EXPECTED_TABLES = frozenset({"meta", "files", "symbols", "chunks", "chunks_fts", "vectors"})


def db_path_for(root: Path) -> Path:
    """Where a project's index lives."""
    return Path(root) / DB_DIR / DB_NAME


class IndexDamaged(Exception):
    """The db file cannot be used as it is (corrupt, truncated, foreign or newer schema)."""


def is_damage(exc: BaseException) -> bool:
    """True for errors that mean the file is broken, not merely busy or locked."""
    if isinstance(exc, IndexDamaged):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        return "no such table" in text or "no such column" in text or "malformed" in text
    return isinstance(exc, sqlite3.DatabaseError)


@dataclass
class FileState:
    id: int
    size: int
    mtime_ns: int
    sha256: str


class IndexStore:
    """An open index db. Writers use `transaction()`; readers just query `conn`."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        else:
            try:
                ensure_ignored_dir(self.path.parent)
            except OSError as exc:
                raise unwritable_error(self.path, exc) from None
            self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout = 10000")
        self.conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        # ((data_version, total_changes), (chunk ids, matrix) or None): kept by retrieve.py.
        self.vector_cache: tuple[tuple[int, int], tuple[Any, Any] | None] | None = None
        self.lock_fd: int | None = None  # the writer lock (open_store), released by close()

    def close(self) -> None:
        self.conn.close()
        if self.lock_fd is not None:  # closing the descriptor releases the writer lock
            os.close(self.lock_fd)
            self.lock_fd = None

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on error: a crash never leaves half a file."""
        return sqlitedb.transaction(self.conn)

    def migrate(self) -> None:
        """Apply the migrations this db lacks; refuse a db made by a newer schema."""
        try:
            sqlitedb.migrate(self.conn, MIGRATIONS, LEDGER)
        except sqlitedb.NewerSchema as exc:
            raise IndexDamaged(f"made by a newer version (migration {exc.newest})") from None

    def check(self) -> None:
        """A cheap health check: the schema is all there and the files table reads."""
        tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master")}
        missing = EXPECTED_TABLES - tables
        if missing:
            raise IndexDamaged(f"table {sorted(missing)[0]!r} is missing")
        self.conn.execute("SELECT count(*), max(id) FROM files").fetchone()

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def file_states(self) -> dict[str, FileState]:
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, sha256 FROM files")
        return {path: FileState(fid, size, mtime, sha) for path, fid, size, mtime, sha in rows}

    def counts(self) -> dict[str, int]:
        def one(sql: str) -> int:
            return int(self.conn.execute(sql).fetchone()[0])

        return {
            "files": one("SELECT count(*) FROM files"),
            "symbols": one("SELECT count(*) FROM symbols"),
            "chunks": one("SELECT count(*) FROM chunks"),
            "vectors": one("SELECT count(*) FROM vectors"),
        }

    def data_version(self) -> int:
        """Changes whenever another connection commits (cheap cache invalidation)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])


def remove_db(path: Path) -> None:
    """Delete the db and its WAL side files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def unwritable_error(path: Path, exc: BaseException) -> CAError:
    reason = getattr(exc, "strerror", None) or str(exc)
    return CAError(f"cannot write the index at {path} ({reason}); check that directory")


def _writer_lock(path: Path) -> int | None:
    """Take the project's index writer lock (waiting for another `ca index` to finish).

    Two writers would each see a file as new and insert it twice, or one would migrate
    (or rebuild) the db under the other; one writer at a time makes the second find
    everything up to date. Readers never take it: WAL lets them read during a write.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking only
        return None
    try:
        ensure_ignored_dir(path.parent)
        fd = os.open(path.parent / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise unwritable_error(path, exc) from None
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def open_store(path: Path, notices: list[str] | None = None) -> IndexStore:
    """Open (creating or migrating) the index for writing, holding the writer lock until
    it is closed; a damaged file is deleted and started afresh."""
    lock = _writer_lock(Path(path))
    try:
        store = _open_locked(path, notices)
    except BaseException:
        if lock is not None:
            os.close(lock)
        raise
    store.lock_fd = lock
    return store


def _open_locked(path: Path, notices: list[str] | None) -> IndexStore:
    try:
        store = IndexStore(path)
    except sqlite3.DatabaseError as exc:
        if "unable to open" in str(exc) or "readonly" in str(exc):
            raise unwritable_error(path, exc) from None
        if not is_damage(exc):
            raise
        return _rebuild(path, exc, notices)
    try:
        store.migrate()
        store.check()
    except (sqlite3.DatabaseError, IndexDamaged) as exc:
        store.close()
        if not is_damage(exc):
            raise
        return _rebuild(path, exc, notices)
    return store


def _rebuild(path: Path, exc: BaseException, notices: list[str] | None) -> IndexStore:
    message = f"the index {path} was unusable ({exc}); rebuilding it from scratch"
    if notices is not None:
        notices.append(message)
    remove_db(path)
    store = IndexStore(path)
    store.migrate()
    return store


def damaged_error(path: Path, exc: BaseException) -> CAError:
    return CAError(f"the index {path} is damaged ({exc}); run `ca index` to rebuild it")


def open_readonly(path: Path) -> IndexStore | None:
    """Open an existing index for reading; None when there is none, CAError when damaged."""
    if not Path(path).exists():
        return None
    store = None
    try:
        store = IndexStore(path, readonly=True)
        store.check()
    except (sqlite3.DatabaseError, IndexDamaged) as exc:
        if store is not None:
            store.close()
        if not is_damage(exc):
            raise
        raise damaged_error(path, exc) from None
    return store
