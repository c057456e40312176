"""The batch writer and the shared parse pipeline: what an interrupted update keeps, and
the main process parsing next to a pool worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from code_assistant.config import Config
from code_assistant.index.build import BATCH_FILES, COMMIT_FILES, update_index
from tests.test_index_build import rows, snapshot, write_tree


def _tree(root: Path, count: int) -> None:
    source = "def handler_{0}(event):\n    return event + {0}\n"
    write_tree(root, {f"pkg/m{i:04}.py": source.format(i) for i in range(count)})


def test_an_interrupted_update_keeps_only_committed_batches(tmp_path: Path) -> None:
    total = 2 * COMMIT_FILES
    root = tmp_path / "tree"
    _tree(root, total)
    seen: list[int] = []

    def stop_after_an_uncommitted_batch(phase: str, done: int, _total: int) -> None:
        seen.append(done)
        if phase == "parse" and done >= COMMIT_FILES + BATCH_FILES:
            raise KeyboardInterrupt  # Ctrl-C between two batches of one transaction

    with pytest.raises(KeyboardInterrupt):
        update_index(root, Config(), progress=stop_after_an_uncommitted_batch, workers=1)
    committed = rows(root, "SELECT count(*) FROM files")[0][0]
    # The first commit came after the batch that reached COMMIT_FILES; the batch after it
    # was written but not committed, and is gone.
    assert COMMIT_FILES <= committed < seen[-1]
    assert rows(root, "SELECT count(*) FROM chunks")[0][0] == committed
    assert rows(root, "SELECT count(*) FROM chunks_fts")[0][0] == committed
    again = update_index(root, Config(), workers=1)
    assert (again.files, again.indexed) == (total, total - committed)
    reference = tmp_path / "reference"
    _tree(reference, total)
    update_index(reference, Config(), workers=1)
    assert snapshot(root) == snapshot(reference)


def test_main_process_and_pool_share_the_batches(tmp_path: Path) -> None:
    # Enough batches that both the pool worker and this process take some.
    count = 8 * BATCH_FILES
    shared, serial = tmp_path / "shared", tmp_path / "serial"
    _tree(shared, count)
    _tree(serial, count)
    two = update_index(shared, Config(), workers=2)
    one = update_index(serial, Config(), workers=1)
    assert (two.files, two.indexed, two.symbols) == (count, count, count)
    assert snapshot(shared) == snapshot(serial)
    ids = rows(shared, "SELECT id FROM chunks ORDER BY id")
    assert [row[0] for row in ids] == list(range(1, count + 1))  # ids dense, none reused
    assert one.chunks == two.chunks
