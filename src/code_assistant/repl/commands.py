"""The REPL's slash commands: one `cmd_<name>` method each, its help the docstring's first line."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from code_assistant.errors import ToolError, UsageError
from code_assistant.repl_peer_commands import PeerCommands
from code_assistant.repl_session_commands import SessionCommands

if TYPE_CHECKING:
    from code_assistant.repl import Repl

ALIASES = {"quit": "exit", "q": "exit", "h": "help", "?": "help"}
PIN_MAX_BYTES = 200_000


class SlashCommands(SessionCommands, PeerCommands):
    """`/name ARGS` → `cmd_name(ARGS)`. Docstring first line: "USAGE  help text"."""

    def __init__(self, repl: Repl) -> None:
        self.repl = repl

    @property
    def console(self) -> Any:
        return self.repl.console

    def names(self) -> list[str]:
        return sorted(n[4:] for n in dir(self) if n.startswith("cmd_"))

    def usage(self, name: str) -> tuple[str, str]:
        doc = (getattr(self, f"cmd_{name}").__doc__ or "").strip().splitlines()[0]
        usage, _, help_text = doc.partition("  ")
        return usage.strip(), help_text.strip()

    def summaries(self) -> dict[str, str]:
        return {name: self.usage(name)[1] for name in self.names()}

    def completions(self) -> dict[str, Callable[[], list[str]]]:
        """Words completed after a command (paths are completed by the completer itself)."""
        return {
            "drop": lambda: list(self.repl.pinned) + list(self.repl.notes),
            "model": lambda: ["arch", "impl"],
            "resume": lambda: [s.name or s.id for s in self.repl.store.list(limit=30)],
            "memory": lambda: ["add"],
        }

    def dispatch(self, line: str) -> None:
        head, _, arg = line[1:].partition(" ")
        name = ALIASES.get(head.lower(), head.lower()).replace("-", "_")
        method = getattr(self, f"cmd_{name}", None)
        if method is None:
            close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.5)
            hint = f"; did you mean /{close[0]}?" if close else "; /help lists the commands"
            self.console.print(f"[yellow]unknown command /{escape(head)}{hint}[/]")
            return
        method(arg.strip())

    def _paths(self, arg: str) -> list[str]:
        try:
            return shlex.split(arg)
        except ValueError as exc:
            raise UsageError(
                f"cannot read the file names ({exc}); quote names with spaces"
            ) from None

    # --- help and exit -------------------------------------------------------------------------

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

    def cmd_exit(self, arg: str) -> None:
        """/exit  Leave the session (it is saved; `ca --resume` continues it)."""
        self.repl.running = False

    # --- context: pinned files -----------------------------------------------------------------

    def cmd_add(self, arg: str) -> None:
        """/add FILE...  Pin files: their current text goes with every message."""
        from code_assistant.tools.paths import relative, resolve_in_root

        names = self._paths(arg)
        if not names:
            raise UsageError("/add needs a file, e.g. /add src/app.py")
        for name in names:
            try:
                path = resolve_in_root(self.repl.root, name)
            except ToolError as exc:
                self.console.print(f"[yellow]{escape(str(exc))}[/]")
                continue
            rel = relative(self.repl.root, path)
            problem = self._unpinnable(path, rel, name)
            if problem:
                self.console.print(f"[yellow]{escape(problem)}[/]")
            elif rel in self.repl.pinned:
                self.console.print(f"{escape(rel)} is already pinned")
            else:
                self.repl.pinned.append(rel)
                tokens = (path.stat().st_size + 3) // 4
                self.console.print(f"pinned {escape(rel)} (~{tokens:,} tokens)")

    def _unpinnable(self, path: Path, rel: str, name: str) -> str:
        from code_assistant.index.walk import is_probably_binary
        from code_assistant.tools.paths import not_found_message

        if not path.exists():
            return not_found_message(self.repl.root, name)
        if path.is_dir():
            return f"{rel} is a directory; /add the files in it, e.g. /add {rel}/main.py"
        size = path.stat().st_size
        if size > PIN_MAX_BYTES:
            return f"{rel} is too large to pin ({size:,} bytes; at most {PIN_MAX_BYTES:,})"
        with path.open("rb") as handle:
            if is_probably_binary(handle.read(8192)):
                return f"{rel} is a binary file; only text files can be pinned"
        return ""

    def cmd_drop(self, arg: str) -> None:
        """/drop [FILE...]  Unpin files (all of them without arguments)."""
        names = self._paths(arg)
        if not names:
            count = len(self.repl.pinned) + len(self.repl.notes)
            self.repl.pinned.clear()
            self.repl.notes.clear()
            self.console.print(f"unpinned {count} item(s)")
            return
        for name in names:
            rel = name.removeprefix("./")
            if rel in self.repl.pinned:
                self.repl.pinned.remove(rel)
                self.console.print(f"unpinned {escape(rel)}")
            elif rel in self.repl.notes:
                del self.repl.notes[rel]
                self.console.print(f"unpinned {escape(rel)}")
            else:
                pinned = ", ".join([*self.repl.pinned, *self.repl.notes]) or "nothing"
                self.console.print(
                    f"[yellow]{escape(rel)} is not pinned (pinned: {escape(pinned)})[/]"
                )

    def cmd_files(self, arg: str) -> None:
        """/files  Show the pinned files and pages."""
        if not self.repl.pinned and not self.repl.notes:
            self.console.print("nothing is pinned; /add FILE pins a file")
            return
        for rel in self.repl.pinned:
            path = self.repl.root / rel
            state = f"~{(path.stat().st_size + 3) // 4:,} tokens" if path.exists() else "missing"
            self.console.print(f"  {escape(rel)}  [dim]{state}[/]")
        for label, text in self.repl.notes.items():
            self.console.print(f"  {escape(label)}  [dim]~{(len(text) + 3) // 4:,} tokens[/]")

    # --- code index ----------------------------------------------------------------------------

    def cmd_index(self, arg: str) -> None:
        """/index [PATH]  Update the code index of the project (or of directory PATH)."""
        from code_assistant.index.build import update_index

        root = self.repl.root / arg if arg else self.repl.root
        if not root.is_dir():
            raise UsageError(f"{arg}: not a directory (give the directory to index)")
        stats = update_index(root, self.repl.config, self.repl.backend)
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
        config = self.repl.config
        stats = update_index(self.repl.root, config, None)
        embed = QueryEmbedder(self.repl.backend, config.embedding_model) if stats.vectors else None
        notices: list[str] = []
        hits = search(self.repl.root, arg, 8, embed, notices)
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

        root = self.repl.root
        update_index(root, self.repl.config, None)
        focus: list[str] = []
        for name in self._paths(arg):
            target = root / name
            if not target.exists():
                raise UsageError(f"no such file or directory {name!r} in the project")
            files = target.rglob("*") if target.is_dir() else [target]
            focus += [p.relative_to(root).as_posix() for p in files if p.is_file()]
        text = render_symbol_map(root, self.repl.config.symbol_map_tokens or 1024, focus)
        self.console.print(escape(text) or "no symbols found (no supported source files?)")

    # --- models and config ---------------------------------------------------------------------

    def cmd_model(self, arg: str) -> None:
        """/model [arch|impl] [NAME]  Show the models, or switch one for this session."""
        from code_assistant.errors import BackendError

        words = arg.split()
        roles = {"arch": "architect_model", "impl": "implementer_model"}
        keys = list(roles.values())
        if words and words[0] in roles:
            keys = [roles[words.pop(0)]]
        if len(words) > 1:
            raise UsageError("usage: /model [arch|impl] [NAME]")
        config = self.repl.config
        if not words:
            for key in keys:
                role = key.removesuffix("_model")
                self.console.print(f"  {role}: {escape(getattr(config, key))}")
            return
        name = words[0]
        try:
            available = self.repl.backend.list_models()
        except BackendError as exc:
            available = []
            self.console.print(f"[yellow]cannot list the backend's models ({escape(str(exc))})[/]")
        if available and name not in available and f"{name}:latest" not in available:
            close = difflib.get_close_matches(name, available, n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"the backend has no model {name!r}{hint}")
        self.repl.loaded.config = config.model_copy(update=dict.fromkeys(keys, name))
        self.repl.ctx.config = self.repl.loaded.config
        for key in keys:
            self.repl.loaded.sources[key] = "session (/model)"
            self.console.print(f"{key.removesuffix('_model')} model is now {escape(name)}")

    def cmd_config(self, arg: str) -> None:
        """/config [KEY]  Show the effective settings and where each came from."""
        import json

        from code_assistant.config import effective_values

        rows = [r for r in effective_values(self.repl.loaded) if arg.lower() in r[0]]
        if not rows:
            raise UsageError(f"no setting matches {arg!r}; /config lists them all")
        for key, value, source in rows:
            shown = json.dumps(value, default=str)
            self.console.print(f"  {key} = {escape(shown)}  [dim]({escape(source)})[/]")

    def cmd_memory(self, arg: str) -> None:
        """/memory [add TEXT]  Show the project memory, or add a line to it."""
        from code_assistant.session.memory import append_memory, load_project_memory

        mode = self.repl.config.project_memory
        action, _, text = arg.partition(" ")
        if action == "add":
            if not text.strip():
                raise UsageError("/memory add needs the text to remember")
            path = append_memory(self.repl.root, text, mode)
            self.console.print(f"added to {escape(path.name)}; it goes with every message")
        elif action:
            raise UsageError("usage: /memory (show) or /memory add TEXT")
        else:
            memory = load_project_memory(self.repl.root, mode)
            self.console.print(
                escape(memory) if memory else "no project memory yet; /memory add TEXT starts one"
            )

    # --- bigger work ---------------------------------------------------------------------------

    def cmd_pipeline(self, arg: str) -> None:
        """/pipeline [REQ]  Run the pipeline on REQ (text or a .md file), or on the last plan."""
        request = arg or self.repl.pending_plan
        if not request:
            raise UsageError("/pipeline needs a requirement: text, or a file such as specs/x.md")
        self.run_pipeline(request)

    def run_pipeline(self, request: str) -> int:
        """Run `ca run` in-process on a requirement file, or on text saved as one first."""
        from code_assistant.pipeline.run import execute, read_requirement
        from code_assistant.pipeline.state import RunState, RunStore, new_run_id
        from code_assistant.spec import spec_name, unique_path

        root = self.repl.root
        candidate = root / request
        if not (request.endswith(".md") and candidate.is_file()):
            candidate = unique_path(root / ".ca" / "requests", spec_name(request))
            candidate.parent.mkdir(parents=True, exist_ok=True)
            candidate.write_text(request.strip() + "\n", encoding="utf-8")
        path, text = read_requirement(str(candidate), root)
        store = RunStore(root)
        state = RunState(
            id=new_run_id(), root=str(root), requirement_path=str(path), requirement=text
        )
        store.save(state)
        self.console.print(f"pipeline run {state.id} on {escape(str(path.relative_to(root)))}")
        ask = self.repl.approve if self.repl.config.approval == "ask" else None
        return execute(self.repl.loaded, store, state, ask, json_out=False)

    def cmd_spec(self, arg: str) -> None:
        """/spec [IDEA]  Spec mode: the architect interviews you and writes specs/NAME.md."""
        from code_assistant.spec import SpecInterview
        from code_assistant.workspace import chat_options

        repl = self.repl
        if repl.spec is None:
            repl.spec = SpecInterview(
                repl.backend, repl.config.architect_model, chat_options(repl.config), repl.root
            )
            self.console.print(
                "[bold]spec mode[/]: describe what you want to build; I will ask a few "
                "questions at a time. /finalize writes the document."
            )
        else:
            self.console.print("already in spec mode; /finalize [NAME] writes the document")
        if arg:
            repl.message(arg)

    def cmd_finalize(self, arg: str) -> None:
        """/finalize [NAME]  In spec mode: write specs/NAME.md and offer to run it."""
        repl = self.repl
        if repl.spec is None:
            raise UsageError("not in spec mode; /spec starts an interview")
        path = repl.spec.finalize(arg or None)
        repl.renderer.markdown.stop()
        rel = path.relative_to(repl.root).as_posix()
        repl.spec = None
        self.console.print(f"wrote {escape(rel)}; spec mode ended")
        if repl.confirm(f"Run the pipeline on it now (ca run {rel})?"):
            self.run_pipeline(rel)
        else:
            self.console.print(f"[dim]run it later with: ca run {escape(rel)}[/]")

    def cmd_web(self, arg: str) -> None:
        """/web URL|QUERY  Read a page (or search the web) and pin the result."""
        from code_assistant.tools.web import fetch_markdown, format_results, search_web

        if not arg:
            raise UsageError("/web needs an address or a search query")
        repl = self.repl
        try:
            if arg.startswith(("http://", "https://")):
                text = fetch_markdown(arg, repl.config, repl.ctx.extras.setdefault("web_cache", {}))
                label = arg
            else:
                text = format_results(search_web(arg, repl.config))
                label = f"search: {arg}"
        except ToolError as exc:
            self.console.print(f"[yellow]{escape(str(exc))}[/]")
            return
        repl.notes[label] = text
        preview = "\n".join(text.strip().splitlines()[:12])
        self.console.print(escape(preview))
        self.console.print(f"[dim]pinned {escape(label)} (~{(len(text) + 3) // 4:,} tokens)[/]")
