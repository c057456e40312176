"""Stuck detection: the same call repeated without progress gets a corrective note, then a stop.

Small models repeat themselves: the same failing edit 25 times, a write of content the file
already holds, one successful edit re-applied until the file holds it ten times over, or a
short cycle (read_file, the same failing edit, read_file, ...). A call is "the same" when its
name and arguments are equal; calls in between do not hide a repetition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from code_assistant.backends.base import ToolCall

WARN_AT = 2  # the second unproductive repetition gets a corrective note
STOP_AT = 3  # the third is not run: the task stops as stuck


def signature(call: ToolCall) -> str:
    """Name and arguments, canonical: key order and whitespace in the JSON do not matter."""
    try:
        args = json.dumps(call.arguments, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        args = repr(call.arguments)
    return f"{call.name} {args}"


def describe(call: ToolCall) -> str:
    """A short human form of a call for notes and the summary: `edit_file stats.py`."""
    args = call.arguments if isinstance(call.arguments, dict) else {}
    target = args.get("path") or args.get("command") or args.get("pattern") or args.get("name")
    shown = str(target).splitlines()[0][:80] if target else ""
    return f"{call.name} {shown}".strip()


@dataclass
class _Seen:
    count: int = 0  # unproductive occurrences so far
    changes_at: int = 0  # how many file changes the run had made at the last occurrence
    is_change: bool = False  # a write tool: judged by the change it makes, not by failing
    failed: bool = False  # how its last run ended
    failures_at: int = 0  # how many calls of the run had failed at the last occurrence
    made: bool = False  # a write call whose change is in the file (made, or already there)


@dataclass
class StuckDetector:
    """Counts unproductive repetitions of each call during one agent run."""

    seen: dict[str, _Seen] = field(default_factory=dict)
    failures: int = 0  # calls of this run that failed so far

    def should_stop(self, call: ToolCall, changes: int) -> bool:
        """Whether running `call` again is pointless: it already reached WARN_AT and nothing
        changed since (or it is a change that was already made twice)."""
        entry = self.seen.get(signature(call))
        if entry is None or entry.count < STOP_AT - 1:
            return False
        if entry.is_change:
            return True
        # A failing call or a look again: pointless only if nothing changed since (and, for
        # a look, no call failed since either).
        return entry.changes_at == changes and (
            entry.failed or entry.failures_at == self.failures)

    def repeats_a_success(self, call: ToolCall) -> bool:
        """The call last succeeded: the model re-runs or re-reads what already worked (1.5B
        ran `python stats.py` again and again after adding the function it was asked for)."""
        entry = self.seen.get(signature(call))
        return entry is not None and (not entry.failed or entry.made)

    def record(
        self, call: ToolCall, *, failed: bool, changed: bool, is_change: bool, changes: int,
        made: bool = False,
    ) -> str:
        """Count one finished call; return the corrective note to add to its result, or "".
        `made`: refused because the file already holds its change (AlreadyMade)."""
        key = signature(call)
        entry = self.seen.setdefault(key, _Seen(changes_at=changes, is_change=is_change))
        unchanged = entry.changes_at == changes
        if is_change:
            entry.count += 1  # a change made again, or one that changes nothing
        elif failed:
            # A command that failed again after the project changed is a new attempt.
            entry.count = entry.count + 1 if unchanged else 1
        else:
            # Looking again (read, list, run) is fine after a change or a failed call (the
            # model re-reads to copy the exact text). The same look with nothing at all
            # happening since is not, even with other looks in between: 1.5B sent
            # run_shell + read_file of the same lines, unchanged, until the timeout.
            quiet = unchanged and entry.failures_at == self.failures
            entry.count = entry.count + 1 if quiet and entry.count else 1
        self.failures += failed
        entry.changes_at = changes
        entry.failed = failed
        entry.made = entry.made or (is_change and (changed or made))
        entry.failures_at = self.failures
        if entry.count < WARN_AT:
            return ""
        if made:  # the change is there: say so, not how to copy old
            failed = changed = False
        return corrective(call, failed=failed, changed=changed, is_change=is_change)


def corrective(call: ToolCall, *, failed: bool, changed: bool, is_change: bool = True) -> str:
    """What to do instead, written for a small model that takes it literally."""
    args = call.arguments if isinstance(call.arguments, dict) else {}
    path = str(args.get("path", "")) or "the file"
    if call.name == "edit_file" and args.get("old") == args.get("new"):
        failed, changed = False, False  # a no-op edit: the text is already what it asks for
    if failed and call.name == "edit_file":
        advice = (
            f"Call read_file on {path} now and copy `old` exactly from what it shows, "
            "or change something else."
        )
    elif failed and call.name == "write_file":
        advice = f"Do what the error above says: call read_file on {path} or use edit_file."
    elif failed and call.name == "run_shell":
        advice = (
            "Read the error above, change the code or the command, and only then run it again."
        )
    elif failed:
        advice = "Try another approach: different arguments or a different tool."
    elif not is_change:
        advice = (
            "Its result is above and nothing changed since. Use it: go on with the next "
            "step, or answer with a short summary if the task is done."
        )
    elif changed:
        advice = (
            f"You already made this exact change to {path} before. Do not make it again. "
            "Read the file if you are unsure what it holds, then go on with the next step, "
            "or answer with a short summary if the task is done."
        )
    else:
        advice = (
            f"{path} already holds this change. Do not repeat it. Go on with the next step, "
            "or answer with a short summary if the task is done."
        )
    return (
        f"[ca: you made this same call {WARN_AT} times with no progress. {advice} "
        f"A third identical call stops the task.]"
    )


def stop_note(call: ToolCall) -> str:
    return (
        f"stopped: the model repeated the same call ({describe(call)}) {STOP_AT} times "
        "without progress"
    )
