"""Bigger work from the REPL: /pipeline runs `ca run` in-process, /spec and /finalize interview
the user for a requirement document."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from code_assistant.app import App
from code_assistant.errors import UsageError
from code_assistant.pipeline.run import execute, read_requirement
from code_assistant.pipeline.state import RunState, RunStore, new_run_id
from code_assistant.spec import SpecInterview, spec_name, unique_path
from code_assistant.tools.approval import AskFn
from code_assistant.workspace import chat_options

if TYPE_CHECKING:
    from code_assistant.repl.session import Repl


def run_pipeline(loaded: App, console: Console, request: str, ask: AskFn | None) -> int:
    """Run `ca run` in-process on a requirement file, or on text saved as one first."""
    root = Path(loaded.root)
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
    console.print(f"pipeline run {state.id} on {escape(str(path.relative_to(root)))}")
    return execute(loaded, store, state, ask if loaded.config.approval == "ask" else None,
                   json_out=False)


class WorkCommands:
    """/pipeline, /spec and /finalize: they switch the session's mode, so they get the session."""

    def __init__(self, repl: Repl) -> None:
        self.repl = repl
        self.console = repl.console

    def cmd_pipeline(self, arg: str) -> None:
        """/pipeline [REQ]  Run the pipeline on REQ (text or a .md file), or on the last plan."""
        request = arg or self.repl.pending_plan
        if not request:
            raise UsageError("/pipeline needs a requirement: text, or a file such as specs/x.md")
        run_pipeline(self.repl.loaded, self.console, request, self.repl.approve)

    def cmd_spec(self, arg: str) -> None:
        """/spec [IDEA]  Spec mode: the architect interviews you and writes specs/NAME.md."""
        repl = self.repl
        if repl.spec is None:
            config = repl.loaded.config
            repl.spec = SpecInterview(
                repl.backend, config.architect_model, chat_options(config), repl.loaded.root
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
        rel = path.relative_to(repl.loaded.root).as_posix()
        repl.spec = None
        self.console.print(f"wrote {escape(rel)}; spec mode ended")
        if repl.confirm(f"Run the pipeline on it now (ca run {rel})?"):
            run_pipeline(repl.loaded, self.console, rel, repl.approve)
        else:
            self.console.print(f"[dim]run it later with: ca run {escape(rel)}[/]")
