"""Run one child process with a deadline; on timeout or cancel its whole process group stops."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

GRACE = 5.0  # seconds between SIGTERM (a pipeline saves its state) and SIGKILL
POLL = 0.2  # how often a waiting run looks at its stop event
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


def _stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the group, then SIGKILL it if the leader is still there after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait(
    proc: subprocess.Popen[bytes], deadline: float, stop: threading.Event | None
) -> str:
    """"exited", "timeout" or "stopped"."""
    while True:
        left = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(0.0, min(POLL, left)))
            return "exited"
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                return "timeout"
            if stop is not None and stop.is_set():
                return "stopped"


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
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True,
        )
        try:
            outcome = _wait(proc, started + timeout, stop)
            if outcome != "exited":
                _stop_group(proc, grace)
        finally:
            # Also after a normal exit: background jobs must not outlive the run.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        text = ""
        if stdout is None:
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
    return ProcResult(proc.returncode, time.monotonic() - started, outcome == "timeout", text,
                      stopped=outcome == "stopped")
