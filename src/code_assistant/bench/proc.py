"""Run one child process with a deadline; on timeout or cancel its whole process group stops."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from code_assistant import procgroup

GRACE = 5.0  # seconds between SIGTERM (a pipeline saves its state) and SIGKILL
TAIL_CHARS = 4000


@dataclass
class ProcResult:
    """What a child did: exit code (negative: killed by that signal), time, and its output."""

    exit_code: int
    seconds: float
    timed_out: bool
    output: str  # stdout (+ stderr unless sent to a file); "" when stdout went to a file
    stopped: bool = False  # cancelled through the stop event

    @property
    def tail(self) -> str:
        return self.output[-TAIL_CHARS:]


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdout: Path | None = None,
    stderr: Path | None = None,
    grace: float = GRACE,
    stop: threading.Event | None = None,
) -> ProcResult:
    """Run `argv` in its own session; output goes to the files given, else is returned.

    Output goes through files, never pipes, so a background process that keeps a pipe open
    cannot hold the run past its deadline.
    """
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        out: IO[bytes]
        if stdout is None:
            out = stack.enter_context(tempfile.TemporaryFile())
        else:
            out = stack.enter_context(stdout.open("wb"))
        err = stack.enter_context(stderr.open("wb")) if stderr else subprocess.STDOUT
        proc = procgroup.start(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        try:
            outcome = procgroup.wait(proc, started + timeout, stop)
            if outcome != "exited":
                procgroup.stop_group(proc.pid, grace)
        finally:
            # Also after a normal exit: background jobs must not outlive the run.
            procgroup.stop_group(proc.pid, 0.0)
            proc.wait()
        text = ""
        if stdout is None:
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
    return ProcResult(proc.returncode, time.monotonic() - started, outcome == "timeout", text,
                      stopped=outcome == "stopped")
