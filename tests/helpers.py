"""Helpers shared by tests: running `ca` as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_ca(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: str | Path,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m code_assistant ARGS`, capturing text output; a failing exit never raises."""
    return subprocess.run(
        [sys.executable, "-m", "code_assistant", *args],
        env=dict(env),
        cwd=str(cwd),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def json_events(stdout: str) -> list[dict]:
    """The --json output as events: every line one object with an "event" key."""
    import json

    events = [json.loads(line) for line in stdout.splitlines()]
    assert events and all(isinstance(e, dict) and "event" in e for e in events), stdout
    return events


def json_result(stdout: str) -> dict:
    """The final `result` event of a --json run (asserting the contract on the way)."""
    events = json_events(stdout)
    assert events[-1]["event"] == "result", events[-1]
    return events[-1]
