"""Personas: a name, the config key of its model, a system prompt (package data) and tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_prompt(name: str) -> str:
    """The text of agent/prompts/<name>.md."""
    return resources.files("code_assistant.agent").joinpath(f"prompts/{name}.md").read_text(
        encoding="utf-8"
    )


@dataclass(frozen=True)
class Persona:
    name: str
    model_key: str  # a Config field naming the model, e.g. "implementer_model"
    prompt_name: str
    tools: tuple[str, ...] = ()  # tool names offered; empty: no tools
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return load_prompt(self.prompt_name)

    def model(self, config: Any) -> str:
        return str(getattr(config, self.model_key))


IMPLEMENTER_TOOLS = (
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "glob_files",
    "run_shell",
    "find_symbols",
    "search_code",
)

QUICK = Persona("quick", "architect_model", "quick")
IMPLEMENTER = Persona("implementer", "implementer_model", "implementer", IMPLEMENTER_TOOLS)
