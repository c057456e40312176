"""The built-in tools every agent gets: the file tools and run_shell."""

from __future__ import annotations

from code_assistant.tools.files import edit_file, read_file, write_file
from code_assistant.tools.listing import glob_files, list_dir
from code_assistant.tools.registry import Tool
from code_assistant.tools.shell import run_shell


def builtin_tools() -> list[Tool]:
    """read_file, write_file, edit_file, list_dir, glob_files and run_shell, in that order."""
    return [read_file, write_file, edit_file, list_dir, glob_files, run_shell]
