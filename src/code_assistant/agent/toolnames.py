"""Map the tool names small models write (`Write-File`, `create_file`) to the real ones."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Sequence
from typing import Any

# Names small models use for our tools (many from other agents' tool sets); used only when
# the target is in the caller's tool list.
_ALIAS_TABLE = {
    "write_file": "create_file save_file write write_to_file new_file overwrite_file"
    " create_new_file file_write write_text_file",
    "read_file": "open_file cat view_file read view get_file show_file read_text_file"
    " get_file_contents file_read",
    "edit_file": "replace_in_file str_replace apply_edit edit modify_file update_file"
    " str_replace_editor str_replace_based_edit_tool text_editor search_replace"
    " replace_string_in_file edit_tool file_edit",
    "run_shell": "bash shell execute exec run_command execute_command run terminal sh run_bash cmd"
    " run_terminal_cmd run_terminal_command run_in_terminal execute_bash run_shell_command"
    " shell_command bash_command exec_command local_shell",
    "list_dir": "ls list_files list_directory dir listdir list_folder",
    "glob_files": "find_files glob find file_search find_file",
    "search_code": "grep rg search_files grep_search codebase_search ripgrep",
    "find_symbols": "find_symbol search_symbols list_code_definition_names",
    "fetch_url": "fetch curl open_url browse",
    "web_search": "search_web brave_search google_search",
}
# Editors that take a `command` argument (Anthropic's text editor, SWE-agent's): the command
# picks our tool.
COMMAND_TOOLS = frozenset({"str_replace_editor", "str_replace_based_edit_tool", "text_editor",
                           "edit_tool"})  # fmt: skip
EDITOR_COMMANDS = {"create": "write_file", "str_replace": "edit_file", "view": "read_file"}
# Argument names other agents use, by the name our tools use; renamed only when the tool has
# the target name and lacks the alias. Also the keys that carry nothing for us (dropped).
ARGUMENT_ALIASES = {
    "path": "file_path filepath file filename file_name target_file absolute_path"
    " relative_path path_name dir directory dir_path directory_path folder target_directory",
    "content": "file_text contents text code data body file_content new_content",
    "old": "old_str old_string old_text search find original original_text search_text"
    " old_content target old_lines old_code",
    "new": "new_str new_string new_text replace replacement replace_with replacement_text"
    " new_content new_lines new_code",
    "command": "cmd command_line commandline script shell_command commands bash_command",
    "start_line": "start line_start from_line start_line_one_indexed",
    "end_line": "end line_end to_line end_line_one_indexed_inclusive",
    "pattern": "glob glob_pattern file_pattern",
    "query": "q search_query search_term pattern regex",
    "name": "symbol symbol_name",
}
NOISE_ARGUMENTS = frozenset({"is_background", "explanation", "requires_approval", "reason",
                             "thought", "thoughts", "require_user_approval"})  # fmt: skip
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


_ARGUMENT_TARGETS: dict[str, tuple[str, ...]] = {}
for _target, _aliases in ARGUMENT_ALIASES.items():
    for _alias in _aliases.split():
        _ARGUMENT_TARGETS[_alias] = (*_ARGUMENT_TARGETS.get(_alias, ()), _target)
_COMMAND_TOOLS = frozenset(normalize(name) for name in COMMAND_TOOLS)


def editor_tool(name: str, arguments: dict[str, Any], tools: Sequence[str]) -> str | None:
    """The tool a `str_replace_editor`-style call means by its `command`, else None."""
    if normalize(name.rsplit(".", 1)[-1]) not in _COMMAND_TOOLS:
        return None
    target = EDITOR_COMMANDS.get(str(arguments.get("command", "")).strip().lower())
    return target if target in tools else None


def canonical_arguments(
    arguments: dict[str, Any], names: Sequence[str] | None, *, editor: bool = False
) -> dict[str, Any]:
    """`arguments` with other agents' names (`file_path`, `old_str`, `cmd`) renamed to the
    tool's own (`names`, in order); without `names` they are left as they are."""
    if not names:
        return arguments
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        if key in names:
            out.setdefault(key, _joined_command(value) if key == "command" else value)
            continue
        if key in NOISE_ARGUMENTS or (editor and key == "command"):
            continue
        if key == "view_range" and isinstance(value, list) and len(value) == 2:
            for part, bound in zip(("start_line", "end_line"), value, strict=True):
                if part in names and isinstance(bound, int) and bound > 0:
                    out.setdefault(part, bound)
            continue
        targets = _ARGUMENT_TARGETS.get(key.lower(), ())
        target = next((t for t in targets if t in names and t not in arguments), None)
        if target is None or target in out:
            out[key] = value  # the tool says what is wrong with it
        else:
            out[target] = _joined_command(value) if target == "command" else value
    return out


def _joined_command(value: Any) -> Any:
    """["bash", "-lc", "ls"] -> "ls"; ["ls", "-a"] -> "ls -a" (a command given as argv)."""
    if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
        return value
    if len(value) == 3 and value[0] in ("bash", "sh") and value[1] in ("-c", "-lc"):
        return value[2]
    return shlex.join(value)
