"""Command groups of the `ca` CLI; each module has `register(app)` and imports lazily."""

from __future__ import annotations

from typing import Annotated

import typer

# The one --json option of every command: JSON lines on stdout, the contract of docs/json.md.
JsonOut = Annotated[
    bool,
    typer.Option("--json", help="JSON lines, the last a result or an error (docs/json.md)."),
]

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
