"""A command-line to-do list stored in a JSON file (reference solution of 01-todo-cli)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


class TodoError(Exception):
    """A failure reported as `error: ...` with exit status 1."""


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TodoError(f"cannot read {path}: {exc}") from None
    if not isinstance(items, list):
        raise TodoError(f"cannot read {path}: not a list of items")
    return items


def save(path: Path, items: list[dict]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=".todo-")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(items, file, indent=2)
    os.replace(tmp, path)


def find(items: list[dict], item_id: int) -> dict:
    for item in items:
        if item["id"] == item_id:
            return item
    raise TodoError(f"no item {item_id}")


def run(args: argparse.Namespace) -> str:
    path = Path(args.file)
    items = load(path)
    if args.command == "add":
        text = " ".join(args.text).strip()
        if not text:
            raise TodoError("empty text")
        item = {"id": max((i["id"] for i in items), default=0) + 1, "text": text, "done": False}
        items.append(item)
        save(path, items)
        return f"added {item['id']}: {text}"
    if args.command == "list":
        shown = [i for i in items if not (args.pending and i["done"])]
        if not shown:
            return "no items"
        return "\n".join(f"[{'x' if i['done'] else ' '}] {i['id']} {i['text']}" for i in shown)
    if args.command == "clear":
        kept = [i for i in items if not i["done"]]
        save(path, kept)
        return f"cleared {len(items) - len(kept)} item(s)"
    item = find(items, args.id)
    if args.command == "done":
        item["done"] = True
        save(path, items)
        return f"done {item['id']}: {item['text']}"
    items.remove(item)
    save(path, items)
    return f"removed {item['id']}: {item['text']}"


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog="todo.py", description="A to-do list.")
    parse.add_argument("--file", default="todo.json", help="storage file (default todo.json)")
    commands = parse.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add an item")
    add.add_argument("text", nargs="+")
    listing = commands.add_parser("list", help="list items")
    listing.add_argument("--pending", action="store_true")
    for name in ("done", "remove"):
        commands.add_parser(name).add_argument("id", type=int)
    commands.add_parser("clear", help="delete done items")
    return parse


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        print(run(args))
    except TodoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
