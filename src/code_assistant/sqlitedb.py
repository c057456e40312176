"""SQLite for the stores: one write transaction, and numbered migrations applied inside one."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection (isolation_level=None), rolled
    back on error: a crash never leaves half a write."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself after some errors
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# A step is SQL text (any number of statements) or a function given the connection.
Step = str | Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Ledger:
    """The table a database records its applied migrations in, as that database spells it.

    `key` says what identifies an applied step: "version" (its 1-based position) or "name";
    `select` lists the keys recorded; `insert` records one step, with the named parameters
    :version, :name and :now (time.time()).
    """

    create: str  # CREATE TABLE IF NOT EXISTS ...
    select: str
    insert: str
    key: Literal["version", "name"]


class NewerSchema(Exception):
    """The db records a migration this code does not know: a newer version wrote it."""

    def __init__(self, newest: object) -> None:
        super().__init__(f"migration {newest}")
        self.newest = newest  # the greatest unknown version or name


def _statements(sql: str) -> Iterator[str]:
    """The complete statements in `sql`, so they can run inside the caller's transaction
    (executescript would commit it first); a `;` inside a trigger or comment does not split."""
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip(" \t\n;"):
        yield pending  # incomplete: let SQLite say what is wrong with it


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[str, Step]],
            ledger: Ledger) -> None:
    """Apply the steps `ledger` lacks, in order, in one transaction (a second process opening
    the same new db waits, then finds them done); raise NewerSchema, with nothing changed,
    when the db records a step not in `migrations`."""
    with transaction(conn):
        conn.execute(ledger.create)
        done = {row[0] for row in conn.execute(ledger.select)}
        todo = {
            version if ledger.key == "version" else name: (version, name, step)
            for version, (name, step) in enumerate(migrations, start=1)
        }
        if done - todo.keys():
            raise NewerSchema(max(done - todo.keys()))
        for key, (version, name, step) in todo.items():
            if key in done:
                continue
            if isinstance(step, str):
                for statement in _statements(step):
                    conn.execute(statement)
            else:
                step(conn)
            conn.execute(ledger.insert, {"version": version, "name": name, "now": time.time()})
