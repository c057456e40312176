"""Child processes in a session of their own: start, wait for with a deadline, stop as a group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Literal

POLL = 0.02  # seconds between looks at a child, its stop event, or a group being stopped
Outcome = Literal["exited", "timeout", "stopped"]


def start(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdout: int | IO[bytes],
    stderr: int | IO[bytes],
) -> subprocess.Popen[bytes]:
    """Start `argv` with empty stdin as the leader of a new session (and process group), so
    that the group can be stopped as a whole; raises OSError when it cannot start."""
    return subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
        stdout=stdout, stderr=stderr, start_new_session=True,
    )


def exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the leader has exited, without reaping it.

    Leaving it a zombie keeps its pid, which is also the process-group id, from being
    reused, so stopping the group afterwards can never hit an unrelated process.
    """
    if not hasattr(os, "waitid"):  # pragma: no cover - macOS
        return proc.poll() is not None
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    return os.waitid(os.P_PID, proc.pid, flags) is not None


def wait(
    proc: subprocess.Popen[bytes], deadline: float, stop: threading.Event | None = None
) -> Outcome:
    """Wait (without reaping) until the leader exits, `deadline` passes or `stop` is set."""
    while True:
        if exited(proc):
            return "exited"
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        if stop is not None and stop.is_set():
            return "stopped"
        time.sleep(min(POLL, left))


def _live_processes(pgid: int, marker: str | None) -> set[int] | None:
    """Processes still running (zombies do not count) in the group, and any carrying the
    environment entry `marker`, such as a `setsid` child in a session of its own.

    None when there is no procfs to ask.
    """
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():  # pragma: no cover - macOS
        return None
    tag = marker.encode() if marker else None
    found: set[int] = set()
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 3 or fields[0] in ("Z", "X"):
            continue
        if fields[2] == str(pgid):
            found.add(int(entry.name))
            continue
        if tag is None:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if tag in environ.split(b"\0"):
            found.add(int(entry.name))
    return found


def _signal_all(pgid: int, pids: set[int], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_group(pgid: int, grace: float, marker: str | None = None) -> None:
    """SIGTERM the process group and the processes carrying `marker` ("NAME=value" in their
    environment: descendants that left the group with setsid), then SIGKILL what is left
    after `grace` seconds; with no grace, SIGKILL at once.

    Call it before reaping the leader (see `exited`), so that `pgid` is still its group's.
    """
    live = _live_processes(pgid, marker)
    if live is None:  # pragma: no cover - no procfs: the group is all we can find
        live = set()
        if not _group_alive(pgid):
            return
    elif not live:
        return
    if grace > 0:
        _signal_all(pgid, live, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            now = _live_processes(pgid, marker)
            if now is not None and not now:
                return
            live |= now or set()
            time.sleep(POLL)
    _signal_all(pgid, live, signal.SIGKILL)
