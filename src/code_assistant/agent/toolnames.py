"""Map the tool names small models write (`Write-File`, `create_file`) to the real ones."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

# Names small models use for our tools; used only when the target is in the caller's tool list.
_ALIAS_TABLE = {
    "write_file": "create_file save_file write write_to_file new_file overwrite_file",
    "read_file": "open_file cat view_file read view get_file show_file",
    "edit_file": "replace_in_file str_replace apply_edit edit modify_file update_file"
    " str_replace_editor",
    "run_shell": "bash shell execute exec run_command execute_command run terminal sh run_bash cmd",
    "list_dir": "ls list_files list_directory dir",
    "glob_files": "find_files glob find",
    "search_code": "grep rg search_files",
    "fetch_url": "fetch curl open_url browse",
    "web_search": "search_web brave_search google_search",
}
known_aliases: dict[str, str] = {
    alias: tool for tool, aliases in _ALIAS_TABLE.items() for alias in aliases.split()
}


def normalize(name: str) -> str:
    """A tool name with case, spaces, underscores, hyphens and dots ignored."""
    return re.sub(r"[\s_.-]", "", name.lower())


_ALIASES = {normalize(alias): normalize(tool) for alias, tool in known_aliases.items()}


def resolve_tool_name(name: str, tools: Sequence[str]) -> str | None:
    """The tool in `tools` that `name` most plausibly means (case, alias, near miss), or None."""
    if name in tools:
        return name
    parts = [part for part in name.split(".") if part and part != "call"]  # functions.x, x.call
    key = normalize(parts[-1] if parts else name)
    if not key or len(key) > 64:
        return None
    by_norm = {normalize(tool): tool for tool in tools}
    if key in by_norm:
        return by_norm[key]
    group = _ALIASES.get(key, key)
    for norm, tool in by_norm.items():
        if _ALIASES.get(norm, norm) == group:
            return tool
    # difflib only where a ratio of 0.8 is possible at all: 2*min/(sum of lengths) >= 0.8.
    near = [
        norm for norm in by_norm if 2 * min(len(norm), len(key)) >= 0.8 * (len(norm) + len(key))
    ]
    close = difflib.get_close_matches(key, near, n=1, cutoff=0.8)
    return by_norm[close[0]] if close else None
