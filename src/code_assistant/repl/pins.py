"""What the user pinned: files (read afresh for every message) and pages, and the commands
that pin them (/add, /drop, /files, /web)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from code_assistant.app import App
from code_assistant.errors import ToolError, UsageError
from code_assistant.index.walk import is_probably_binary
from code_assistant.tools.paths import not_found_message, relative, resolve_in_root
from code_assistant.tools.registry import ToolContext
from code_assistant.tools.web import fetch_markdown, format_results, search_web

# Bytes a file may have when it is pinned; characters of it sent when it has grown since.
PIN_LIMIT = 200_000


def split_names(arg: str) -> list[str]:
    """A command's file names, shell-quoted like a shell's."""
    try:
        return shlex.split(arg)
    except ValueError as exc:
        raise UsageError(f"cannot read the file names ({exc}); quote names with spaces") from None


class Pins:
    """Project-relative paths and labelled pages that go with every message."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[str] = []
        self.notes: dict[str, str] = {}  # label -> text pinned by /web

    def names(self) -> list[str]:
        return [*self.files, *self.notes]

    def block(self) -> str:
        """The system prompt's section of pinned files and pages ("" when nothing is pinned)."""
        blocks = []
        for rel in self.files:
            try:
                text = (self.root / rel).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                blocks.append(f"## {rel}\n(cannot read it now: {exc.strerror or exc})")
                continue
            blocks.append(f"## {rel}\n```\n{text[:PIN_LIMIT]}\n```")
        blocks += [f"## {label}\n{text}" for label, text in self.notes.items()]
        return "# Files and pages the user pinned\n" + "\n\n".join(blocks) if blocks else ""


class PinCommands:
    """/add, /drop, /files and /web, on the session's pins."""

    def __init__(self, pins: Pins, loaded: App, ctx: ToolContext, console: Console) -> None:
        self.pins = pins
        self.loaded = loaded  # its config is replaced by /model: read it when used
        self.ctx = ctx
        self.console = console

    def completions(self) -> dict[str, Any]:
        return {"drop": self.pins.names}

    def cmd_add(self, arg: str) -> None:
        """/add FILE...  Pin files: their current text goes with every message."""
        names = split_names(arg)
        if not names:
            raise UsageError("/add needs a file, e.g. /add src/app.py")
        root = self.pins.root
        for name in names:
            try:
                path = resolve_in_root(root, name)
            except ToolError as exc:
                self.console.print(f"[yellow]{escape(str(exc))}[/]")
                continue
            rel = relative(root, path)
            problem = self._unpinnable(path, rel, name)
            if problem:
                self.console.print(f"[yellow]{escape(problem)}[/]")
            elif rel in self.pins.files:
                self.console.print(f"{escape(rel)} is already pinned")
            else:
                self.pins.files.append(rel)
                tokens = (path.stat().st_size + 3) // 4
                self.console.print(f"pinned {escape(rel)} (~{tokens:,} tokens)")

    def _unpinnable(self, path: Path, rel: str, name: str) -> str:
        if not path.exists():
            return not_found_message(self.pins.root, name)
        if path.is_dir():
            return f"{rel} is a directory; /add the files in it, e.g. /add {rel}/main.py"
        size = path.stat().st_size
        if size > PIN_LIMIT:
            return f"{rel} is too large to pin ({size:,} bytes; at most {PIN_LIMIT:,})"
        with path.open("rb") as handle:
            if is_probably_binary(handle.read(8192)):
                return f"{rel} is a binary file; only text files can be pinned"
        return ""

    def cmd_drop(self, arg: str) -> None:
        """/drop [FILE...]  Unpin files (all of them without arguments)."""
        pins = self.pins
        names = split_names(arg)
        if not names:
            count = len(pins.files) + len(pins.notes)
            pins.files.clear()
            pins.notes.clear()
            self.console.print(f"unpinned {count} item(s)")
            return
        for name in names:
            rel = name.removeprefix("./")
            if rel in pins.files:
                pins.files.remove(rel)
                self.console.print(f"unpinned {escape(rel)}")
            elif rel in pins.notes:
                del pins.notes[rel]
                self.console.print(f"unpinned {escape(rel)}")
            else:
                pinned = ", ".join(pins.names()) or "nothing"
                self.console.print(
                    f"[yellow]{escape(rel)} is not pinned (pinned: {escape(pinned)})[/]"
                )

    def cmd_files(self, arg: str) -> None:
        """/files  Show the pinned files and pages."""
        pins = self.pins
        if not pins.files and not pins.notes:
            self.console.print("nothing is pinned; /add FILE pins a file")
            return
        for rel in pins.files:
            path = pins.root / rel
            state = f"~{(path.stat().st_size + 3) // 4:,} tokens" if path.exists() else "missing"
            self.console.print(f"  {escape(rel)}  [dim]{state}[/]")
        for label, text in pins.notes.items():
            self.console.print(f"  {escape(label)}  [dim]~{(len(text) + 3) // 4:,} tokens[/]")

    def cmd_web(self, arg: str) -> None:
        """/web URL|QUERY  Read a page (or search the web) and pin the result."""
        if not arg:
            raise UsageError("/web needs an address or a search query")
        config = self.loaded.config
        try:
            if arg.startswith(("http://", "https://")):
                text = fetch_markdown(arg, config, self.ctx.web_cache)
                label = arg
            else:
                text = format_results(search_web(arg, config))
                label = f"search: {arg}"
        except ToolError as exc:
            self.console.print(f"[yellow]{escape(str(exc))}[/]")
            return
        self.pins.notes[label] = text
        preview = "\n".join(text.strip().splitlines()[:12])
        self.console.print(escape(preview))
        self.console.print(f"[dim]pinned {escape(label)} (~{(len(text) + 3) // 4:,} tokens)[/]")
