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
