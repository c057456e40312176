"""A JSON notes API on WSGI and SQLite (reference solution of 02-notes-api)."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

SCHEMA = """CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL, created TEXT NOT NULL)"""
FIELDS = {"title", "body", "tags"}
NOTE_PATH = re.compile(r"^/notes/([^/]+)$")
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
           404: "Not Found", 405: "Method Not Allowed"}


class HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _row(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "body": row["body"],
            "tags": json.loads(row["tags"]), "created": row["created"]}


def _clean(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    unknown = set(data) - FIELDS
    if unknown:
        raise HTTPError(400, f"unknown field {sorted(unknown)[0]!r}")
    if creating and "title" not in data:
        raise HTTPError(400, "title is required")
    clean: dict[str, Any] = {}
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str) or not title.strip():
            raise HTTPError(400, "title must be a non-blank string")
        if len(title.strip()) > 200:
            raise HTTPError(400, "title is longer than 200 characters")
        clean["title"] = title.strip()
    if "body" in data:
        if not isinstance(data["body"], str):
            raise HTTPError(400, "body must be a string")
        clean["body"] = data["body"]
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise HTTPError(400, "tags must be a list of strings")
        clean["tags"] = list(dict.fromkeys(tags))
    return clean


class NotesApp:
    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        with self._db() as db:
            db.execute(SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one request: committed (or rolled back) and closed."""
        db = sqlite3.connect(self.db_path)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        headers = [("Content-Type", "application/json")]
        try:
            status, payload, extra = self.route(environ)
        except HTTPError as exc:
            status, payload, extra = exc.status, {"error": str(exc)}, []
        body = b"" if status == 204 else json.dumps(payload).encode("utf-8")
        start_response(f"{status} {REASONS[status]}", headers + extra)
        return [body]

    def route(self, environ: dict[str, Any]) -> tuple[int, Any, list[tuple[str, str]]]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == "/notes":
            if method == "GET":
                return 200, {"notes": self.search(environ.get("QUERY_STRING", ""))}, []
            if method == "POST":
                note = self.create(_clean(self.read_json(environ), creating=True))
                return 201, note, [("Location", f"/notes/{note['id']}")]
            raise HTTPError(405, f"{method} is not allowed on /notes")
        match = NOTE_PATH.match(path)
        if not match:
            raise HTTPError(404, f"no such path {path}")
        if not match.group(1).isdigit():
            raise HTTPError(404, f"no note {match.group(1)}")
        note_id = int(match.group(1))
        if method == "GET":
            return 200, self.get(note_id), []
        if method == "PATCH":
            return 200, self.update(note_id, _clean(self.read_json(environ), False)), []
        if method == "DELETE":
            self.delete(note_id)
            return 204, None, []
        raise HTTPError(405, f"{method} is not allowed on /notes/<id>")

    @staticmethod
    def read_json(environ: dict[str, Any]) -> dict[str, Any]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            data = json.loads(raw or b"null")
        except ValueError:
            raise HTTPError(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "the body must be a JSON object")
        return data

    def get(self, note_id: int) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        if row is None:
            raise HTTPError(404, f"no note {note_id}")
        return _row(row)

    def search(self, query: str) -> list[dict[str, Any]]:
        params = parse_qs(query)
        with self._db() as db:
            notes = [_row(r) for r in db.execute("SELECT * FROM notes ORDER BY id")]
        for tag in params.get("tag", []):
            notes = [n for n in notes if tag in n["tags"]]
        for text in params.get("q", []):
            low = text.lower()
            notes = [n for n in notes if low in n["title"].lower() or low in n["body"].lower()]
        return notes

    def create(self, clean: dict[str, Any]) -> dict[str, Any]:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO notes (title, body, tags, created) VALUES (?, ?, ?, ?)",
                (clean["title"], clean.get("body", ""), json.dumps(clean.get("tags", [])),
                 created),
            )
            note_id = cursor.lastrowid
        return self.get(int(note_id or 0))

    def update(self, note_id: int, clean: dict[str, Any]) -> dict[str, Any]:
        note = self.get(note_id)
        note.update(clean)
        with self._db() as db:
            db.execute("UPDATE notes SET title = ?, body = ?, tags = ? WHERE id = ?",
                       (note["title"], note["body"], json.dumps(note["tags"]), note_id))
        return self.get(note_id)

    def delete(self, note_id: int) -> None:
        self.get(note_id)
        with self._db() as db:
            db.execute("DELETE FROM notes WHERE id = ?", (note_id,))


def create_app(db_path: str) -> NotesApp:
    return NotesApp(db_path)


def main() -> None:
    from wsgiref.simple_server import make_server

    parser = argparse.ArgumentParser(description="Serve the notes API.")
    parser.add_argument("--db", default="notes.db")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with make_server("127.0.0.1", args.port, create_app(args.db)) as server:
        print(f"serving on http://127.0.0.1:{args.port}")
        server.serve_forever()


if __name__ == "__main__":
    main()
