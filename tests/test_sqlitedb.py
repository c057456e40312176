"""The migration runner both SQLite stores use: order, atomicity, refusing a newer db."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from code_assistant.sqlitedb import Ledger, NewerSchema, migrate

LEDGER = Ledger(
    create="CREATE TABLE IF NOT EXISTS applied (version INTEGER PRIMARY KEY, name TEXT)",
    select="SELECT version FROM applied",
    insert="INSERT INTO applied VALUES (:version, :name)",
    key="version",
)
FIRST = """
    CREATE TABLE t(x INTEGER);  -- a comment; with a semicolon
    CREATE TABLE log(x INTEGER);
    CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
        INSERT INTO log VALUES (new.x);
    END;
"""


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_sql_and_callable_steps_run_in_order_once(tmp_path: Path) -> None:
    def second(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES (7)")

    steps = (("first", FIRST), ("second", second))
    with closing(_connect(tmp_path / "a.db")) as db:
        migrate(db, steps, LEDGER)
        migrate(db, steps, LEDGER)  # nothing left to do: the insert does not run twice
        assert db.execute("SELECT x FROM log").fetchall() == [(7,)]  # the trigger is whole
        assert db.execute("SELECT * FROM applied").fetchall() == [(1, "first"), (2, "second")]


def test_a_failing_step_leaves_no_part_of_the_migration(tmp_path: Path) -> None:
    broken = (("first", "CREATE TABLE t(x INTEGER); CREATE TABLE t(y INTEGER);"),)
    with closing(_connect(tmp_path / "a.db")) as db:
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            migrate(db, broken, LEDGER)
        assert not db.in_transaction
        assert "t" not in _tables(db) and "applied" not in _tables(db)
        migrate(db, (("first", FIRST),), LEDGER)
        assert {"t", "log", "applied"} <= _tables(db)


def test_a_newer_db_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    with closing(_connect(tmp_path / "a.db")) as db:
        migrate(db, (("first", FIRST),), LEDGER)
        db.execute("INSERT INTO applied VALUES (3, 'from the future')")
        with pytest.raises(NewerSchema) as raised:
            migrate(db, (("first", FIRST), ("second", "CREATE TABLE u(x)")), LEDGER)
        assert raised.value.newest == 3
        assert "u" not in _tables(db) and not db.in_transaction
