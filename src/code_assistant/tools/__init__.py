"""Tools: typed functions the model can call, with schemas derived from their signatures."""

from __future__ import annotations

from code_assistant.tools.registry import Tool, ToolContext, ToolRegistry, tool

__all__ = ["Tool", "ToolContext", "ToolRegistry", "tool"]
