"""Personas, one table: each a name, the config key of its model, a system prompt (package data)
and the tools it is offered. Every mode (task, REPL, pipeline) takes its personas from here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from code_assistant.config import Config


@cache
def load_prompt(name: str) -> str:
    """The text of agent/prompts/<name>.md."""
    return resources.files("code_assistant.agent").joinpath(f"prompts/{name}.md").read_text(
        encoding="utf-8"
    )


def task_prompt(name: str, **fields: object) -> str:
    """A pipeline phase's task for its persona: agent/prompts/task_<name>.md with `fields`
    filled in (the template's own text is the only text parsed for {placeholders})."""
    return load_prompt(f"task_{name}").removesuffix("\n").format(**fields)


@dataclass(frozen=True)
class Persona:
    name: str
    model_key: str  # a Config field naming the model, e.g. "implementer_model"
    prompt_name: str  # agent/prompts/<prompt_name>.md
    tools: tuple[str, ...] = ()  # tool names offered; empty: no tools

    @property
    def prompt(self) -> str:
        return load_prompt(self.prompt_name)

    def model(self, config: Config) -> str:
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
DOCS_TOOLS = ("read_file", "write_file", "edit_file", "list_dir", "glob_files")

PERSONAS: dict[str, Persona] = {
    persona.name: persona
    for persona in (
        Persona("architect", "architect_model", "architect"),
        Persona("quick", "architect_model", "quick"),
        Persona("conversational", "architect_model", "conversational"),
        Persona("planner", "architect_model", "plan"),
        Persona("implementer", "implementer_model", "implementer", IMPLEMENTER_TOOLS),
        Persona("fixer", "implementer_model", "fixer", IMPLEMENTER_TOOLS),
        Persona("reviewer", "reviewer_model", "reviewer"),
        Persona("tester", "tester_model", "tester", IMPLEMENTER_TOOLS),
        Persona("docs", "docs_model", "docs", DOCS_TOOLS),
    )
}
ARCHITECT = PERSONAS["architect"]
QUICK = PERSONAS["quick"]
CONVERSATIONAL = PERSONAS["conversational"]
PLANNER = PERSONAS["planner"]
IMPLEMENTER = PERSONAS["implementer"]
FIXER = PERSONAS["fixer"]
REVIEWER = PERSONAS["reviewer"]
TESTER = PERSONAS["tester"]
DOCS = PERSONAS["docs"]
# Every config key that names a persona's model, each once (`--model` sets them all).
MODEL_KEYS: tuple[str, ...] = tuple(dict.fromkeys(p.model_key for p in PERSONAS.values()))
