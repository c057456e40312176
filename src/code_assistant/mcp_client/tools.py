"""MCP tools as our `Tool`s: `SERVER__tool` names, cleaned schemas, results as bounded text."""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from code_assistant.errors import ToolError
from code_assistant.mcp_client.connection import safe_name
from code_assistant.tools.output import DEFAULT_MAX_LINES, keep_head_tail
from code_assistant.tools.registry import Tool, ToolContext

SEPARATOR = "__"
MAX_NAME = 64  # OpenAI-style function names: ^[a-zA-Z0-9_-]{1,64}$
MAX_DESCRIPTION = 1000  # some servers ship pages of prose per tool; small contexts pay for it
SUMMARY_CHARS = 300

# (server, MCP tool name, arguments) -> CallToolResult; raises ToolError
CallFn = Callable[[str, str, dict[str, Any]], Any]


def tool_name(server: str, tool: str) -> str:
    """`server__tool`, reduced to allowed characters and cut to 64 with a stable hash."""
    name = f"{safe_name(server)}{SEPARATOR}{safe_name(tool)}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether a tool name matches one of the globs (`read_*`, `*`) of an allow/deny list."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def parameters_of(schema: Any) -> dict[str, Any]:
    """The tool's input schema in the shape the registry checks: object, properties, required."""
    schema = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        properties = {}
    for prop in properties.values():
        if isinstance(prop, dict):
            prop.pop("title", None)  # pydantic noise ("title": "A") costs tokens, tells nothing
    required = schema.get("required")
    if not isinstance(required, list):
        required = []
    required = [r for r in required if isinstance(r, str) and r in properties]
    schema.pop("title", None)
    schema.update(type="object", properties=properties, required=required)
    return schema


def description_of(server: str, mcp_tool: Any) -> str:
    text = (mcp_tool.description or getattr(mcp_tool, "title", None) or mcp_tool.name).strip()
    if len(text) > MAX_DESCRIPTION:
        text = text[:MAX_DESCRIPTION].rstrip() + " ..."
    return f"{text}\n(MCP server '{server}')"


def make_tool(
    server: str, mcp_tool: Any, call: CallFn, *, name: str, needs_approval: bool
) -> Tool:
    """A Tool that asks for approval (unless allow-listed), calls the server, returns text."""
    remote = mcp_tool.name

    def run(ctx: ToolContext, **arguments: Any) -> str:
        # Small models send null for optional arguments; servers often reject null.
        arguments = {k: v for k, v in arguments.items() if v is not None}
        if needs_approval:
            ctx.approve(name, _summary(arguments))
        result = call(server, remote, arguments)
        max_lines = getattr(ctx.config, "tool_output_lines", DEFAULT_MAX_LINES)
        text = keep_head_tail(render_result(result), max_lines)
        if getattr(result, "is_error", False):
            raise ToolError(f"{name} failed: {text}")
        return text

    return Tool(
        name=name,
        description=description_of(server, mcp_tool),
        parameters=parameters_of(mcp_tool.input_schema),
        fn=run,
        kind="exec",
    )


def _summary(arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments, ensure_ascii=False, default=str)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 3] + "..."


def render_result(result: Any) -> str:
    """Text blocks as they are; a short note for images, audio, blobs and resource links."""
    parts = [_render_block(block) for block in getattr(result, "content", None) or []]
    parts = [part for part in parts if part]
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, indent=1, default=str))
    return "\n".join(parts) if parts else "(the tool returned no output)"


def _render_block(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(block.data) * 3 // 4  # base64
        return f"[{kind} content: {block.mime_type}, {_size(size)}; not shown]"
    if kind == "resource_link":
        return f"[resource link: {block.name} <{block.uri}>]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource {resource.uri}]\n{text}"
        mime = getattr(resource, "mime_type", None) or "binary"
        size = len(getattr(resource, "blob", "")) * 3 // 4
        return f"[resource {resource.uri}: {mime}, {_size(size)}; not shown]"
    return f"[{kind or 'unknown'} content; not shown]"


def _size(count: int) -> str:
    return f"{count:,} bytes" if count < 10_000 else f"{count / 1024:,.0f} KB"
