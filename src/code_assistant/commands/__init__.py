"""Command groups of the `ca` CLI; each module has `register(app)` and imports lazily."""

from __future__ import annotations

# Modules listed here are imported at CLI start-up: keep their top level to typer + stdlib.
COMMAND_MODULES = (
    "code_assistant.commands.core",
    "code_assistant.commands.index",
    "code_assistant.commands.agent",
    "code_assistant.commands.mcp",
    "code_assistant.commands.pipeline",
    "code_assistant.commands.bench",
    "code_assistant.commands.feedback",
    "code_assistant.commands.session",
    "code_assistant.commands.models",
)
