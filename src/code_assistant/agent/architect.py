"""The architect's jobs: classify a message's intent, and plan a requirement for the pipeline."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from code_assistant.agent.personas import load_prompt
from code_assistant.agent.structured import structured_chat
from code_assistant.backends.base import Backend, ChatOptions, ChatResult, Message

Intent = Literal["conversational", "implementation", "complex"]


class IntentReply(BaseModel):
    intent: Intent
    reason: str = ""


def classify_intent(
    backend: Backend,
    model: str,
    message: str,
    options: ChatOptions,
    calls: list[ChatResult] | None = None,
) -> IntentReply:
    """Ask the architect model which way a message should go (constrained JSON, one repair)."""
    messages = [Message("system", load_prompt("classify")), Message("user", message[:4000])]
    return structured_chat(backend, model, messages, IntentReply, options, calls=calls)


class PlannedFile(BaseModel):
    """A file the plan creates or changes, relative to the project root."""

    path: str
    purpose: str = ""

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_plan_path(value)


# Bounds written into the schema only (a grammar or `format` enforces them; validation does
# not): constrained to an unbounded array, a real Qwen2.5-Coder-0.5B wrote `"  "` steps until
# max_tokens cut the JSON. A plan that needs more is a requirement to split.
_ITEMS: dict[str, Any] = {"type": "string", "minLength": 3, "maxLength": 300}


def _bounded(items: int) -> Any:
    extra: dict[str, Any] = {"minItems": 1, "maxItems": items, "items": _ITEMS}
    return Field(default_factory=list, json_schema_extra=extra)


def _require_the_plan(schema: dict[str, Any]) -> None:
    # Optional in Python (a conversational plan needs no steps), required in the schema: a
    # grammar otherwise lets a small model skip straight to the end of the object.
    schema["required"] = ["intent", "summary", "files", "steps", "acceptance_criteria"]


class Plan(BaseModel):
    """The architect's plan: intent, files, steps and the criteria the tester checks."""

    model_config = ConfigDict(json_schema_extra=_require_the_plan)

    intent: Intent
    summary: str = Field(json_schema_extra={"maxLength": 800})
    files: list[PlannedFile] = Field(default_factory=list, json_schema_extra={"maxItems": 12})
    steps: list[str] = _bounded(10)
    acceptance_criteria: list[str] = _bounded(10)
    answer: str = ""  # the reply itself when the requirement is only a question

    @field_validator("files", mode="before")
    @classmethod
    def _files_as_strings(cls, value: object) -> object:
        # Small models often send ["calc.py"] instead of [{"path": "calc.py"}].
        if isinstance(value, list):
            return [{"path": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _work_needs_steps(self) -> Plan:
        if self.intent != "conversational" and not (self.steps and self.acceptance_criteria):
            raise ValueError("a plan for work needs non-empty steps and acceptance_criteria")
        return self

    def to_markdown(self) -> str:
        """The plan as the implementer, tester and docs writer read it."""
        lines = [f"## Plan\n{self.summary}"]
        if self.files:
            lines.append("### Files")
            lines += [f"- {f.path}" + (f": {f.purpose}" if f.purpose else "") for f in self.files]
        if self.steps:
            lines.append("### Steps")
            lines += [f"{n}. {step}" for n, step in enumerate(self.steps, 1)]
        if self.acceptance_criteria:
            lines.append("### Acceptance criteria")
            lines += [f"- {item}" for item in self.acceptance_criteria]
        return "\n".join(lines)


def check_plan_path(value: str) -> str:
    """A planned path as a clean relative POSIX path; absolute or escaping paths are refused."""
    path = value.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValueError(f"file path {value!r} must be relative to the project root")
    if ".." in parts:
        raise ValueError(f"file path {value!r} must stay inside the project (no '..')")
    if any("\0" in p for p in parts):
        raise ValueError("file path contains a NUL byte")
    return "/".join(parts)


def make_plan(
    backend: Backend,
    model: str,
    requirement: str,
    project_files: list[str],
    options: ChatOptions,
    calls: list[ChatResult] | None = None,
) -> Plan:
    """Classify the requirement and plan it in one constrained call (one repair retry)."""
    listing = "\n".join(project_files) if project_files else "(the project is empty)"
    messages = [
        Message("system", load_prompt("architect")),
        Message("user", f"# Requirement\n{requirement}\n\n# Files in the project\n{listing}"),
    ]
    return structured_chat(backend, model, messages, Plan, options, calls=calls)
