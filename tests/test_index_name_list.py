"""The name-only BM25 list: a definition whose name (or signature) holds the query's words
gets a vote that a chunk merely using those words in its code does not."""

from __future__ import annotations

from pathlib import Path

from code_assistant.config import Config
from code_assistant.index.build import update_index
from code_assistant.index.retrieve import RRF_K, _lexical, search
from code_assistant.index.store import IndexStore, db_path_for
from tests.test_index_build import write_tree

FILES = {
    "io/sink.py": """
        def flush_file(handle, retries, clock):
            started = clock.now()
            for attempt in range(retries):
                handle.flush()
            return clock.now() - started
        """,
    "io/store.py": """
        def save(records, target):
            # Write each record to the file, flush the file, and close the file.
            with open(target, "w") as file:
                for record in records:
                    file.write(record.to_line())
                file.flush()
            return len(records)
        """,
}


def test_the_name_list_votes_only_for_definitions_named_by_the_query(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    update_index(tmp_path, Config(), static=False)
    with IndexStore(db_path_for(tmp_path), readonly=True) as store:
        everything, by_name = _lexical(store, ["flush", "file"])
        symbol = {cid: name for cid, name in store.conn.execute("SELECT id, symbol FROM chunks")}
    assert sorted(symbol[cid] for cid in everything) == ["flush_file", "save"]
    assert [symbol[cid] for cid in by_name] == ["flush_file"]
    hits = search(tmp_path, "flush the file", semantic=False)
    assert [hit.symbol for hit in hits] == ["flush_file", "save"]
    # More than first place in one list is worth: the name list voted for it as well.
    assert hits[0].score > 1 / (RRF_K + 1) + 1e-6
    assert hits[1].score <= 1 / (RRF_K + 1)
