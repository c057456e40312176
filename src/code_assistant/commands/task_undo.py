"""`ca undo --task`: put back the files the last `ca do` task changed (.ca/last-task.json)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from code_assistant.errors import UsageError

RECORD = Path(".ca") / "last-task.json"


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def save_task_changes(root: Path, task: str, changes: list[Any]) -> None:
    """After a task: each changed file's first `before` and last `after` (for undo)."""
    first: dict[str, bytes | None] = {}
    last: dict[str, bytes | None] = {}
    for change in changes:
        first.setdefault(change.path, change.before)
        last[change.path] = change.after
    files = [{"path": p, "before": _b64(first[p]), "after": _b64(last[p])} for p in first]
    path = root / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"task": task, "files": files}), encoding="utf-8")


def undo_last_task(root: Path) -> list[str]:
    """Restore the files; one edited since the task is left alone (and named). Lines to print."""
    path = root / RECORD
    if not path.is_file():
        raise UsageError("no `ca do` task to undo here (none has changed files yet)")
    record = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for entry in record["files"]:
        target = root / entry["path"]
        after = base64.b64decode(entry["after"]) if entry["after"] is not None else None
        current = target.read_bytes() if target.is_file() else None
        if current != after:
            lines.append(f"left {entry['path']}: it changed after the task")
            continue
        if entry["before"] is None:
            target.unlink(missing_ok=True)
            lines.append(f"removed {entry['path']} (the task created it)")
        else:
            target.write_bytes(base64.b64decode(entry["before"]))
            lines.append(f"restored {entry['path']}")
    path.unlink()
    lines.append(f"undid the task: {record['task']}")
    return lines
