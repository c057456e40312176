"""Mistake -> correction pairs: what the model did wrong, what worked, and their context."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Recovery categories are the agent's `Recoveries` counters, so the two can be compared.
RECOVERY_CATEGORIES = (
    "text_tool_calls",
    "explain_reprompts",
    "constrained_retries",
    "tool_errors",
    "failed_commands",
)
USER_CATEGORIES = ("user_good", "user_bad")
CATEGORIES = (*RECOVERY_CATEGORIES, *USER_CATEGORIES)
Category = Literal[
    "text_tool_calls",
    "explain_reprompts",
    "constrained_retries",
    "tool_errors",
    "failed_commands",
    "user_good",
    "user_bad",
]

TASK_CHARS = 600
TEXT_CHARS = 4000
RESULT_CHARS = 2000
ARGUMENT_CHARS = 8000


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, keeping head and tail (errors are at the end)."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head - 20
    return f"{text[:head]}\n[... cut ...]\n{text[-tail:]}" if tail > 0 else text[:limit]


def _clip_value(value: Any) -> Any:
    if isinstance(value, str):
        return clip(value, ARGUMENT_CHARS)
    if isinstance(value, dict):
        return {key: _clip_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clip_value(item) for item in value]
    return value


class Call(BaseModel):
    """One tool call: the tool's name and its arguments."""

    model_config = ConfigDict(extra="ignore")

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, name: str, arguments: Any) -> Call:
        arguments = arguments if isinstance(arguments, dict) else {"value": arguments}
        return cls(name=name, arguments=_clip_value(arguments))

    def signature(self) -> str:
        return f"{self.name}({json.dumps(self.arguments, ensure_ascii=False, sort_keys=True)})"


class Step(BaseModel):
    """What the model produced in one attempt: text, tool calls, and each call's result."""

    model_config = ConfigDict(extra="ignore")

    text: str = ""
    calls: list[Call] = Field(default_factory=list)
    results: list[str] = Field(default_factory=list)  # results[i] answers calls[i]

    def is_empty(self) -> bool:
        return not self.text.strip() and not self.calls


def project_id(root: str | Path) -> str:
    """A stable id of the project at `root` that does not reveal its path."""
    resolved = str(Path(root).expanduser().resolve())
    return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:16]


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Pair(BaseModel):
    """One lesson: the bad output, the good output, and where it happened."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=new_id)
    created: float = Field(default_factory=time.time)
    source: Literal["recovery", "user"] = "recovery"
    category: Category
    persona: str = ""
    model: str = ""
    project: str = ""  # the project directory's name, for context (never its path)
    # Which project taught it: lessons are shown only there (a hash, so no path is stored).
    project_id: str = ""
    # Shown as a lesson only when verified: a check passed after the change, the command
    # that failed passed after the fix, or the user judged it. Older pairs lack it: never shown.
    verified: bool = False
    # A call in it was parsed from the model's text: right or wrong, never a lesson.
    recovered: bool = False
    tools: list[str] = Field(default_factory=list)  # tools the persona was offered
    task: str = ""
    bad: Step = Field(default_factory=Step)
    good: Step = Field(default_factory=Step)
    note: str = ""

    def fingerprint(self) -> str:
        """Equal for pairs teaching the same lesson (ids, times and results aside)."""
        key = {
            "category": self.category,
            "persona": self.persona,
            "bad": [self.bad.text.strip(), [c.signature() for c in self.bad.calls]],
            "good": [self.good.text.strip(), [c.signature() for c in self.good.calls]],
            "note": self.note.strip(),
        }
        data = json.dumps(key, ensure_ascii=False, sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()[:16]

    def summary(self) -> str:
        """One line for listings: the failed call or text, then what worked."""
        bad = _step_line(self.bad) or "-"
        good = _step_line(self.good) or self.note or "-"
        return f"{bad}  ->  {good}"


def _step_line(step: Step) -> str:
    if step.calls:
        return "; ".join(c.name for c in step.calls)
    return " ".join(step.text.split())[:60]
