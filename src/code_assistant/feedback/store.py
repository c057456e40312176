"""Machine-only JSONL store of feedback pairs: appended under a file lock, secrets redacted."""

from __future__ import annotations

import fcntl
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from code_assistant.app import App
from code_assistant.errors import UsageError
from code_assistant.feedback.pairs import (
    CATEGORIES,
    RESULT_CHARS,
    TASK_CHARS,
    TEXT_CHARS,
    Call,
    Pair,
    Step,
    clip,
    project_id,
)
from code_assistant.fileio import atomic_write
from code_assistant.redact import redact_data

if TYPE_CHECKING:
    from code_assistant.config import Config


PAIRS_FILE = "pairs.jsonl"
LOCK_FILE = "pairs.lock"


class FeedbackStore:
    """`pairs.jsonl` in `directory`. Writers hold an exclusive lock on a separate lock file,
    so `remove` can replace the data file without invalidating another process's lock."""

    def __init__(self, directory: Path, secrets: Sequence[str] = ()) -> None:
        self.dir = directory
        self.path = directory / PAIRS_FILE
        self.secrets = tuple(secrets)
        self.skipped = 0  # lines of the last read that were not valid pairs

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def append(self, pairs: Iterable[Pair]) -> list[Pair]:
        """Redact and append `pairs` in one write; returns them as stored."""
        stored = [self._redacted(pair) for pair in pairs]
        if not stored:
            return []
        data = "".join(p.model_dump_json() + "\n" for p in stored).encode("utf-8")
        with self._locked(exclusive=True):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
            finally:
                os.close(fd)
        return stored

    def _redacted(self, pair: Pair) -> Pair:
        return Pair.model_validate(redact_data(pair.model_dump(), self.secrets))

    def read(self) -> list[Pair]:
        """Every valid pair, oldest first; unreadable lines are counted in `skipped`."""
        with self._locked(exclusive=False):
            lines = self._lines()
        pairs: list[Pair] = []
        self.skipped = 0
        for line in lines:
            pair = _parse(line)
            if pair is None:
                self.skipped += int(bool(line.strip()))
            else:
                pairs.append(pair)
        return pairs

    def _lines(self) -> list[str]:
        # Only "\n" ends a record: str.splitlines() would also split inside strings holding
        # U+0085 or U+2028, which JSON writes unescaped.
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return text.split("\n")

    def get(self, prefix: str) -> Pair:
        """The pair whose id starts with `prefix`."""
        return self._resolve([prefix], self.read())[0]

    def remove(self, prefixes: Sequence[str]) -> list[Pair]:
        """Delete the pairs with these ids (or unique id prefixes) from the file."""
        with self._locked(exclusive=True):
            lines = self._lines()
            parsed = [(line, _parse(line)) for line in lines]
            removed = self._resolve(prefixes, [p for _, p in parsed if p is not None])
            gone = {p.id for p in removed}
            kept = [line for line, p in parsed if line.strip() and (p is None or p.id not in gone)]
            self._replace("".join(line + "\n" for line in kept))
        return removed

    def _replace(self, text: str) -> None:
        atomic_write(self.path, text, mode=0o600)  # as private as its directory

    @staticmethod
    def _resolve(prefixes: Sequence[str], pairs: list[Pair]) -> list[Pair]:
        found: list[Pair] = []
        for prefix in prefixes:
            prefix = prefix.strip()
            matches = [p for p in pairs if prefix and p.id.startswith(prefix)]
            if not matches:
                raise UsageError(f"no feedback pair {prefix!r} (see `ca feedback list`)")
            if len(matches) > 1:
                raise UsageError(f"{prefix!r} matches {len(matches)} pairs: give more of the id")
            if matches[0] not in found:
                found.append(matches[0])
        return found


def _parse(line: str) -> Pair | None:
    if not line.strip():
        return None
    try:
        return Pair.model_validate(json.loads(line))
    except (ValueError, ValidationError):
        return None


def config_secrets(config: Config) -> list[str]:
    """Every secret value the config knows: keys, tokens, MCP server env values and headers."""
    from code_assistant.config import SECRET_SUFFIXES

    secrets = [
        str(getattr(config, name))
        for name in type(config).model_fields
        if name.endswith(SECRET_SUFFIXES) and getattr(config, name)
    ]
    for server in config.mcp.servers.values():
        secrets += [*server.env.values(), *server.headers.values()]
    return [s for s in secrets if len(s) >= 4]


def open_store(loaded: App) -> FeedbackStore:
    """The machine's feedback store, redacting the secrets of this config."""
    from code_assistant.config import default_feedback_dir

    return FeedbackStore(default_feedback_dir(loaded), config_secrets(loaded.config))


def stats(pairs: Sequence[Pair]) -> dict[str, Any]:
    """Counts per category (every category listed), source, persona and model."""
    categories: Counter[str] = Counter(p.category for p in pairs)
    return {
        "total": len(pairs),
        "distinct": len({p.fingerprint() for p in pairs}),
        # Pairs that may be shown as lessons (in their own project): verified, not recovered.
        "lessons": sum(1 for p in pairs if p.verified and not p.recovered),
        "by_category": {c: categories.get(c, 0) for c in CATEGORIES},
        "by_source": dict(Counter(p.source for p in pairs)),
        "by_persona": dict(Counter(p.persona or "-" for p in pairs).most_common()),
        "by_model": dict(Counter(p.model or "-" for p in pairs).most_common()),
    }


def add_user_feedback(
    loaded: App,
    verdict: str,
    note: str = "",
    *,
    persona: str,
    model: str,
    task: str,
    output: str = "",
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    results: Sequence[str] = (),
    correction: str = "",
) -> Pair:
    """Store the user's verdict on the last answer: `good` keeps it as an example to follow;
    `bad` keeps it as one to avoid, with the note and, if given, the corrected answer."""
    if verdict not in ("good", "bad"):
        raise UsageError(f"feedback is 'good' or 'bad', not {verdict!r}")
    step = Step(
        text=clip(output, TEXT_CHARS),
        calls=[Call.of(name, arguments) for name, arguments in calls],
        results=[clip(r, RESULT_CHARS) for r in results],
    )
    if step.is_empty() and not note.strip():
        raise UsageError("nothing to record: no answer yet, and no note given")
    pair = Pair(
        source="user",
        category="user_good" if verdict == "good" else "user_bad",
        persona=persona,
        model=model,
        project=Path(loaded.root).name,
        project_id=project_id(loaded.root),
        verified=True,  # the user judged it: the one verdict better than a passing check
        task=clip(task.strip(), TASK_CHARS),
        bad=step if verdict == "bad" else Step(),
        good=step if verdict == "good" else Step(text=clip(correction, TEXT_CHARS)),
        note=note.strip(),
    )
    return open_store(loaded).append([pair])[0]


def feedback_on_last_turn(
    loaded: App,
    verdict: str,
    note: str = "",
    *,
    persona: str,
    model: str,
    messages: Sequence[Any],
    correction: str = "",
) -> Pair:
    """`/feedback good|bad [note]` in the REPL: judge the answer to the last user message of
    `messages` (backend Messages): its final text, the tool calls and their results."""
    from code_assistant.agent.loop import CORRECTIVE

    asked = [
        i for i, m in enumerate(messages) if m.role == "user" and m.content != CORRECTIVE
    ]
    if not asked:
        raise UsageError("nothing to give feedback on yet: ask something first")
    calls: list[tuple[str, dict[str, Any]]] = []
    results: list[str] = []
    output = ""
    for message in messages[asked[-1] + 1 :]:
        if message.role == "assistant":
            output = message.content or output
            calls += [(c.name, c.arguments) for c in message.tool_calls]
        elif message.role == "tool":
            results.append(message.content)
    return add_user_feedback(
        loaded, verdict, note, persona=persona, model=model, task=messages[asked[-1]].content,
        output=output, calls=calls, results=results, correction=correction,
    )
