"""Atomic file replacement (temp file + fsync + rename) for every writer; raises OSError."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path

# The temp files atomic_write makes: ".NAME." + mkstemp's 8 random characters + ".tmp".
_OUR_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
STALE_TEMP_SECONDS = 120  # older than any write in progress


def umask() -> int:
    """The process umask."""
    # os.umask can only be read by setting it, which races with other threads; Linux shows it.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _make_parents(directory: Path) -> list[Path]:
    """Create missing parent directories; return the ones made, outermost first."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for item in reversed(missing):
        item.mkdir()
    return list(reversed(missing))


def remove_stale_temps(directory: Path, now: float | None = None) -> int:
    """Delete temp files of atomic writes that a killed process left in `directory`."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not _OUR_TEMP.match(entry.name):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TEMP_SECONDS:
                os.unlink(entry.path)
                removed += 1
    return removed


def atomic_write(target: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace `target` by `data` (str: UTF-8) through a temp file in the same directory.

    Missing parent directories are made. An existing file keeps its permission bits; a new
    one gets `mode`, by default 0666 minus the umask. On any failure the temp file and the
    directories made for it are removed, the old file is untouched, and the OSError is
    raised for the caller to word. Temp files a killed process left there go first.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    created: list[Path] = []
    try:
        created = _make_parents(target.parent)
        if not created:
            remove_stale_temps(target.parent)
        if target.exists():
            mode = stat.S_IMODE(target.stat().st_mode)
        elif mode is None:
            mode = 0o666 & ~umask()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
