"""Held-out tests of 02-notes-api: the WSGI app called directly, as a server would."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from notes_api import create_app


class Client:
    def __init__(self, db: Path) -> None:
        self.app = create_app(str(db))

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                query: str = "") -> tuple[int, dict[str, str], Any]:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path,
                                   "QUERY_STRING": query, "CONTENT_LENGTH": str(len(data)),
                                   "CONTENT_TYPE": "application/json",
                                   "wsgi.input": io.BytesIO(data)}
        setup_testing_defaults(environ)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                           ) -> Any:
            captured["status"] = int(status.split()[0])
            captured["headers"] = {k.lower(): v for k, v in headers}
            return lambda chunk: None

        chunks = self.app(environ, start_response)
        payload = b"".join(chunks)
        close = getattr(chunks, "close", None)
        if close:
            close()
        parsed = json.loads(payload) if payload else None
        return captured["status"], captured["headers"], parsed


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(tmp_path / "notes.db")


def test_create_returns_201_with_the_note_and_location(client: Client) -> None:
    status, headers, note = client.request(
        "POST", "/notes", {"title": "  Groceries ", "body": "milk", "tags": ["home", "home"]}
    )
    assert status == 201
    assert headers["content-type"].startswith("application/json")
    assert headers["location"] == f"/notes/{note['id']}"
    assert isinstance(note["id"], int)
    assert (note["title"], note["body"], note["tags"]) == ("Groceries", "milk", ["home"])
    datetime.fromisoformat(note["created"])


def test_defaults_and_get_by_id(client: Client) -> None:
    _, _, note = client.request("POST", "/notes", {"title": "Only a title"})
    assert note["body"] == "" and note["tags"] == []
    status, _, fetched = client.request("GET", f"/notes/{note['id']}")
    assert status == 200
    assert fetched == note


def test_list_in_id_order_with_tag_and_text_filters(client: Client) -> None:
    client.request("POST", "/notes", {"title": "Buy milk", "tags": ["home"]})
    client.request("POST", "/notes",
                   {"title": "Fix bug", "body": "The MILK parser", "tags": ["work"]})
    client.request("POST", "/notes", {"title": "Call mom", "tags": ["home"]})
    status, _, listing = client.request("GET", "/notes")
    assert status == 200
    assert [n["title"] for n in listing["notes"]] == ["Buy milk", "Fix bug", "Call mom"]
    _, _, home = client.request("GET", "/notes", query="tag=home")
    assert [n["title"] for n in home["notes"]] == ["Buy milk", "Call mom"]
    _, _, milk = client.request("GET", "/notes", query="q=milk")
    assert [n["title"] for n in milk["notes"]] == ["Buy milk", "Fix bug"]
    _, _, both = client.request("GET", "/notes", query="q=milk&tag=work")
    assert [n["title"] for n in both["notes"]] == ["Fix bug"]


def test_patch_updates_only_given_fields(client: Client) -> None:
    _, _, note = client.request("POST", "/notes", {"title": "Draft", "body": "b", "tags": ["x"]})
    status, _, updated = client.request("PATCH", f"/notes/{note['id']}", {"body": "final"})
    assert status == 200
    assert (updated["title"], updated["body"], updated["tags"]) == ("Draft", "final", ["x"])
    assert updated["created"] == note["created"]
    _, _, fetched = client.request("GET", f"/notes/{note['id']}")
    assert fetched["body"] == "final"


def test_delete_then_gone(client: Client) -> None:
    _, _, note = client.request("POST", "/notes", {"title": "Temp"})
    status, _, body = client.request("DELETE", f"/notes/{note['id']}")
    assert (status, body) == (204, None)
    assert client.request("GET", f"/notes/{note['id']}")[0] == 404
    assert client.request("DELETE", f"/notes/{note['id']}")[0] == 404


@pytest.mark.parametrize("payload", [
    {}, {"title": "   "}, {"title": 5}, {"title": "x" * 201}, {"title": "ok", "body": 3},
    {"title": "ok", "tags": "home"}, {"title": "ok", "tags": [1]},
    {"title": "ok", "color": "red"},
])
def test_invalid_notes_are_400_with_an_error_message(client: Client, payload: Any) -> None:
    status, _, body = client.request("POST", "/notes", payload)
    assert status == 400
    assert isinstance(body["error"], str) and body["error"]
    assert client.request("GET", "/notes")[2]["notes"] == []


def test_bad_json_and_non_objects_are_400(client: Client) -> None:
    assert client.request("POST", "/notes", raw=b"{nope")[0] == 400
    assert client.request("POST", "/notes", ["title"])[0] == 400
    _, _, note = client.request("POST", "/notes", {"title": "t"})
    assert client.request("PATCH", f"/notes/{note['id']}", {"title": ""})[0] == 400


def test_unknown_ids_paths_and_methods(client: Client) -> None:
    assert client.request("GET", "/notes/999")[0] == 404
    status, _, body = client.request("GET", "/notes/abc")
    assert status == 404 and "error" in body
    assert client.request("GET", "/nothing")[0] == 404
    status, _, body = client.request("PUT", "/notes", {"title": "x"})
    assert status == 405 and "error" in body


def test_notes_persist_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "persist.db"
    Client(db).request("POST", "/notes", {"title": "Kept"})
    _, _, listing = Client(db).request("GET", "/notes")
    assert [n["title"] for n in listing["notes"]] == ["Kept"]
