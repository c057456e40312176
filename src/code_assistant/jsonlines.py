"""The one `--json` contract: JSON lines on stdout, one object per event, each with an
"event" key, ending with one `result` or `error` event (see docs/json.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

JSON_FLAG = "--json"


def emit(payload: dict[str, Any], secrets: Sequence[str] | None = None) -> None:
    """One event as one line, secrets redacted, flushed (a reader may be waiting on it)."""
    from code_assistant.redact import Redactor, secret_values

    redactor = Redactor(secret_values() if secrets is None else secrets)
    sys.stdout.write(json.dumps(redactor.data(payload), default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def result(command: str, **data: Any) -> None:
    """The final event of a command that succeeded (its data under named keys)."""
    emit({"event": "result", "command": command, **data})


def error(message: str, exit_code: int, kind: str) -> None:
    """The final event of a command that failed; the process exits with `exit_code`."""
    emit({"event": "error", "error": kind, "message": message, "exit_code": exit_code})


def parse(stdout: str) -> list[dict[str, Any]]:
    """The events in a `--json` output (lines that are not an event object are skipped)."""
    events = []
    for line in stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "event" in value:
            events.append(value)
    return events


def wanted(args: Sequence[str]) -> bool:
    """--json anywhere before a `--` (global or per command: both mean the same)."""
    for token in args:
        if token == "--":
            return False
        if token == JSON_FLAG:
            return True
    return False
