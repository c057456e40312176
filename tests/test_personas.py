"""The persona table: every persona's prompt, model setting and tools exist; phase tasks fill."""

from __future__ import annotations

import pytest

from code_assistant.agent.personas import MODEL_KEYS, PERSONAS, task_prompt
from code_assistant.config_model import Config
from code_assistant.pipeline.phases import PHASE_MODEL_KEYS, PHASE_PERSONAS
from code_assistant.pipeline.state import PHASES
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.code import code_tools


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_a_persona_has_a_prompt_a_model_setting_and_real_tools(name: str) -> None:
    persona = PERSONAS[name]
    assert persona.name == name
    assert persona.prompt.strip()
    assert persona.model_key in Config.model_fields
    offered = {t.name for t in [*builtin_tools(), *code_tools()]}
    assert set(persona.tools) <= offered


def test_model_keys_are_every_persona_model_setting_once() -> None:
    assert sorted(MODEL_KEYS) == sorted({p.model_key for p in PERSONAS.values()})
    assert len(MODEL_KEYS) == len(set(MODEL_KEYS))
    assert MODEL_KEYS[:2] == ("architect_model", "implementer_model")


def test_every_phase_has_a_persona_from_the_table() -> None:
    assert list(PHASE_PERSONAS) == list(PHASES)
    assert all(PERSONAS[p.name] is p for p in PHASE_PERSONAS.values())
    assert PHASE_MODEL_KEYS["fix"] == "implementer_model"


def test_a_phase_task_is_its_template_filled_in() -> None:
    text = task_prompt("docs", requirement="# Requirement\nR {x}", files="a.py", tests="`pytest`")
    assert text == (
        "# Requirement\nR {x}\n\nFiles written: a.py.\nTests run with `pytest`.\n"
        "Write or update README.md with usage for this work now."
    )
    with pytest.raises(KeyError):
        task_prompt("docs", requirement="R")
