"""MCP client: tools of Model Context Protocol servers, offered next to the built-in tools.

Named `mcp_client`, not `mcp`, so it never shadows the official `mcp` SDK it uses. Nothing
here imports the SDK at module level: `ca --version` stays fast, and the SDK is imported on
the background loop when the first server connects.
"""

from __future__ import annotations

from code_assistant.mcp_client.hooks import (
    add_mcp_tools,
    manager_for,
    mcp_tools,
    report_failures,
    status_lines,
)
from code_assistant.mcp_client.manager import McpManager, ServerStatus
from code_assistant.mcp_client.tools import render_result, tool_name

__all__ = [
    "McpManager",
    "ServerStatus",
    "add_mcp_tools",
    "manager_for",
    "mcp_tools",
    "render_result",
    "report_failures",
    "status_lines",
    "tool_name",
]
