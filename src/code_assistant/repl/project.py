"""Slash commands about the project and its settings: /index, /search, /symbols, /model,
/config, /memory."""

from __future__ import annotations

import difflib
import json
from typing import Any

from rich.markup import escape

from code_assistant.agent.personas import ARCHITECT, IMPLEMENTER
from code_assistant.config import effective_values
from code_assistant.errors import BackendError, UsageError
from code_assistant.repl.commands import ProjectGroup
from code_assistant.repl.pins import split_names
from code_assistant.session.memory import append_memory, load_project_memory

# /model's short names for the two models a session talks to.
MODEL_ROLES = {"arch": ARCHITECT.model_key, "impl": IMPLEMENTER.model_key}


class ProjectCommands(ProjectGroup):
    """Commands on the project's index and the session's settings."""

    def completions(self) -> dict[str, Any]:
        return {"model": lambda: list(MODEL_ROLES), "memory": lambda: ["add"]}

    # The index (tree-sitter, SQLite) is imported when a command needs it, not at start-up.

    def cmd_index(self, arg: str) -> None:
        """/index [PATH]  Update the code index of the project (or of directory PATH)."""
        from code_assistant.index.build import update_index

        root = self.root / arg if arg else self.root
        if not root.is_dir():
            raise UsageError(f"{arg}: not a directory (give the directory to index)")
        stats = update_index(root, self.loaded.config, self.backend)
        for notice in stats.notices:
            self.console.print(f"[yellow]{escape(notice)}[/]")
        self.console.print(
            f"indexed {stats.files} files: {stats.symbols} symbols, {stats.chunks} chunks, "
            f"{stats.vectors} vectors ({stats.indexed} parsed) in {stats.seconds:.2f}s"
        )

    def cmd_search(self, arg: str) -> None:
        """/search QUERY  Search the project's code (words, identifiers or a description)."""
        from code_assistant.index.build import update_index
        from code_assistant.index.retrieve import QueryEmbedder, format_hit, search

        if not arg:
            raise UsageError("/search needs a query, e.g. /search parse config file")
        config = self.loaded.config
        stats = update_index(self.root, config, None)
        embed = QueryEmbedder(self.backend, config.embedding_model) if stats.vectors else None
        notices: list[str] = []
        hits = search(self.root, arg, 8, embed, notices)
        for notice in notices:
            self.console.print(f"[yellow]{escape(notice)}[/]")
        if not hits:
            self.console.print(f"no matches for {escape(repr(arg))}")
        for hit in hits:
            self.console.print(escape(format_hit(hit, max_chars=600)) + "\n")

    def cmd_symbols(self, arg: str) -> None:
        """/symbols [PATH]  The symbol map, ranked towards PATH (a file or directory) if given."""
        from code_assistant.index.build import update_index
        from code_assistant.index.symbol_map import render_symbol_map

        root = self.root
        update_index(root, self.loaded.config, None)
        focus: list[str] = []
        for name in split_names(arg):
            target = root / name
            if not target.exists():
                raise UsageError(f"no such file or directory {name!r} in the project")
            files = target.rglob("*") if target.is_dir() else [target]
            focus += [p.relative_to(root).as_posix() for p in files if p.is_file()]
        text = render_symbol_map(root, self.loaded.config.symbol_map_tokens or 1024, focus)
        self.console.print(escape(text) or "no symbols found (no supported source files?)")

    def cmd_model(self, arg: str) -> None:
        """/model [arch|impl] [NAME]  Show the models, or switch one for this session."""
        words = arg.split()
        keys = list(MODEL_ROLES.values())
        if words and words[0] in MODEL_ROLES:
            keys = [MODEL_ROLES[words.pop(0)]]
        if len(words) > 1:
            raise UsageError("usage: /model [arch|impl] [NAME]")
        config = self.loaded.config
        if not words:
            for key in keys:
                role = key.removesuffix("_model")
                self.console.print(f"  {role}: {escape(getattr(config, key))}")
            return
        name = words[0]
        try:
            available = self.backend.list_models()
        except BackendError as exc:
            available = []
            self.console.print(f"[yellow]cannot list the backend's models ({escape(str(exc))})[/]")
        if available and name not in available and f"{name}:latest" not in available:
            close = difflib.get_close_matches(name, available, n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"the backend has no model {name!r}{hint}")
        self.loaded.config = config.model_copy(update=dict.fromkeys(keys, name))
        self.ctx.config = self.loaded.config
        for key in keys:
            self.loaded.sources[key] = "session (/model)"
            self.console.print(f"{key.removesuffix('_model')} model is now {escape(name)}")

    def cmd_config(self, arg: str) -> None:
        """/config [KEY]  Show the effective settings and where each came from."""
        rows = [r for r in effective_values(self.loaded) if arg.lower() in r[0]]
        if not rows:
            raise UsageError(f"no setting matches {arg!r}; /config lists them all")
        for key, value, source in rows:
            shown = json.dumps(value, default=str)
            self.console.print(f"  {key} = {escape(shown)}  [dim]({escape(source)})[/]")

    def cmd_memory(self, arg: str) -> None:
        """/memory [add TEXT]  Show the project memory, or add a line to it."""
        mode = self.loaded.config.project_memory
        action, _, text = arg.partition(" ")
        if action == "add":
            if not text.strip():
                raise UsageError("/memory add needs the text to remember")
            path = append_memory(self.root, text, mode)
            self.console.print(f"added to {escape(path.name)}; it goes with every message")
        elif action:
            raise UsageError("usage: /memory (show) or /memory add TEXT")
        else:
            memory = load_project_memory(self.root, mode)
            self.console.print(
                escape(memory) if memory else "no project memory yet; /memory add TEXT starts one"
            )
