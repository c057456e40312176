"""Held-out tests of 01-todo-cli: run `todo.py` as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TODO = Path(__file__).resolve().parent / "todo.py"


def todo(*args: str, cwd: Path, file: Path | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["--file", str(file)] if file else []
    return subprocess.run([sys.executable, str(TODO), *prefix, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "items.json"


def test_add_prints_and_stores_items_with_increasing_ids(tmp_path: Path, store: Path) -> None:
    first = todo("add", "buy", "milk", cwd=tmp_path, file=store)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "added 1: buy milk"
    assert todo("add", "call mom", cwd=tmp_path, file=store).stdout.strip() == "added 2: call mom"
    items = json.loads(store.read_text())
    assert items == [{"id": 1, "text": "buy milk", "done": False},
                     {"id": 2, "text": "call mom", "done": False}]


def test_list_shows_done_marks_in_id_order(tmp_path: Path, store: Path) -> None:
    for text in ("one", "two", "three"):
        todo("add", text, cwd=tmp_path, file=store)
    assert todo("done", "2", cwd=tmp_path, file=store).stdout.strip() == "done 2: two"
    listing = todo("list", cwd=tmp_path, file=store)
    assert listing.returncode == 0
    assert listing.stdout.strip().splitlines() == ["[ ] 1 one", "[x] 2 two", "[ ] 3 three"]
    pending = todo("list", "--pending", cwd=tmp_path, file=store)
    assert pending.stdout.strip().splitlines() == ["[ ] 1 one", "[ ] 3 three"]


def test_empty_list_says_no_items(tmp_path: Path, store: Path) -> None:
    result = todo("list", cwd=tmp_path, file=store)
    assert result.returncode == 0
    assert result.stdout.strip() == "no items"
    todo("add", "x", cwd=tmp_path, file=store)
    todo("done", "1", cwd=tmp_path, file=store)
    assert todo("list", "--pending", cwd=tmp_path, file=store).stdout.strip() == "no items"


def test_remove_and_new_id_after_the_highest(tmp_path: Path, store: Path) -> None:
    for text in ("a", "b", "c"):
        todo("add", text, cwd=tmp_path, file=store)
    assert todo("remove", "2", cwd=tmp_path, file=store).stdout.strip() == "removed 2: b"
    assert todo("add", "d", cwd=tmp_path, file=store).stdout.strip() == "added 4: d"
    assert [i["id"] for i in json.loads(store.read_text())] == [1, 3, 4]


def test_clear_deletes_done_items(tmp_path: Path, store: Path) -> None:
    for text in ("a", "b", "c"):
        todo("add", text, cwd=tmp_path, file=store)
    todo("done", "1", cwd=tmp_path, file=store)
    todo("done", "3", cwd=tmp_path, file=store)
    assert todo("clear", cwd=tmp_path, file=store).stdout.strip() == "cleared 2 item(s)"
    assert [i["text"] for i in json.loads(store.read_text())] == ["b"]


def test_unknown_id_is_an_error_on_stderr(tmp_path: Path, store: Path) -> None:
    todo("add", "a", cwd=tmp_path, file=store)
    for command in ("done", "remove"):
        result = todo(command, "7", cwd=tmp_path, file=store)
        assert result.returncode == 1
        assert result.stderr.strip() == "error: no item 7"


def test_non_integer_id_is_a_usage_error(tmp_path: Path, store: Path) -> None:
    assert todo("done", "first", cwd=tmp_path, file=store).returncode == 2
    assert todo("frobnicate", cwd=tmp_path, file=store).returncode == 2


def test_blank_text_is_refused(tmp_path: Path, store: Path) -> None:
    result = todo("add", "   ", cwd=tmp_path, file=store)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: empty text"
    assert not store.exists()


def test_default_file_is_todo_json_in_the_current_directory(tmp_path: Path) -> None:
    assert todo("add", "here", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "todo.json").read_text())[0]["text"] == "here"


def test_corrupt_file_is_reported_and_left_alone(tmp_path: Path, store: Path) -> None:
    store.write_text("{not json")
    result = todo("add", "x", cwd=tmp_path, file=store)
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert store.read_text() == "{not json"


def test_list_does_not_create_the_file(tmp_path: Path, store: Path) -> None:
    todo("list", cwd=tmp_path, file=store)
    assert not store.exists()
