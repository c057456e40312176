"""A task that got stuck, or ended with its check failing, starts over once with fresh context.

After a few rounds a small model mostly copies its own earlier replies: the wrong class it
wrote, the edit it already made, the test file it was told not to touch. Started again from
the task, with the files as they now are and one line on how the first attempt ended, it has
a fair second chance at the same cost as a few more rounds of the first. The call that got
the first attempt stuck is not run again (Verifier.tried).
"""

from __future__ import annotations

from dataclasses import fields, replace

from code_assistant.agent.events import Recoveries, Transcript
from code_assistant.backends.base import ToolCall

RETRYABLE = ("stuck", "unverified")
MIN_STEPS = 4  # model calls left for a fresh start to be worth it
# At the configured 0.2 a 1.5B model given the same task again sends the very call that got it
# stuck (s25a: fix-failing-test, diagnose-crash), which the loop then refuses.
RESTART_TEMPERATURE = 0.7


def restart_temperature(configured: float) -> float:
    """The fresh start samples hotter than the first attempt, never cooler."""
    return max(configured, RESTART_TEMPERATURE)


def should_restart(transcript: Transcript, max_steps: int, done: int, allowed: int) -> bool:
    """Whether the task gets a fresh start: it ended stuck or failing, with steps to spare,
    and fewer than `allowed` (config task_restarts) were made."""
    return (
        done < allowed
        and transcript.stop_reason in RETRYABLE
        and max_steps - transcript.model_calls >= MIN_STEPS
    )


def stuck_calls(transcript: Transcript) -> list[ToolCall]:
    """The calls the loop refused as repeated without progress ("not run: stopped ...")."""
    stopped = {
        m.tool_call_id for m in transcript.messages
        if m.role == "tool" and m.content.startswith("not run: stopped")
    }
    return [
        call for m in transcript.messages if m.role == "assistant"
        for call in m.tool_calls or [] if call.id in stopped
    ]


def restart_note(transcript: Transcript) -> str:
    """One line on how the first attempt ended, for the fresh start's first message."""
    if transcript.stop_reason == "stuck":
        how = (f"repeated the same call ({transcript.stuck_call}) without progress"
               if transcript.stuck_call else "repeated itself without progress")
    else:
        command = f" (`{transcript.check_command}`)" if transcript.check_command else ""
        how = f"ended with the task's check{command} still failing"
    return (
        f"[ca: a first attempt at this task {how} and was stopped. The files above show "
        "what they hold now, its changes included. Start again from the task: work out what "
        "is still wrong, and take a different approach from the one that failed.]"
    )


def combined(first: Transcript, second: Transcript) -> Transcript:
    """One transcript for the whole task: the second attempt's outcome, both attempts' cost."""
    recoveries = Recoveries(**{
        f.name: getattr(first.recoveries, f.name) + getattr(second.recoveries, f.name)
        for f in fields(Recoveries)
    })
    return replace(
        second,
        messages=first.messages + second.messages,
        model_calls=first.model_calls + second.model_calls,
        tool_calls=first.tool_calls + second.tool_calls,
        usage=first.usage + second.usage,
        recoveries=recoveries,
        stuck_warnings=first.stuck_warnings + second.stuck_warnings,
        checks=first.checks + second.checks,
    )
