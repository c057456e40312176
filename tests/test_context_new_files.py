"""A task that names a file the project lacks says so in its first message."""

from __future__ import annotations

from pathlib import Path

from code_assistant.agent.context import attach_named_files, new_files
from code_assistant.tools.registry import ToolContext


def test_named_files_that_do_not_exist_are_marked_new(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "utils.py").write_text("def f():\n    return 1\n")
    task = "Add tests/test_utils.py for utils.py and write notes.md; use version 1.5, e.g. now."
    assert new_files(tmp_path, task) == ["tests/test_utils.py", "notes.md"]
    first = attach_named_files(ToolContext(root=tmp_path), task)
    assert "tests/test_utils.py does not exist yet: create it with write_file." in first
    assert "notes.md does not exist yet" in first
    assert "## src/utils.py" in first  # the existing file is attached as before
    assert "utils.py does not exist" not in first.replace("test_utils.py", "")


def test_a_task_about_existing_files_only_gets_no_note(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print(1)\n")
    first = attach_named_files(ToolContext(root=tmp_path), "Fix app.py")
    assert "does not exist" not in first
