"""Writing parsed files into the index db: batch by batch, one executemany per table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from code_assistant.index.store import FileState, IndexStore

if TYPE_CHECKING:
    from code_assistant.index.extract import FileResult

COMMIT_FILES = 300
COMMIT_BYTES = 4_000_000


class Writer:
    """Writes each batch of results as it arrives, in a transaction committed every
    COMMIT_FILES files or COMMIT_BYTES bytes: the last batch is all that is left to write
    once parsing ends, and a crash keeps every committed batch."""

    def __init__(self, store: IndexStore, known: dict[str, FileState]) -> None:
        self.conn, self.known = store.conn, known
        self.open = False
        self.files = self.bytes = self.next_file = self.next_chunk = 0

    def add(self, results: list[FileResult]) -> None:
        if not self.open:
            self.conn.execute("BEGIN IMMEDIATE")
            self.open = True
            self.next_file = self._next_id("files")
            self.next_chunk = self._next_id("chunks")
        self._rows(results)
        self.files += len(results)
        self.bytes += sum(r.size for r in results)
        # Fewer, larger transactions: FTS5 writes one segment per commit and merges them.
        if self.files >= COMMIT_FILES or self.bytes >= COMMIT_BYTES:
            self.commit()

    def commit(self) -> None:
        if self.open:
            self.conn.execute("COMMIT")
            self.open = False
            self.files = self.bytes = 0

    def rollback(self) -> None:
        # SQLite may have rolled back already (disk full, I/O error): do not mask that error.
        if self.open and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.open = False

    def _next_id(self, table: str) -> int:
        return (self.conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1

    def _rows(self, results: list[FileResult]) -> None:
        """One executemany per table for the whole batch (ids assigned here, as SQLite would:
        max + 1), not three per file."""
        gone: list[tuple[int]] = []
        same: list[tuple[int, int, int]] = []
        files: list[tuple[object, ...]] = []
        symbols: list[tuple[object, ...]] = []
        chunks: list[tuple[object, ...]] = []
        fts: list[tuple[object, ...]] = []
        for result in results:
            state = self.known.get(result.rel)
            if result.status == "same":
                same.append((result.size, result.mtime_ns, state.id if state else -1))
                continue
            if state is not None:
                gone.append((state.id,))
            if result.status == "skip":
                continue
            file_id, self.next_file = self.next_file, self.next_file + 1
            files.append((file_id, result.rel, result.language, result.size, result.mtime_ns,
                          result.sha256, result.lines, int(result.has_errors),
                          result.refs))  # fmt: skip
            symbols.extend((file_id, *row) for row in result.symbols)
            for row in result.chunks:
                chunks.append((self.next_chunk, file_id, *row[:4]))
                fts.append((self.next_chunk, *row[4:]))
                self.next_chunk += 1
        conn = self.conn
        conn.executemany("DELETE FROM files WHERE id = ?", gone)
        conn.executemany("UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", same)
        conn.executemany(
            "INSERT INTO files(id, path, language, size, mtime_ns, sha256, lines, parse_errors,"
            " refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            files,
        )
        conn.executemany(
            "INSERT INTO symbols(file_id, name, kind, parent, line, start_line, end_line,"
            " signature, visibility) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            symbols,
        )
        conn.executemany(
            "INSERT INTO chunks(id, file_id, start_line, end_line, symbol, kind)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            chunks,
        )
        conn.executemany(
            "INSERT INTO chunks_fts(rowid, name, path, text, terms) VALUES (?, ?, ?, ?, ?)", fts
        )
