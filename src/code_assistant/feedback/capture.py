"""Turn the agent's recoveries into correction pairs by listening to its events (a tee)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from code_assistant.agent.events import (
    DoneEvent,
    Event,
    ModelCallEvent,
    OnEvent,
    RetryEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from code_assistant.app import App
from code_assistant.feedback.pairs import (
    RESULT_CHARS,
    TASK_CHARS,
    TEXT_CHARS,
    Call,
    Category,
    Pair,
    Step,
    clip,
    project_id,
)
from code_assistant.feedback.store import FeedbackStore, open_store

if TYPE_CHECKING:
    from code_assistant.agent.personas import Persona


log = logging.getLogger(__name__)

# extract_tool_calls names the calls it recovers from text call_text_0, call_text_1, ...
TEXT_CALL_PREFIX = "call_text_"
RETRY_CATEGORIES: dict[str, Category] = {
    "explain_reprompt": "explain_reprompts",
    "constrained_output": "constrained_retries",
}
MAX_PAIRS = 12  # per session: a model stuck in a loop should not flood the store
MAX_FIX_CALLS = 8  # calls kept between a failing command and its passing re-run
CHANGE_TOOLS = frozenset({"write_file", "edit_file"})
# A passing run_shell of one of these (tests, the program itself) verifies the changes before it.
CHECK_RUNNERS = frozenset({
    "python", "python3", "pytest", "py.test", "node", "npm", "npx", "yarn", "pnpm", "cargo",
    "go", "make", "uv", "poetry", "tox", "nox", "ruby", "deno", "bun", "jest", "vitest",
    "mocha", "java", "dotnet", "bash", "sh", "ctest", "rspec",
})  # fmt: skip
_SEGMENTS = re.compile(r"&&|\|\||;|\|")
# Runs that prove nothing about behaviour: syntax only, versions, help, installs.
_TRIVIAL = re.compile(r"py_compile|compileall|--version|--help|\bpip3? |\b-m pip\b|\bwhich\b")


def tee(*handlers: OnEvent | None) -> OnEvent:
    """One `on_event` that passes each event to every handler, in order."""
    active = [h for h in handlers if h is not None]

    def handle(event: Event) -> None:
        for handler in active:
            handler(event)

    return handle


def _command_of(call: Call) -> str:
    return " ".join(str(call.arguments.get("command", "")).split())


def is_check(command: str) -> bool:
    """Whether a shell command runs tests or a program (not `ls`, `cat`, `cd`, nor a syntax
    check like `python -m py_compile`, which passes for wrong code)."""
    if _TRIVIAL.search(command):
        return False
    for segment in _SEGMENTS.split(command):
        words = segment.split()
        while words and "=" in words[0] and not words[0].startswith("="):
            words = words[1:]  # VAR=value prefixes
        if words and Path(words[0]).name in CHECK_RUNNERS:
            return True
        if words and words[0].startswith("./"):
            return True  # ./run_tests.sh, ./app
    return False


@dataclass
class _Attempt:
    call: Call
    text: str
    from_text: bool


@dataclass
class _FailedCommand:
    command: str
    bad: Step
    from_text: bool
    fixes: list[tuple[Call, str]] = field(default_factory=list)


class FeedbackRecorder:
    """Listens to one agent session and keeps a pair each time a mistake is followed by a fix:

    - a tool error, then a successful call of the same tool (tool_errors);
    - a failing run_shell, then the same command passing (failed_commands; the calls in
      between are the fix);
    - a corrective re-prompt or constrained retry, then a successful call;
    - a call written as text and recovered (text_tool_calls; one per session).

    A pair is marked `verified` when a check (tests, the program: a passing run_shell of a
    CHECK_RUNNERS command, or the loop's own check) passed after it and after the last file
    change, and `recovered` when one of its calls was parsed from text; only verified,
    unrecovered pairs of the same project become lessons (feedback/fewshot.py).
    Pairs are written by `flush()`, so the loop itself never waits on the disk.
    """

    def __init__(
        self,
        loaded: App,
        persona: Persona | str,
        model: str,
        task: str,
        *,
        store: FeedbackStore | None = None,
    ) -> None:
        self.enabled = bool(loaded.config.feedback_enabled)
        self.store = store
        self._loaded = loaded
        self.persona = getattr(persona, "name", str(persona))
        self.tools = list(getattr(persona, "tools", ()) or ())
        self.model = model
        self.task = clip(task.strip(), TASK_CHARS)
        self.project = Path(loaded.root).name
        self.project_id = project_id(loaded.root)
        self._root = str(loaded.root)
        self.pairs: list[Pair] = []
        self._seen: set[str] = set()
        self._text = ""
        self._retry: tuple[Category, str] | None = None
        self._calls: dict[str, _Attempt] = {}
        self._failed: dict[str, tuple[Step, bool]] = {}
        self._command: _FailedCommand | None = None
        self._texted = False
        # Event counters for `verified`: when each pair was made, the last change, the last
        # passing check (-1: none yet).
        self._seq = 0
        self._born: dict[str, int] = {}
        self._changed_at = -1
        self._checked_at = -1

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        match event:
            case DoneEvent():
                self._on_done(event)
            case ModelCallEvent():
                self._text = ""
            case TokenEvent(text=text):
                self._text += text
            case RetryEvent(strategy=strategy):
                self._on_retry(strategy)
            case ToolCallEvent():
                self._on_tool_call(event)
            case ToolResultEvent():
                self._on_tool_result(event)

    def new_task(self, task: str) -> None:
        """A new user turn (REPL): pairs from now on carry this task; pending state is reset."""
        self.task = clip(task.strip(), TASK_CHARS)
        self._text = ""
        self._retry = None
        self._calls.clear()
        self._failed.clear()
        self._command = None

    def flush(self) -> list[Pair]:
        """Write the pairs captured so far; a disk problem is a warning, never a failure."""
        if not self.pairs:
            return []
        for pair in self.pairs:
            pair.verified = pair.verified or self._verified(pair)
        store = self.store or open_store(self._loaded)
        try:
            stored = store.append(self.pairs)
        except OSError as exc:
            log.warning("could not save feedback pairs to %s: %s", store.dir, exc)
            return []
        self.pairs = []
        return stored

    def _verified(self, pair: Pair) -> bool:
        if pair.category == "failed_commands":
            return True  # the command that failed passed after the fix
        checked = self._checked_at
        return checked >= self._born.get(pair.id, 0) and checked > self._changed_at

    def _on_done(self, done: DoneEvent) -> None:
        if done.verified is True and done.stop_reason == "done" and is_check(done.check_command):
            self._checked_at = self._seq  # the loop's own check passed before "done"

    def _on_retry(self, strategy: str) -> None:
        category = RETRY_CATEGORIES.get(strategy)
        if category is None:
            return
        # The first bad reply is the mistake; later strategies only change the category.
        bad = self._retry[1] if self._retry else self._text
        self._retry = (category, bad)

    def _on_tool_call(self, call: ToolCallEvent) -> None:
        self._calls[call.id] = _Attempt(
            Call.of(call.name, call.arguments),
            clip(self._text, TEXT_CHARS),
            call.id.startswith(TEXT_CALL_PREFIX),
        )

    def _on_tool_result(self, result: ToolResultEvent) -> None:
        name = result.name
        attempt = self._calls.pop(result.id, None)
        if attempt is None:
            attempt = _Attempt(Call(name=name), "", False)
        output = clip(self._portable(result.output), RESULT_CHARS)
        step = Step(text=attempt.text, calls=[attempt.call], results=[output])
        self._seq += 1
        if not result.ok:
            self._failed.setdefault(name, (step, attempt.from_text))
            return
        if result.failed:  # it ran and failed: only a command's failure has a fix to pair
            if name == "run_shell":  # the latest failure is the one the fix answers
                self._command = _FailedCommand(_command_of(attempt.call), step, attempt.from_text)
            return
        if name in CHANGE_TOOLS:
            self._changed_at = self._seq
        elif name == "run_shell" and is_check(_command_of(attempt.call)):
            self._checked_at = self._seq
        self._track_fix(attempt, output)
        if name in self._failed:
            bad, bad_from_text = self._failed.pop(name)
            self._add("tool_errors", bad, step, recovered=bad_from_text or attempt.from_text)
            self._retry = None
        elif self._retry is not None:
            category, bad_text = self._retry
            self._add(category, Step(text=bad_text), step, recovered=attempt.from_text)
            self._retry = None
        elif attempt.from_text and not self._texted:
            self._texted = True
            good = Step(calls=[attempt.call], results=[output])
            self._add("text_tool_calls", Step(text=attempt.text), good, recovered=True)

    def _portable(self, output: str) -> str:
        # Paths relative to the project: pairs then teach across projects and exported
        # training data carries no home directory.
        if len(Path(self._root).parts) < 2:
            return output
        return output.replace(self._root + "/", "").replace(self._root, ".")

    def _track_fix(self, attempt: _Attempt, output: str) -> None:
        """Calls after a failing command are its fix, until the same command passes."""
        failure, call = self._command, attempt.call
        if failure is None:
            return
        failure.from_text = failure.from_text or attempt.from_text
        if call.name != "run_shell" or _command_of(call) != failure.command:
            if len(failure.fixes) < MAX_FIX_CALLS:
                failure.fixes.append((call, output))
            return
        self._command = None
        if not failure.fixes:
            return  # passed on a plain re-run: flaky, nothing was fixed
        fixes = [*failure.fixes, (call, output)]
        good = Step(calls=[c for c, _ in fixes], results=[r for _, r in fixes])
        self._add("failed_commands", failure.bad, good, recovered=failure.from_text)

    def _add(self, category: Category, bad: Step, good: Step, *, recovered: bool) -> None:
        if len(self._seen) >= MAX_PAIRS:
            return
        pair = Pair(
            category=category,
            persona=self.persona,
            model=self.model,
            project=self.project,
            project_id=self.project_id,
            recovered=recovered,
            tools=self.tools,
            task=self.task,
            bad=bad,
            good=good,
        )
        fingerprint = pair.fingerprint()
        if fingerprint not in self._seen:
            self._seen.add(fingerprint)
            self._born[pair.id] = self._seq
            self.pairs.append(pair)
