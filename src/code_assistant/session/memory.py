"""Project memory: AGENTS.md, CLAUDE.md or code_assistant.md at the project root."""

from __future__ import annotations

from pathlib import Path

MEMORY_FILES = ("AGENTS.md", "CLAUDE.md", "code_assistant.md")
# Codex and others read AGENTS.md, Claude Code reads CLAUDE.md: a project may have both, and
# each holds instructions the user expects followed, so both are read by default.
PEER_FILES = ("AGENTS.md", "CLAUDE.md")
MAX_MEMORY_CHARS = 12_000


def memory_files(root: Path, mode: str = "first") -> list[Path]:
    """The memory files to load. Default: AGENTS.md and CLAUDE.md (whichever exist), else
    code_assistant.md; `mode="all"`: all three. A file that is a link to, or a copy of, one
    already listed is left out (CLAUDE.md is often a symlink to AGENTS.md)."""
    found = [root / name for name in MEMORY_FILES if (root / name).is_file()]
    if mode != "all":
        peers = [path for path in found if path.name in PEER_FILES]
        found = peers or found[:1]
    kept: list[Path] = []
    seen: set[bytes] = set()
    for path in found:
        try:
            content = path.read_bytes()
        except OSError:
            continue
        if content not in seen:
            seen.add(content)
            kept.append(path)
    return kept


def load_project_memory(root: Path, mode: str = "first") -> str:
    """The memory text for the system prompt, each file under its name; "" when none."""
    parts = []
    for path in memory_files(root, mode):
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if len(text) > MAX_MEMORY_CHARS:
            text = text[:MAX_MEMORY_CHARS] + "\n[... memory file truncated ...]"
        if text:
            parts.append(f"## {path.name}\n{text}")
    return "\n\n".join(parts)


def append_memory(root: Path, text: str, mode: str = "first") -> Path:
    """Append a line to the first memory file (creating AGENTS.md when there is none)."""
    existing = memory_files(root, mode)
    path = existing[0] if existing else root / MEMORY_FILES[0]
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not current or current.endswith("\n") else "\n"
    path.write_text(f"{current}{separator}- {text.strip()}\n", encoding="utf-8")
    return path
