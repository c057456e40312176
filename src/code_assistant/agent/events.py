"""Events the agent loop emits, and the counters of each recovery it had to make."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from code_assistant.backends.base import Message, Usage

EventKind = Literal[
    "token", "model_call", "tool_call", "tool_result", "retry", "warning", "done"
]


@dataclass
class Event:
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **self.data}


OnEvent = Callable[[Event], None]


@dataclass
class Recoveries:
    """How often the loop had to rescue a small model, by strategy."""

    text_tool_calls: int = 0  # calls parsed out of message text
    explain_reprompts: int = 0  # code shown instead of a call: corrective re-prompt
    constrained_retries: int = 0  # retry with the output constrained to a tool call
    tool_errors: int = 0  # a tool refused (bad path, no match, bad args): message back
    failed_commands: int = 0  # run_shell exited non-zero: its output tail went back
    gave_up: int = 0  # no action after every strategy

    def total(self) -> int:
        return sum(asdict(self).values())

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Transcript:
    """What one agent run did: its messages, cost, recoveries and why it stopped."""

    messages: list[Message]
    final_text: str = ""
    stop_reason: Literal["done", "max_steps", "no_action", "stuck", "unverified"] = "done"
    model_calls: int = 0
    tool_calls: int = 0
    usage: Usage = field(default_factory=Usage)
    recoveries: Recoveries = field(default_factory=Recoveries)
    seconds: float = 0.0
    stuck_call: str = ""  # the call repeated without progress that stopped the run
    stuck_warnings: int = 0  # corrective notes added to repeated calls
    check_command: str = ""  # the check run before "done" (task mode), if any
    checks: int = 0  # times ca ran that check itself (not counted in tool_calls)
    verified: bool | None = None  # whether that check passed; None: nothing was checked

    def summary(self) -> dict[str, Any]:
        return {
            "stop_reason": self.stop_reason,
            "final_text": self.final_text,
            "model_calls": self.model_calls,
            "tool_calls": self.tool_calls,
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "recoveries": self.recoveries.to_dict(),
            "seconds": round(self.seconds, 3),
            "stuck_call": self.stuck_call,
            "stuck_warnings": self.stuck_warnings,
            "check_command": self.check_command,
            "checks": self.checks,
            "verified": self.verified,
        }
