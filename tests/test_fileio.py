"""fileio.atomic_write: the one atomic replace every writer uses, failing with OSError."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from code_assistant.errors import ToolError
from code_assistant.fileio import atomic_write, umask
from code_assistant.tools.textfile import atomic_write as tool_write


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_the_umask_or_the_mode_asked_for(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a" / "b" / "plain.txt", "héllo\n")
    assert (tmp_path / "a" / "b" / "plain.txt").read_bytes() == "héllo\n".encode()
    assert mode_of(tmp_path / "a" / "b" / "plain.txt") == 0o666 & ~umask()
    atomic_write(tmp_path / "private.json", b"{}", mode=0o600)
    assert mode_of(tmp_path / "private.json") == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "private.json"]  # no temps


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo old\n")
    os.chmod(script, 0o750)
    atomic_write(script, "echo new\n", mode=0o600)
    assert script.read_text() == "echo new\n"
    assert mode_of(script) == 0o750


def test_a_failure_is_an_oserror_and_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("old\n")
    too_long = "n" * 250  # fits the file system, but not with the temp file's affixes
    with pytest.raises(OSError, match="File name too long"):
        atomic_write(tmp_path / "new" / "deep" / too_long, "new\n")
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # the directories made are gone
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "taken", "text")
    with pytest.raises(NotADirectoryError):
        atomic_write(tmp_path / "f.txt" / "inner.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt", "taken"]
    assert (tmp_path / "f.txt").read_text() == "old\n"
    # The file tools word the same failure for the model.
    with pytest.raises(ToolError, match=r"^could not write taken: Is a directory; the file"):
        tool_write(tmp_path / "taken", b"text", "taken")
