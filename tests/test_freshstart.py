"""When a one-shot task starts over, and how the two attempts add up."""

from __future__ import annotations

import pytest

from code_assistant.agent.events import Recoveries, Transcript
from code_assistant.agent.freshstart import combined, restart_note, should_restart, stuck_calls
from code_assistant.backends.base import Message, ToolCall, Usage


@pytest.mark.parametrize(("reason", "calls", "done", "allowed", "expected"), [
    ("stuck", 5, 0, 1, True),
    ("unverified", 5, 0, 1, True),
    ("done", 5, 0, 1, False),
    ("max_steps", 30, 0, 1, False),
    ("no_action", 2, 0, 1, False),
    ("stuck", 5, 1, 1, False),  # the one fresh start was made
    ("stuck", 5, 0, 0, False),  # task_restarts = 0
    ("stuck", 27, 0, 1, False),  # too few steps left to be worth it
])
def test_only_a_stuck_or_failing_task_with_steps_left_starts_over(
    reason: str, calls: int, done: int, allowed: int, expected: bool
) -> None:
    transcript = Transcript(messages=[], stop_reason=reason, model_calls=calls)  # type: ignore[arg-type]
    assert should_restart(transcript, 30, done, allowed) is expected


def test_the_stuck_call_is_found_and_both_attempts_are_counted() -> None:
    bad = ToolCall("edit_file", {"path": "a.py", "old": "x", "new": "y"}, id="c2")
    first = Transcript(
        messages=[Message("user", "task"),
                  Message("assistant", "", tool_calls=[ToolCall("read_file", {}, id="c1"), bad]),
                  Message("tool", "1 | x", tool_call_id="c1"),
                  Message("tool", "not run: stopped: the model repeated ...", tool_call_id="c2")],
        stop_reason="stuck", model_calls=4, tool_calls=5, usage=Usage(100, 10),
        recoveries=Recoveries(tool_errors=2), stuck_call="edit_file a.py", checks=1,
    )
    assert stuck_calls(first) == [bad]
    assert "repeated the same call (edit_file a.py)" in restart_note(first)
    second = Transcript(messages=[Message("user", "again")], model_calls=2, tool_calls=1,
                        usage=Usage(50, 5), recoveries=Recoveries(tool_errors=1))
    both = combined(first, second)
    assert (both.stop_reason, both.model_calls, both.tool_calls) == ("done", 6, 6)
    assert (both.checks, both.usage.prompt_tokens, both.recoveries.tool_errors) == (1, 150, 3)
    assert len(both.messages) == 5
    assert (second.model_calls, len(second.messages)) == (2, 1)  # the attempts stay as they were
    failing = Transcript(messages=[], stop_reason="unverified", check_command="pytest -q")
    assert "ended with the task's check (`pytest -q`) still failing" in restart_note(failing)
