"""Sessions in SQLite (WAL): every message is written as it happens; resume, list, name."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant import sqlitedb
from code_assistant.backends.base import Message, ToolCall, clean_text
from code_assistant.errors import UsageError
from code_assistant.redact import Redactor, secret_values

DB_NAME = "sessions.db"
PREVIEW_CHARS = 80


def _m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            started REAL NOT NULL,
            updated REAL NOT NULL,
            first_message TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            compacted_through INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            turn INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            extra TEXT NOT NULL DEFAULT '{}',
            created REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX messages_by_turn ON messages(session_id, turn, id)")
    db.execute("CREATE INDEX sessions_by_project ON sessions(project, updated)")


# Append only: a migration, once released, never changes; the next one gets the next number.
MIGRATIONS: tuple[tuple[str, sqlitedb.Step], ...] = (
    ("initial sessions and messages", _m001_initial),
)
LEDGER = sqlitedb.Ledger(
    create="CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)",
    select="SELECT version FROM schema_migrations",
    insert="INSERT INTO schema_migrations VALUES (:version, :name, :now)",
    key="version",
)


@dataclass
class SessionInfo:
    """One row of `ca sessions`."""

    id: str
    project: str
    name: str
    started: float
    updated: float
    turns: int
    first_message: str
    summary: str = ""
    compacted_through: int = 0


    def line(self, here: Path | str | None = None) -> str:
        """One line for `ca sessions` and /sessions: id (name), project, started, turns, first.

        The project is shown as "(here)" when it is `here`.
        """
        label = f"{self.id} ({self.name})" if self.name else self.id
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))
        turns = f"{self.turns:>3} turn(s)"
        project = "(here)" if here is not None and self.project == str(here) else self.project
        return f"{label:<24} {project}  {started}  {turns}  {self.first_message}"


@dataclass
class Turn:
    """One exchange: the user's message and every assistant and tool message that followed."""

    number: int
    messages: list[Message] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Answered: it ends with an assistant message that asks for no more tools."""
        if not self.messages:
            return False
        last = self.messages[-1]
        return last.role == "assistant" and not last.tool_calls


@dataclass
class LoadedSession:
    info: SessionInfo
    turns: list[Turn]
    dropped_turns: int = 0  # interrupted turns (killed or crashed mid-answer) left out


def _extra(message: Message, redactor: Redactor) -> str:
    data: dict[str, object] = {}
    if message.tool_calls:
        data["tool_calls"] = redactor.data([c.to_dict() for c in message.tool_calls])
    if message.tool_call_id:
        data["tool_call_id"] = message.tool_call_id
    if message.name:
        data["name"] = message.name
    return json.dumps(data)


def _message(role: str, content: str, extra: str) -> Message:
    data = json.loads(extra or "{}")
    calls = [ToolCall(**c) for c in data.get("tool_calls") or []]
    return Message(role, content, calls, data.get("tool_call_id", ""), data.get("name", ""))


INTERRUPTED_TOOL = (
    "(no result was recorded: ca was stopped while this tool ran. It may have run: check "
    "its effect, e.g. read the file, before you repeat it.)"
)
INTERRUPTED_TURN = "(this turn was interrupted: ca stopped before it finished)"


def _close_interrupted(turn: Turn) -> None:
    """Keep a killed turn that called tools: the calls may have changed files, so the model
    must see them. Unanswered calls get a result saying so, and the turn a closing note."""
    last = max(i for i, m in enumerate(turn.messages) if m.role == "assistant")
    # Only the last assistant message can have unanswered calls: the loop answers each one
    # before it asks the model again, and results must follow their calls directly.
    answered = {m.tool_call_id for m in turn.messages[last + 1 :] if m.role == "tool"}
    for call in turn.messages[last].tool_calls:
        if call.id not in answered:
            turn.messages.append(
                Message("tool", INTERRUPTED_TOOL, tool_call_id=call.id, name=call.name)
            )
    turn.messages.append(Message("assistant", INTERRUPTED_TURN))


def new_session_id() -> str:
    return uuid.uuid4().hex[:8]


class SessionStore:
    """The sessions database in the machine-only sessions directory."""

    def __init__(self, path: Path, secrets: Sequence[str] | None = None) -> None:
        self.path = path
        # Everything is redacted before it is written: keys read from .env or printed by
        # `env` must not sit in clear in the database (a resumed turn sees `***`).
        self.redactor = Redactor(secret_values() if secrets is None else secrets)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: each append is its own transaction, so a killed process loses
            # nothing that was already written.
            self.db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot open the sessions database {path} ({exc}); set sessions_dir "
                "(or CA_SESSIONS_DIR) to a writable directory"
            ) from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise UsageError(
                f"{path} is not a usable sessions database ({exc}); move it aside "
                "(a new one is created) or set sessions_dir"
            ) from None
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)  # transcripts can hold code and secrets

    @classmethod
    def in_dir(cls, directory: Path, secrets: Sequence[str] | None = None) -> SessionStore:
        return cls(directory / DB_NAME, secrets)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlitedb.transaction(self.db)

    def _migrate(self) -> None:
        try:
            sqlitedb.migrate(self.db, MIGRATIONS, LEDGER)
        except sqlitedb.NewerSchema as exc:
            raise UsageError(
                f"{self.path} was written by a newer code-assistant (schema {exc.newest}); "
                "upgrade code-assistant or set another sessions_dir"
            ) from None

    def schema_version(self) -> int:
        row = self.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    # --- writing -------------------------------------------------------------------------------

    def create(self, project: Path | str, session_id: str | None = None) -> str:
        session_id = session_id or new_session_id()
        now = time.time()
        self.db.execute(
            "INSERT INTO sessions (id, project, started, updated) VALUES (?, ?, ?, ?)",
            (session_id, str(project), now, now),
        )
        return session_id

    def append(self, session_id: str, turn: int, message: Message) -> None:
        """Write one message of `turn` now (its own transaction)."""
        now = time.time()
        content = clean_text(self.redactor.text(message.content))
        extra = _extra(message, self.redactor)  # json.dumps escapes lone surrogates
        with self._transaction() as db:
            db.execute(
                "INSERT INTO messages (session_id, turn, role, content, extra, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, turn, message.role, content, extra, now),
            )
            if message.role == "user":
                db.execute(
                    "UPDATE sessions SET first_message = ? WHERE id = ? AND first_message = ''",
                    (" ".join(content.split())[:PREVIEW_CHARS], session_id),
                )
            db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (now, session_id))

    def set_name(self, session_id: str, name: str) -> None:
        name = name.strip()
        if not name or any(c.isspace() for c in name):
            raise UsageError("a session name is one word, e.g. /save fix-parser")
        clash = self.db.execute(
            "SELECT id FROM sessions WHERE name = ? AND id != ?", (name, session_id)
        ).fetchone()
        if clash:
            raise UsageError(f"session {clash[0]} is already named {name!r}; choose another name")
        self.db.execute("UPDATE sessions SET name = ? WHERE id = ?", (name, session_id))

    def set_summary(self, session_id: str, summary: str, through_turn: int) -> None:
        """Record a compaction: turns up to `through_turn` are replaced by `summary` on load."""
        self.db.execute(
            "UPDATE sessions SET summary = ?, compacted_through = ?, updated = ? WHERE id = ?",
            (clean_text(self.redactor.text(summary)), through_turn, time.time(), session_id),
        )

    # --- reading -------------------------------------------------------------------------------

    _INFO = (
        "SELECT s.id, s.project, s.name, s.started, s.updated, "
        "(SELECT COUNT(DISTINCT m.turn) FROM messages m WHERE m.session_id = s.id), "
        "s.first_message, s.summary, s.compacted_through FROM sessions s"
    )

    def list(self, project: Path | str | None = None, limit: int = 50) -> list[SessionInfo]:
        """Sessions, most recently used first; only those of `project` when given."""
        where, args = ("WHERE s.project = ?", [str(project)]) if project is not None else ("", [])
        rows = self.db.execute(
            f"{self._INFO} {where} ORDER BY s.updated DESC LIMIT ?", (*args, limit)
        ).fetchall()
        return [SessionInfo(*row) for row in rows]

    def get(self, session_id: str) -> SessionInfo | None:
        row = self.db.execute(f"{self._INFO} WHERE s.id = ?", (session_id,)).fetchone()
        return SessionInfo(*row) if row else None

    def resolve(self, ref: str, project: Path | str | None = None) -> SessionInfo:
        """A session by id, unique id prefix, name, or "latest" (in `project` when given)."""
        ref = ref.strip()
        if ref in ("", "latest"):
            found = self.list(project, limit=1)
            if not found:
                where = f" for {project}" if project is not None else ""
                raise UsageError(f"no saved session{where} to resume; start one with `ca`")
            return found[0]
        named = self.db.execute("SELECT id FROM sessions WHERE name = ?", (ref,)).fetchone()
        if named:
            return self.get(named[0])  # type: ignore[return-value]
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        ids = [
            row[0]
            for row in self.db.execute(
                "SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 5", (pattern,)
            )
        ]
        if len(ids) == 1:
            return self.get(ids[0])  # type: ignore[return-value]
        if ids:
            raise UsageError(f"session id {ref!r} is ambiguous: {', '.join(ids)}")
        raise UsageError(
            f"no session {ref!r}; `ca sessions` (or /sessions) lists the saved ones"
        )

    def load(self, session_id: str) -> LoadedSession:
        """The session's turns after its last compaction; interrupted turns are left out."""
        info = self.get(session_id)
        if info is None:
            raise UsageError(f"no session {session_id!r}")
        turns: dict[int, Turn] = {}
        rows = self.db.execute(
            "SELECT turn, role, content, extra FROM messages "
            "WHERE session_id = ? AND turn > ? ORDER BY turn, id",
            (session_id, info.compacted_through),
        )
        for number, role, content, extra in rows:
            turns.setdefault(number, Turn(number)).messages.append(_message(role, content, extra))
        for turn in turns.values():
            if not turn.complete and any(m.tool_calls for m in turn.messages):
                _close_interrupted(turn)
        complete = [t for t in turns.values() if t.complete]
        return LoadedSession(info, complete, dropped_turns=len(turns) - len(complete))

    def last_turn_number(self, session_id: str) -> int:
        row = self.db.execute(
            "SELECT MAX(turn) FROM messages WHERE session_id = ?", (session_id,)
        ).fetchone()
        return int(row[0] or 0)
