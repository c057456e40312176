"""Placeholder until the interactive REPL lands: says so instead of failing obscurely."""

from __future__ import annotations

from typing import Any

from code_assistant.errors import UsageError


def start_repl(loaded: Any, *, resume: str | None = None, spec: bool = False) -> int:
    raise UsageError('the interactive REPL is not built yet; use `ca -q "..."` or `ca "task"`')
