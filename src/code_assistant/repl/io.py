"""The REPL's input: prompt_toolkit lines (history, multi-line, completion), or a pipe's."""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from rich.console import Console

HISTORY_ENTRY_CHARS = 20_000  # a huge paste is answered, but not kept in the input history
PATH_COMMANDS = frozenset({"add", "drop", "symbols", "index", "pipeline"})
PATHS_TTL = 10.0
MAX_COMPLETIONS = 60
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def check_message(text: str, max_chars: int) -> str | None:
    """Why `text` cannot be sent to the model, or None when it can."""
    if len(text) > max_chars:
        return (
            f"your message is {len(text):,} characters; one message can hold at most "
            f"{max_chars:,} (half the model's context). Save it to a file and /add the file, "
            "or send a shorter part."
        )
    controls = len(_CONTROL.findall(text))
    if "\0" in text or controls > max(2, len(text) // 100):
        return (
            f"that looks like binary data ({controls} control or undecodable characters), "
            "not text; nothing was sent"
        )
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        return "that message has no letters or digits; nothing was sent"
    return None


class BoundedFileHistory(FileHistory):
    """Input history in a machine-only file, without entries too large to recall usefully."""

    def store_string(self, string: str) -> None:
        if len(string) <= HISTORY_ENTRY_CHARS:
            super().store_string(string)


class ReplCompleter(Completer):
    """Completes slash commands, then project paths (or words) after commands that take them."""

    def __init__(
        self,
        commands: Callable[[], dict[str, str]],
        paths: Callable[[], list[str]],
        words: dict[str, Callable[[], list[str]]] | None = None,
    ) -> None:
        self.commands = commands
        self.paths = paths
        self.words = words or {}

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for name, help_text in self.commands().items():
                if name.startswith(text[1:]):
                    yield Completion(f"/{name}", -len(text), display_meta=help_text)
            return
        command = text[1:].split(" ", 1)[0]
        word = document.get_word_before_cursor(WORD=True)
        if command in self.words:
            candidates: Iterable[str] = self.words[command]()
        elif command in PATH_COMMANDS:
            candidates = _matching_paths(self.paths(), word)
        else:
            return
        for count, candidate in enumerate(c for c in candidates if c.startswith(word)):
            if count >= MAX_COMPLETIONS:
                break
            yield Completion(candidate, -len(word))


def _matching_paths(paths: list[str], word: str) -> list[str]:
    """Paths that start with `word`, then directories on the way to them."""
    found = [p for p in paths if p.startswith(word)]
    dirs = sorted({p[: p.index("/", len(word)) + 1] for p in found if "/" in p[len(word) :]})
    return dirs + found if len(found) > MAX_COMPLETIONS else found + dirs


class ProjectPaths:
    """Project file paths for completion, walked at most every PATHS_TTL seconds."""

    def __init__(self, root: Path, exclude: Iterable[str]) -> None:
        self.root = root
        self.exclude = list(exclude)
        self._cache: list[str] = []
        self._when = 0.0

    def __call__(self) -> list[str]:
        if time.monotonic() - self._when > PATHS_TTL:
            from code_assistant.index.walk import iter_project_entries

            entries = iter_project_entries(self.root, self.exclude, text_only=False)
            self._cache = [entry.rel for entry in itertools.islice(entries, 20_000)]
            self._when = time.monotonic()
        return self._cache


class ReplIO:
    """Where the REPL reads lines and answers and writes output; injectable for tests."""

    def __init__(
        self,
        *,
        input: Any = None,
        output: Any = None,
        console: Console | None = None,
        history_path: Path | None = None,
    ) -> None:
        from prompt_toolkit import PromptSession

        self.console = console or Console(highlight=False)
        history: History = InMemoryHistory()
        if history_path is not None:
            history_path.parent.mkdir(parents=True, exist_ok=True)
            history = BoundedFileHistory(str(history_path))
        self.session: Any = PromptSession(
            input=input,
            output=output,
            history=history,
            key_bindings=_key_bindings(),
            multiline=True,
            prompt_continuation=lambda width, line, wrap: "." * (width - 1) + " ",
            complete_while_typing=True,
        )
        self._answers: Any = PromptSession(input=input, output=output)

    def set_completer(self, completer: Completer) -> None:
        self.session.completer = completer

    def read(self, prompt: str) -> str:
        """One message; KeyboardInterrupt on Ctrl-C, EOFError on Ctrl-D."""
        return str(self.session.prompt(prompt))

    def answer(self, question: str) -> str:
        """A short answer (approvals, y/n); not kept in the input history."""
        return str(self._answers.prompt(question))


class PlainIO:
    """Lines from a pipe (`echo question | ca`): no prompt, no completion, no warning."""

    def __init__(self, stream: Any, console: Console | None = None) -> None:
        self.stream = stream
        self.console = console or Console(highlight=False)

    def set_completer(self, completer: Completer) -> None:
        pass

    def read(self, prompt: str) -> str:
        line = self.stream.readline()
        if not line:
            raise EOFError
        return str(line).rstrip("\n")

    def answer(self, question: str) -> str:
        self.console.print(question, end="")
        line = self.stream.readline()
        if not line:
            raise EOFError
        self.console.print(line.strip())
        return str(line)


def _key_bindings() -> Any:
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def _submit(event: Any) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.apply_completion(state.current_completion)
            return
        buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return bindings
