"""The interactive session (`ca`): intent routing, streamed answers, approvals, sessions."""

from __future__ import annotations

import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.markup import escape

from code_assistant.agent.architect import classify_intent
from code_assistant.agent.events import DoneEvent, Event, ModelCallEvent, ToolCallEvent
from code_assistant.agent.personas import CONVERSATIONAL, IMPLEMENTER, PLANNER, Persona
from code_assistant.agent.runner import run_persona
from code_assistant.agent.structured import StructuredOutputError
from code_assistant.app import App
from code_assistant.backends import get_backend
from code_assistant.backends.base import Backend, Message
from code_assistant.config import default_sessions_dir
from code_assistant.errors import CAError
from code_assistant.index.retrieve import context_block
from code_assistant.redact import redact, secret_values
from code_assistant.render import diffstat
from code_assistant.repl.checks import backend_warning, is_trivial
from code_assistant.repl.commands import SlashCommands
from code_assistant.repl.io import PlainIO, ProjectPaths, ReplCompleter, ReplIO, check_message
from code_assistant.repl.peer import PeerCommands, SessionMeter, shell_escape
from code_assistant.repl.pins import PinCommands, Pins
from code_assistant.repl.project import ProjectCommands
from code_assistant.repl.render import ReplRenderer
from code_assistant.repl.session_commands import SessionCommands
from code_assistant.repl.work import WorkCommands, run_pipeline
from code_assistant.session.compact import compact
from code_assistant.session.conversation import Conversation
from code_assistant.session.store import SessionStore, Turn
from code_assistant.session.undo import ChangeSet, GitSnapshot
from code_assistant.spec import SpecInterview
from code_assistant.workspace import build_context, chat_options, system_prompt

STOP_NOTES = {
    "max_steps": "(stopped at the step budget, max_steps: the task may be unfinished)",
    "no_action": "(the model did not act on the request; try rephrasing it)",
    "stuck": "(stopped: the model repeated the same call without progress)",
}
_COMMAND = re.compile(r"^/[A-Za-z][\w-]*(?:\s|$)")


class Repl:
    """One interactive session. Input, output and the backend are injected, for tests."""

    def __init__(
        self,
        loaded: App,
        io: ReplIO | PlainIO,
        store: SessionStore,
        *,
        backend: Backend | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        self.loaded = loaded
        self.io = io
        self.console = io.console
        self.store = store
        if backend is None:
            backend = get_backend(loaded.config)
        self.backend = SessionMeter(backend)  # counts for /cost
        self.conversation = conversation or Conversation(store, loaded.root)
        self.renderer = ReplRenderer(self.console)
        self.ctx = build_context(loaded, ask=self.approve)
        self.renderer.changes = self.ctx.changes
        self.pins = Pins(loaded.root)
        self.change_sets: list[ChangeSet] = []
        self.spec: SpecInterview | None = None  # while in spec mode
        self.pending_plan = ""  # the last complex request, for /pipeline without arguments
        self.running = True
        console = self.console
        self.commands = SlashCommands(console, [
            PinCommands(self.pins, loaded, self.ctx, console),
            ProjectCommands(loaded, self.backend, self.ctx, console),
            PeerCommands(loaded, self.backend, self.ctx, console),
            SessionCommands(self),
            WorkCommands(self),
        ])
        self.paths = ProjectPaths(loaded.root, loaded.config.index_exclude)
        io.set_completer(
            ReplCompleter(self.commands.summaries, self.paths, self.commands.completions())
        )

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        self.greet()
        while self.running:
            try:
                line = self.io.read("spec> " if self.spec else "ca> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            self.handle(line)
        self.console.print("[dim]bye[/]")
        return 0

    def greet(self) -> None:
        config = self.loaded.config
        self.console.print(
            f"[bold]code-assistant[/] in {escape(str(self.loaded.root))} · architect "
            f"{escape(config.architect_model)} · implementer {escape(config.implementer_model)}"
        )
        self.console.print(
            "[dim]/help for commands · Esc-Enter for a new line · Ctrl-C cancels · Ctrl-D exits[/]"
        )
        if problem := backend_warning(self.backend):
            self.console.print(f"[yellow]warning: {escape(problem)}[/] [dim](ca doctor checks)[/]")
        conversation = self.conversation
        if conversation.id is not None:
            self.console.print(
                f"resumed session {conversation.id}: {len(conversation.turns)} turn(s)"
                + (" after a summary of earlier ones" if conversation.summary else "")
            )
            if conversation.dropped_turns:
                self.console.print(
                    f"[yellow]{conversation.dropped_turns} interrupted turn(s) were not "
                    "restored (the answer never finished)[/]"
                )

    def handle(self, line: str) -> None:
        """One line of input: a slash command or a message. Errors end the turn, not the REPL."""
        text = line.strip()
        if not text:
            return
        try:
            if text.startswith("!"):
                shell_escape(self.console, self.loaded.root, text[1:])
            elif _COMMAND.match(text):
                self.commands.dispatch(text)
            else:
                self.message(text)
        except KeyboardInterrupt:
            self.renderer.markdown.stop()
            self.console.print("[yellow]cancelled[/]")
        except CAError as exc:
            self.renderer.markdown.stop()
            self.console.print(f"[red]error:[/] {escape(redact(str(exc)))}")
        except Exception as exc:  # the REPL's outermost edge: log it and keep the session
            self.renderer.markdown.stop()
            self._internal_error(exc)

    def _internal_error(self, exc: Exception) -> None:
        log = Path(self.loaded.home) / "repl-errors.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as out:
                out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                out.write("".join(traceback.format_exception(exc)))
        except OSError:
            pass
        self.console.print(
            f"[red]internal error:[/] {escape(repr(exc))}; the session goes on "
            f"(traceback in {escape(str(log))})"
        )

    # --- messages ------------------------------------------------------------------------------

    def message(self, text: str) -> None:
        problem = check_message(text, self.loaded.config.num_ctx * 2)
        if problem:
            self.console.print(f"[yellow]{escape(problem)}[/]")
            return
        if self.spec is not None:
            self.spec_turn(self.spec, text)
            return
        self.compact()
        intent = self.classify(text)
        route: dict[str, Callable[[str], None]] = {
            "conversational": self.answer,
            "implementation": self.implement,
            "complex": self.propose_plan,
        }
        route[intent](text)

    def classify(self, text: str) -> str:
        if is_trivial(text):  # no classifier call (another model load) for "thanks"
            return "conversational"
        try:
            config = self.loaded.config
            reply = classify_intent(
                self.backend, config.architect_model, text, chat_options(config)
            )
        except StructuredOutputError:
            self.console.print("[dim]→ could not classify the message; treating it as a task[/]")
            return "implementation"
        reason = f": {reply.reason}" if reply.reason else ""
        self.console.print(f"[dim]→ {reply.intent}{escape(reason)}[/]")
        return reply.intent

    @contextmanager
    def turn(self, text: str) -> Iterator[Turn]:
        """A turn that is written as it goes; cancelled turns are closed, failed ones dropped."""
        turn = self.conversation.begin(text)
        try:
            yield turn
        except KeyboardInterrupt:
            self.conversation.cancel(turn, partial=self.renderer.markdown.stop())
            raise
        except BaseException:
            self.renderer.markdown.stop()
            self.conversation.discard(turn)
            raise

    def answer(self, text: str) -> None:
        """A direct answer, no tools."""
        self.chat_turn(text, CONVERSATIONAL)

    def propose_plan(self, text: str) -> None:
        """The architect's plan for a larger request, and the offer to run it as a pipeline."""
        self.chat_turn(text, PLANNER)
        self.pending_plan = text
        if self.confirm("Run this as a pipeline now (plan, implement, review, test)?"):
            run_pipeline(self.loaded, self.console, text, self.approve)
        else:
            self.console.print("[dim]/pipeline runs it later; or ask for a smaller step.[/]")

    def chat_turn(self, text: str, persona: Persona) -> None:
        history = self.conversation.history()
        messages = [self.system_message(persona, text), *history, Message("user", text)]
        with self.turn(text) as turn:
            result = self.backend.chat(
                persona.model(self.loaded.config),
                messages,
                options=chat_options(self.loaded.config),
                on_token=self.renderer.markdown.feed,
            )
            streamed = self.renderer.markdown.stop()
            if not streamed and result.text:  # a backend that did not stream
                self.renderer.markdown.feed(result.text)
                self.renderer.markdown.stop()
            self.conversation.record(turn, Message("assistant", result.text))

    def implement(self, text: str) -> None:
        """The implementer agent with tools; its changes become one /undo step."""
        messages = [
            self.system_message(IMPLEMENTER, text), *self.conversation.history(),
            Message("user", text),
        ]
        start = len(messages) - 1
        change_set = ChangeSet(self.conversation.next_turn, git=GitSnapshot.take(self.loaded.root))
        offset = len(self.ctx.changes)
        with self.turn(text) as turn:

            def on_event(event: Event) -> None:
                self.renderer(event)
                if isinstance(event, (ModelCallEvent, ToolCallEvent, DoneEvent)):
                    self.conversation.sync(turn, messages, start)

            try:
                transcript = run_persona(self.loaded, self.backend, IMPLEMENTER, self.ctx, text,
                                         on_event, messages=messages)
            finally:
                self.renderer.markdown.stop()
                change_set.changes = self.ctx.changes[offset:]
                if change_set.changes or (change_set.git and change_set.touched(self.loaded.root)):
                    self.change_sets.append(change_set)
            self.conversation.sync(turn, messages, start)
            if transcript.stop_reason in STOP_NOTES:
                note = STOP_NOTES[transcript.stop_reason]
                self.console.print(f"[yellow]{note}[/]")
                self.conversation.close(turn, f"{transcript.final_text}\n\n{note}".strip())
        stats = diffstat(change_set.changes)
        if stats:
            changed = ", ".join(f"{p} +{a} -{r}" for p, a, r in stats)
            self.console.print(f"[bold]changed:[/] {escape(changed)} [dim](/undo reverts)[/]")

    def spec_turn(self, spec: SpecInterview, text: str) -> None:
        with self.turn(text) as turn:
            reply = spec.reply(text, on_token=self.renderer.markdown.feed)
            self.renderer.markdown.stop()
            self.conversation.record(turn, Message("assistant", reply))

    def system_message(self, persona: Persona, query: str) -> Message:
        """The persona's prompt with memory and symbol map, pinned files, retrieval, summary."""
        parts = [system_prompt(persona, self.loaded, task=query)]
        pinned = self.pins.block()
        if pinned:
            parts.append(pinned)
        retrieved = self.retrieved(query)
        if retrieved:
            parts.append(retrieved)
        if self.conversation.summary:
            parts.append(f"# Summary of the earlier conversation\n{self.conversation.summary}")
        return Message("system", "\n\n".join(parts))

    def retrieved(self, query: str) -> str:
        """Code chunks from the index that match the message ("" without an index)."""
        try:
            return context_block(self.loaded.root, query, self.loaded.config, self.backend)
        except CAError as exc:
            self.console.print(f"[yellow]retrieval skipped: {escape(str(exc))}[/]")
            return ""

    def compact(self, *, force: bool = False) -> bool:
        """Summarise old turns when the history is over budget (or when forced)."""
        conversation, config = self.conversation, self.loaded.config
        done = compact(
            self.backend, config.architect_model, chat_options(config),
            conversation.summary, conversation.turns, config.history_tokens, force=force,
        )
        if done is None:
            return False
        conversation.apply(done)
        self.console.print(
            f"[dim]compacted {len(done.summarised)} older turn(s) into a summary; "
            f"{len(done.kept)} recent turn(s) kept verbatim[/]"
        )
        return True

    # --- approvals -----------------------------------------------------------------------------

    def approve(self, tool: str, summary: str, detail: str) -> str:
        """The approval prompt: the diff or command, then y / n / a (always for this tool)."""
        self.renderer.markdown.stop()
        if tool == "run_shell":
            self.console.print(f"[bold]$[/] {escape(summary)}")
        elif detail:
            self.renderer.show_diff(detail)
            self.renderer.diff_shown = True
        try:
            return self.io.answer(f"Allow {tool} {summary}? [y/n/a(lways)] ")
        except EOFError:
            return "n"

    def confirm(self, question: str) -> bool:
        try:
            return self.io.answer(f"{question} [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False


def start_repl(loaded: App, *, resume: str | None = None, spec: bool = False) -> int:
    """`ca` with no command: open (or resume) a session in this project."""
    store = SessionStore.in_dir(default_sessions_dir(loaded), secret_values(loaded.config))
    try:
        conversation = None
        if resume is not None:
            conversation = Conversation.resume(store, resume, loaded.root)
        io: ReplIO | PlainIO = (ReplIO(history_path=Path(loaded.home) / "history")
                                if sys.stdin.isatty() else PlainIO(sys.stdin))
        repl = Repl(loaded, io, store, conversation=conversation)
        if spec:
            repl.commands.dispatch("/spec")
        try:
            return repl.run()
        finally:
            repl.close()
    finally:
        store.close()
