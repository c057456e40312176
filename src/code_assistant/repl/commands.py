"""The REPL's table of slash commands: `/name ARGS` calls the `cmd_name(ARGS)` of one of the
command groups, each built with the collaborators it needs; its help is the docstring's first
line, "USAGE  help text"."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from code_assistant.app import App
    from code_assistant.backends.base import Backend
    from code_assistant.tools.registry import ToolContext

ALIASES = {"quit": "exit", "q": "exit", "h": "help", "?": "help"}
Command = Callable[[str], None]


class ProjectGroup:
    """A command group over the project: the app, its backend, the tools' context, the console."""

    def __init__(self, loaded: App, backend: Backend, ctx: ToolContext, console: Console) -> None:
        self.loaded = loaded  # /model replaces its config: read loaded.config when used
        self.backend = backend
        self.ctx = ctx
        self.console = console
        self.root = Path(loaded.root)


class SlashCommands:
    """Every group's `cmd_<name>` methods in one table, with /help over all of them."""

    def __init__(self, console: Console, groups: Sequence[Any]) -> None:
        self.console = console
        self.table: dict[str, Command] = {}
        self.words: dict[str, Callable[[], list[str]]] = {}
        for group in (self, *groups):
            for attr in dir(type(group)):
                if attr.startswith("cmd_"):
                    if attr[4:] in self.table:  # a group would silently hide another's command
                        raise ValueError(f"two command groups define /{attr[4:]}")
                    self.table[attr[4:]] = getattr(group, attr)
            if hasattr(group, "completions"):
                self.words.update(group.completions())

    def names(self) -> list[str]:
        return sorted(self.table)

    def usage(self, name: str) -> tuple[str, str]:
        doc = (self.table[name].__doc__ or "").strip().splitlines()[0]
        usage, _, help_text = doc.partition("  ")
        return usage.strip(), help_text.strip()

    def summaries(self) -> dict[str, str]:
        return {name: self.usage(name)[1] for name in self.names()}

    def completions(self) -> dict[str, Callable[[], list[str]]]:
        """Words completed after a command (paths are completed by the completer itself)."""
        return dict(self.words)

    def dispatch(self, line: str) -> None:
        head, _, arg = line[1:].partition(" ")
        name = ALIASES.get(head.lower(), head.lower()).replace("-", "_")
        command = self.table.get(name)
        if command is None:
            close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.5)
            hint = f"; did you mean /{close[0]}?" if close else "; /help lists the commands"
            self.console.print(f"[yellow]unknown command /{escape(head)}{hint}[/]")
            return
        command(arg.strip())

    def cmd_help(self, arg: str) -> None:
        """/help  List the commands."""
        for name in self.names():
            usage, help_text = self.usage(name)
            padding = " " * max(1, 28 - len(usage))
            self.console.print(f"  [bold]{escape(usage)}[/]{padding}{escape(help_text)}")
        self.console.print(
            "[dim]Anything else is a message: questions are answered, tasks are done with "
            "tools (changes need your approval), larger work is planned first. "
            "!COMMAND runs a shell command yourself (the model does not see it).[/]"
        )
