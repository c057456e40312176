"""What every mode builds before talking to a model: tools, tool context, prompts, options."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import TYPE_CHECKING

from code_assistant.agent.personas import Persona
from code_assistant.app import App
from code_assistant.backends.base import Backend, ChatOptions
from code_assistant.tools.approval import Approver, AskFn
from code_assistant.tools.registry import Tool, ToolContext, ToolRegistry

if TYPE_CHECKING:
    from code_assistant.agent.events import OnEvent
    from code_assistant.agent.loop import Agent
    from code_assistant.config import Config


def build_registry(loaded: App, names: Iterable[str] | None = None) -> ToolRegistry:
    """Built-in, code-index and web tools (restricted to `names` when given), then MCP tools."""
    from code_assistant.tools.builtin import builtin_tools
    from code_assistant.tools.code import code_tools
    from code_assistant.tools.web import web_tools

    tools: list[Tool] = [*builtin_tools(), *code_tools(), *web_tools(loaded.config)]
    wanted = set(names) if names is not None else None
    registry = ToolRegistry(t for t in tools if wanted is None or t.name in wanted)
    # MCP tools are the user's own choice: every persona that uses tools gets them.
    if loaded.config.mcp.servers and (wanted is None or wanted):
        from code_assistant.mcp_client import add_mcp_tools

        add_mcp_tools(registry, loaded)
    return registry


def build_context(loaded: App, ask: AskFn | None = None) -> ToolContext:
    config = loaded.config
    approver = Approver(
        policy=config.approval,
        allow_commands=config.allow_commands,
        deny_commands=config.deny_commands,
        ask=ask,
    )
    return ToolContext(root=loaded.root, config=config, approver=approver)


def make_agent(
    loaded: App,
    backend: Backend,
    persona: Persona,
    ctx: ToolContext,
    on_event: OnEvent | None,
    *,
    tools: ToolRegistry | None = None,
    max_steps: int | None = None,
    stream: bool = True,
) -> Agent:
    """The persona's agent as every mode builds it: its model, tools and the config's limits.

    The tools embed search queries with the agent's backend unless `ctx` already has one.
    """
    from code_assistant.agent.loop import Agent

    config = loaded.config
    if ctx.embedder is None:
        ctx.embedder = backend
    return Agent(
        backend=backend,
        model=persona.model(config),
        tools=tools if tools is not None else build_registry(loaded, persona.tools),
        ctx=ctx,
        options=chat_options(config),
        on_event=on_event,
        max_steps=max_steps or config.max_steps,
        constrained_tool_calls=config.constrained_tool_calls,
        stream=stream,
    )


def chat_options(config: Config) -> ChatOptions:
    """One num_ctx per model for the whole run: a changing num_ctx makes Ollama reload."""
    return ChatOptions(
        num_ctx=config.num_ctx, temperature=config.temperature, keep_alive=config.keep_alive,
        max_tokens=config.max_output_tokens,
    )


def system_prompt(
    persona: Persona, loaded: App, *, symbol_map: bool = True, task: str = ""
) -> str:
    """The persona's prompt plus where it works, the project memory, the symbol map and
    lessons from earlier sessions most like `task`."""
    from code_assistant.session.memory import load_project_memory

    parts = [
        persona.prompt.strip(),
        f"Project root (working directory): {loaded.root}\nOS: {platform.system()}",
    ]
    memory = load_project_memory(loaded.root, loaded.config.project_memory)
    if memory:
        parts.append(f"# Project memory\n{memory}")
    if symbol_map and loaded.config.symbol_map_tokens > 0:
        outline = _symbol_map(loaded)
        if outline:
            parts.append(f"# Symbol map of the project\n{outline}")
    if loaded.config.feedback_enabled:
        from code_assistant.feedback.fewshot import examples_block

        parts.append(examples_block(loaded, persona, task))
    return "\n\n".join(part for part in parts if part)


def _symbol_map(loaded: App) -> str:
    from code_assistant.index.build import update_index
    from code_assistant.index.symbol_map import render_symbol_map

    # Cheap when nothing changed (mtime/size checks); without it a fresh project has no map.
    update_index(loaded.root, loaded.config)
    return render_symbol_map(loaded.root, loaded.config.symbol_map_tokens)
