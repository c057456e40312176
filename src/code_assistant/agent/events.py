"""Events the agent loop emits, and the counters of each recovery it had to make."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeAlias

from code_assistant.backends.base import Message, Usage

EventKind = Literal[
    "token", "model_call", "tool_call", "tool_result", "retry", "warning", "done"
]
StopReason = Literal["done", "max_steps", "no_action", "stuck", "unverified"]


@dataclass(frozen=True)
class _EventBase:
    kind: ClassVar[EventKind]

    def to_dict(self) -> dict[str, Any]:
        """The event's `--json` line (docs/json.md): {"event": kind, field: value, ...}.
        Shallow: values go out as they are (a call's arguments, the recoveries)."""
        return {"event": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class TokenEvent(_EventBase):
    """Streamed text of the model's reply."""

    kind: ClassVar[EventKind] = "token"
    text: str


@dataclass(frozen=True)
class ModelCallEvent(_EventBase):
    """A model call is about to start; `step` counts the run's calls from 1."""

    kind: ClassVar[EventKind] = "model_call"
    model: str
    step: int


@dataclass(frozen=True)
class ToolCallEvent(_EventBase):
    """A tool call is about to run (the model's, or ca's own check run)."""

    kind: ClassVar[EventKind] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolResultEvent(_EventBase):
    """What a tool call gave back: `ok` False for a ToolError (refused, bad arguments);
    `failed` also for a call that ran and failed (a command's non-zero exit)."""

    kind: ClassVar[EventKind] = "tool_result"
    id: str
    name: str
    ok: bool
    failed: bool
    output: str
    seconds: float


@dataclass(frozen=True)
class RetryEvent(_EventBase):
    """The loop is recovering from a small model's mistake with this strategy."""

    kind: ClassVar[EventKind] = "retry"
    strategy: str


@dataclass(frozen=True)
class WarningEvent(_EventBase):
    kind: ClassVar[EventKind] = "warning"
    message: str


@dataclass(frozen=True)
class DoneEvent(_EventBase):
    """The run ended: the fields of Transcript.summary(), in its order."""

    kind: ClassVar[EventKind] = "done"
    stop_reason: StopReason
    final_text: str
    model_calls: int
    tool_calls: int
    prompt_tokens: int
    completion_tokens: int
    recoveries: dict[str, int]
    seconds: float
    stuck_call: str
    stuck_warnings: int
    check_command: str
    checks: int
    verified: bool | None

    @classmethod
    def of(cls, transcript: Transcript) -> DoneEvent:
        return cls(**transcript.summary())


Event: TypeAlias = (
    TokenEvent | ModelCallEvent | ToolCallEvent | ToolResultEvent | RetryEvent | WarningEvent
    | DoneEvent
)
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
    stop_reason: StopReason = "done"
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
