"""Incremental indexing: walk, skip what is unchanged (mtime/size, then hash), parse in parallel."""

from __future__ import annotations

import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The pool's workers import only extract.py (not this module, the store or the config).
from code_assistant.index.extract import FileResult, process_batch
from code_assistant.index.store import (
    IndexStore,
    db_path_for,
    is_damage,
    open_store,
    remove_db,
)
from code_assistant.index.walk import DEFAULT_MAX_BYTES, FileEntry, iter_project_entries
from code_assistant.index.writer import COMMIT_BYTES as COMMIT_BYTES  # re-exported
from code_assistant.index.writer import COMMIT_FILES as COMMIT_FILES  # re-exported
from code_assistant.index.writer import Writer

if TYPE_CHECKING:
    from code_assistant.backends.base import Embedder
    from code_assistant.config import Config


# phase ("scan", "parse", "embed"), done, total
ProgressFn = Callable[[str, int, int], None]
PARALLEL_MIN_BYTES = 4_000_000  # below this a process pool costs more than it saves
BATCH_FILES = 48
BATCH_BYTES = 1_000_000
# Bump when parse/chunk/terms change what a file yields: every file is then re-indexed once.
EXTRACTOR_VERSION = "2"


@dataclass
class IndexStats:
    """What one update did and what the index now holds."""

    root: str = ""
    files: int = 0
    symbols: int = 0
    chunks: int = 0
    vectors: int = 0
    indexed: int = 0  # files parsed in this run
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0  # binary, minified or unreadable
    parse_errors: int = 0  # files indexed despite syntax errors
    embedded: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batches(jobs: list[tuple[str, str, int, int, str]]) -> list[list[Any]]:
    """Jobs in batches of BATCH_FILES files or BATCH_BYTES bytes, whichever comes first:
    small enough that the processes finish close together."""
    batches: list[list[Any]] = []
    size = 0
    for job in jobs:
        if not batches or len(batches[-1]) >= BATCH_FILES or size >= BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(job)
        size += job[2]
    return batches


def _run_jobs(
    jobs: list[tuple[str, str, int, int, str]], workers: int | None
) -> Iterator[list[FileResult]]:
    """Results batch by batch: in this process for small work, else here and in a pool.

    `workers` None: default_workers() processes once the work is big enough; 1: only here;
    more: this process and a pool of workers - 1. This process parses too, between writes:
    a separate writer would leave a core idle while the pool starts and the pool idle
    during the last write (measured on 2 cores, docs/index.md).
    """
    if workers is None:
        big = sum(job[2] for job in jobs) >= PARALLEL_MIN_BYTES
        workers = default_workers() if big else 1
    batches = deque(_batches(jobs))
    if workers <= 1 or len(batches) < 2:
        while batches:
            yield process_batch(batches.popleft())
        return
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    # forkserver/spawn, never fork: forking a process that runs threads can deadlock.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    inflight: dict[Any, list[Any]] = {}
    pool = ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context(method))
    try:
        yield from _share(pool, batches, inflight, 2 * (workers - 1))
    except BrokenProcessPool:
        # A worker could not start (e.g. the main module cannot be re-imported) or died:
        # finish here rather than fail the whole index.
        for batch in [*inflight.values(), *batches]:
            yield process_batch(batch)
    finally:
        # On Ctrl-C or an error do not wait for the queued batches.
        pool.shutdown(wait=True, cancel_futures=True)


def _share(
    pool: ProcessPoolExecutor, batches: deque[list[Any]], inflight: dict[Any, list[Any]], depth: int
) -> Iterator[list[FileResult]]:
    """The pool takes batches from the front (`depth` queued, so it never waits on us);
    this process takes them from the back whenever no pool result is ready."""
    while batches or inflight:
        while batches and len(inflight) < depth:
            batch = batches.popleft()
            inflight[pool.submit(process_batch, batch)] = batch
        done = [future for future in inflight if future.done()]
        for future in done:
            results = future.result()
            del inflight[future]
            yield results
        if done:
            continue
        if batches:
            yield process_batch(batches.pop())
        else:
            wait(list(inflight), return_when=FIRST_COMPLETED)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def scan_sources(root: Path, config: Config) -> list[FileEntry]:
    """The files the index covers: walked with the config's excludes, known languages only."""
    from code_assistant.index.parse import EXTENSIONS

    entries = iter_project_entries(
        root, config.index_exclude, max_bytes=DEFAULT_MAX_BYTES, text_only=False,
        suffixes=EXTENSIONS,
    )  # fmt: skip
    return list(entries)


def _update(
    store: IndexStore,
    root: Path,
    config: Config,
    stats: IndexStats,
    progress: ProgressFn | None,
    workers: int | None,
) -> None:
    entries = scan_sources(root, config)
    known = store.file_states()
    walked = {entry.rel for entry in entries}
    gone = [state.id for rel, state in known.items() if rel not in walked]
    if gone:
        with store.transaction() as conn:
            conn.executemany("DELETE FROM files WHERE id = ?", [(fid,) for fid in gone])
    stats.removed = len(gone)
    # Symbols and chunks made by an older extractor are re-made, unchanged files included.
    current = store.get_meta("extractor") == EXTRACTOR_VERSION
    if not known and not current:  # a new index is all made by this extractor
        with store.transaction():
            store.set_meta("extractor", EXTRACTOR_VERSION)
        current = True
    jobs = []
    for entry in entries:
        state = known.get(entry.rel)
        if current and state is not None and (state.size, state.mtime_ns) == (
            entry.size, entry.mtime_ns,
        ):  # fmt: skip
            continue
        jobs.append((entry.abspath, entry.rel, entry.size, entry.mtime_ns,
                     state.sha256 if state and current else ""))  # fmt: skip
    stats.unchanged = len(entries) - len(jobs)
    if progress:
        progress("parse", 0, len(jobs))
    done = 0
    writer = Writer(store, known)
    try:
        for results in _run_jobs(jobs, workers):
            writer.add(results)
            for result in results:
                stats.indexed += result.status == "parsed"
                stats.unchanged += result.status == "same"
                stats.skipped += result.status == "skip"
                stats.parse_errors += result.has_errors
            done += len(results)
            if progress:
                progress("parse", done, len(jobs))
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    if not current:
        with store.transaction():
            store.set_meta("extractor", EXTRACTOR_VERSION)


def _embed(
    store: IndexStore,
    backend: Embedder | None,
    model: str,
    static: bool,
    stats: IndexStats,
    progress: ProgressFn | None,
) -> None:
    """Vectors from the backend's embedding model; without one, or when it cannot embed, from
    the bundled static model, unless the index already holds the backend model's vectors."""
    from code_assistant.index.embed import embed_pending
    from code_assistant.index.static_embed import MODEL, load

    if backend is not None:
        before = len(stats.notices)
        stats.embedded = embed_pending(store, backend, model, stats.notices, progress)
        if len(stats.notices) == before:
            return
    has_vectors = store.conn.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None
    if not static or (has_vectors and store.get_meta("embedding_model") != MODEL):
        return  # keep the backend's vectors: `ca index` with the backend embeds new chunks
    embedder = load()
    if embedder is None:
        return
    if backend is not None and stats.notices:
        stats.notices[-1] = stats.notices[-1].replace(
            "search is lexical only for now", "using the bundled static embeddings instead"
        )
    stats.embedded += embed_pending(store, embedder, MODEL, stats.notices, progress)


def update_index(
    root: Path,
    config: Config,
    backend: Embedder | None = None,
    progress: ProgressFn | None = None,
    *,
    workers: int | None = None,
    db_path: Path | None = None,
    static: bool = True,
) -> IndexStats:
    """Bring the index of `root` (`root`/.ca/index.db unless `db_path`) up to date; embed
    with the backend when given and able, else (`static`) with the bundled static model when
    installed. A damaged db is rebuilt, with a notice."""
    started = time.perf_counter()
    root = Path(root).resolve()
    stats = IndexStats(root=str(root))
    path = Path(db_path) if db_path else db_path_for(root)
    for attempt in (1, 2):
        store = open_store(path, stats.notices)
        stats.rebuilt = stats.rebuilt or bool(stats.notices)
        try:
            _update(store, root, config, stats, progress, workers)
            _embed(store, backend, config.embedding_model, static, stats, progress)
            counts = store.counts()
            stats.files, stats.symbols = counts["files"], counts["symbols"]
            stats.chunks, stats.vectors = counts["chunks"], counts["vectors"]
            break
        except sqlite3.DatabaseError as exc:
            if attempt == 2 or not is_damage(exc):
                raise
            stats.notices.append(f"the index {path} broke while updating ({exc}); rebuilding it")
            stats.rebuilt = True
            stats.indexed = stats.unchanged = stats.skipped = stats.parse_errors = 0
            store.close()
            remove_db(path)
            continue
        finally:
            store.close()
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats
