"""A Tool from a typed function and its docstring: JSON schema, argument checks, dispatch
to a ToolOutput."""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from code_assistant.backends.base import Embedder, ToolCall, ToolSpec, clean_text
from code_assistant.errors import ToolError

if TYPE_CHECKING:
    from code_assistant.config import Config
    from code_assistant.tools.approval import Approver
    from code_assistant.tools.code import ProjectIndex
    from code_assistant.tools.ssrf import Resolver
    from code_assistant.tools.web_search import SearchClient

# What a tool does to the machine decides whether it needs approval.
ToolKind = Literal["read", "write", "exec", "network"]


@dataclass
class Change:
    """One file a tool changed, with what was there before (None: the file was new)."""

    path: str
    before: bytes | None
    after: bytes | None


@dataclass(frozen=True)
class ToolOutput:
    """What a call gave back: the text for the model, and whether the call ran and failed,
    so the loop decides failure without knowing the tool or reading its text."""

    text: str
    failed: bool = False  # it ran and failed (a command's non-zero exit, a timeout)
    exit_code: int | None = None  # a command's (negative: its signal); None: none, or timed out
    made: bool = False  # refused because the file already holds the change (AlreadyMade)

    @classmethod
    def of(cls, value: str | ToolOutput) -> ToolOutput:
        """A tool's return value as a ToolOutput: plain text is a call that worked."""
        return value if isinstance(value, ToolOutput) else cls(value)


@dataclass
class ToolContext:
    """What tools may touch: the project root, config, the approver and a change log."""

    root: Path
    config: Config | None = None
    approver: Approver | None = None  # None means auto-approve
    changes: list[Change] = field(default_factory=list)
    # The session's backend: search_code embeds queries with it when the index holds that
    # backend's vectors (the bundled static embeddings need none).
    embedder: Embedder | None = None
    # Files the model has read (or written) in this task: only those may be overwritten whole.
    seen_files: set[str] = field(default_factory=set)
    # What the session's tools share between calls: search_code's index handle, the fetched
    # pages, and the seams a test (or a pipeline phase) fills in.
    index: ProjectIndex | None = None
    web_cache: dict[str, str] = field(default_factory=dict)  # URL -> markdown
    web_resolver: Resolver | None = None  # None: the system's DNS
    web_search_client: SearchClient | None = None  # None: the configured provider's own
    ask_architect: Callable[[str], str] | None = None  # set by the pipeline's phases

    def approve(self, tool: str, summary: str, detail: str = "") -> None:
        """Ask for approval of an action; raise ToolError when it is refused."""
        if self.approver is None:
            return
        if not self.approver.approve(tool, summary, detail):
            if self.approver.reason == "deny_commands":
                raise ToolError(
                    f"the user's deny_commands list denied {tool}: {summary!r}. "
                    "Do not retry it in another form; do the task without it or ask the user."
                )
            instruction = self.approver.instruction
            if instruction:
                raise ToolError(
                    f"the user denied {tool}: {summary}, and said what to do instead: "
                    f"{instruction}"
                )
            raise ToolError(
                f"the user denied {tool}: {summary}. Do not retry the same action; "
                "ask the user or choose another approach."
            )


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., str | ToolOutput]
    kind: ToolKind = "read"

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)

    def __call__(self, ctx: ToolContext, *args: Any, **kwargs: Any) -> str | ToolOutput:
        return self.fn(ctx, *args, **kwargs)


_PRIMITIVES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
}


def _schema_for(annotation: Any) -> dict[str, Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _schema_for(members[0])
        return {"anyOf": [_schema_for(a) for a in members]}
    if origin is Literal:
        values = list(get_args(annotation))
        return {"type": _PRIMITIVES.get(type(values[0]), "string"), "enum": values}
    if origin in (list, tuple, typing.Sequence) or annotation is list:
        args = get_args(annotation)
        item = _schema_for(args[0]) if args else {}
        return {"type": "array", "items": item}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if annotation in _PRIMITIVES:
        return {"type": _PRIMITIVES[annotation]}
    return {"type": "string"}


_ARG_LINE = re.compile(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.+)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and per-argument text."""
    description: list[str] = []
    args: dict[str, str] = {}
    section = "description"
    current = ""
    for line in inspect.cleandoc(doc).splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            section = "args"
            continue
        if stripped in ("Returns:", "Raises:", "Example:", "Examples:"):
            section = "other"
            continue
        if section == "description":
            description.append(line)
        elif section == "args":
            match = _ARG_LINE.match("  " + line if not line.startswith("  ") else line)
            if match and not line.startswith("      "):
                current = match.group(1)
                args[current] = match.group(2).strip()
            elif current and stripped:
                args[current] += " " + stripped
    return "\n".join(description).strip(), args


@typing.overload
def tool(fn: Callable[..., str | ToolOutput], *, name: str | None = None,
         kind: ToolKind = "read") -> Tool: ...


@typing.overload
def tool(fn: None = None, *, name: str | None = None,
         kind: ToolKind = "read") -> Callable[[Callable[..., str | ToolOutput]], Tool]: ...


def tool(
    fn: Callable[..., str | ToolOutput] | None = None,
    *,
    name: str | None = None,
    kind: ToolKind = "read",
) -> Tool | Callable[[Callable[..., str | ToolOutput]], Tool]:
    """A Tool from `fn(ctx, ...)`; the first parameter (the ToolContext) is not in the schema."""

    def build(func: Callable[..., str | ToolOutput]) -> Tool:
        hints = typing.get_type_hints(func)
        params = list(inspect.signature(func).parameters.values())[1:]
        description, arg_docs = _parse_docstring(func.__doc__ or "")
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in params:
            schema = _schema_for(hints.get(param.name, str))
            if param.name in arg_docs:
                schema["description"] = arg_docs[param.name]
            if param.default is inspect.Parameter.empty:
                required.append(param.name)
            elif param.default is not None:
                schema["default"] = param.default
            properties[param.name] = schema
        parameters = {"type": "object", "properties": properties, "required": required}
        return Tool(name or func.__name__, description, parameters, func, kind)

    return build(fn) if fn is not None else build


_SCHEMA_WORDS = frozenset({
    "required", "type", "properties", "parameters", "description", "title",
    "additionalProperties", "items", "enum", "default",
})


def _strip_copied_doc(value: Any, item: Tool) -> Any:
    """Cut a paragraph of the tool's own description that a small model pasted after a value.

    Seen on Qwen2.5-Coder-0.5B: write_file content "print('hello world')\n\nTo change an
    existing file use edit_file: it keeps the rest of the file." Only a whole trailing paragraph
    that is word for word in the description is cut, so real content is never touched.
    """
    if not isinstance(value, str) or "\n\n" not in value:
        return value
    head, _, tail = value.rstrip().rpartition("\n\n")
    tail = tail.strip()
    if len(tail) >= 20 and tail in item.description and head.strip():
        return head.rstrip("\n") + "\n"
    return value


def _coerce(value: Any, schema: dict[str, Any], arg: str) -> Any:
    """Accept what small models send for simple types ("5" for 5, "true" for True)."""
    kind = schema.get("type")
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _coerce(value, option, arg)
            except ToolError:
                continue
        raise ToolError(f"argument {arg!r} has the wrong type: {type(value).__name__}")
    if value is None:
        return None
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ToolError(f"argument {arg!r} must be a string, got {type(value).__name__}")
    if kind in ("integer", "number"):
        if isinstance(value, bool):
            raise ToolError(f"argument {arg!r} must be a number, got a boolean")
        if isinstance(value, str):
            try:
                number: float = int(value.strip()) if kind == "integer" else float(value)
            except ValueError:
                try:
                    number = float(value.strip())
                except ValueError:
                    raise ToolError(f"argument {arg!r} must be a number, got {value!r}") from None
        elif isinstance(value, (int, float)):
            number = value
        else:
            raise ToolError(f"argument {arg!r} must be a number, got {type(value).__name__}")
        if isinstance(number, float) and not math.isfinite(number):
            raise ToolError(f"argument {arg!r} must be a finite number, got {value!r}")
        if kind == "integer" and isinstance(number, float):
            if not number.is_integer():
                raise ToolError(f"argument {arg!r} must be a whole number, got {value!r}")
            number = int(number)
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ToolError(f"argument {arg!r} must be true or false, got {value!r}")
    if kind == "array" and not isinstance(value, list):
        raise ToolError(f"argument {arg!r} must be a list, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise ToolError(f"argument {arg!r} must be one of {schema['enum']}, got {value!r}")
    return value


class ToolRegistry:
    """The tools offered to the model, looked up by name and called with checked arguments."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        # Names kept from the model on purpose (an MCP deny list), with what to tell it.
        self.refused: dict[str, str] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool) -> None:
        self._tools[item.name] = item

    def remove(self, name: str) -> None:
        self._tools.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> typing.Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    @property
    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self._tools.values()]

    def check_arguments(self, item: Tool, arguments: Any) -> dict[str, Any]:
        """Validate and coerce arguments against the tool's schema, or raise ToolError."""
        if not isinstance(arguments, dict):
            raise ToolError(
                f"arguments for {item.name} must be a JSON object, got {type(arguments).__name__}"
            )
        props = item.parameters["properties"]
        # A small model that reads the tool list as JSON schema copies its keywords into calls
        # ({"path": ..., "content": ..., "required": ["path", "content"]}): drop them.
        arguments = {k: v for k, v in arguments.items() if k in props or k not in _SCHEMA_WORDS}
        arguments = {k: _strip_copied_doc(v, item) for k, v in arguments.items()}
        # Flags a small model invents (ignore_whitespace=true, timeout=null), and numbers for
        # a tool that takes none (edit_file's start_line=1), carry nothing the call needs:
        # dropped, where refusing them made a 1.5B model resend the call until stuck.
        noise: tuple[type, ...] = (bool,) if any(
            p.get("type") in ("integer", "number") for p in props.values()) else (bool, int, float)
        arguments = {k: v for k, v in arguments.items()
                     if k in props or not (v is None or isinstance(v, noise))}
        unknown = sorted(set(arguments) - set(props))
        if unknown:
            raise ToolError(
                f"{item.name} has no argument {', '.join(map(repr, unknown))}; "
                f"its arguments are: {', '.join(props) or 'none'}"
            )
        missing = [r for r in item.parameters["required"] if arguments.get(r) is None]
        if missing:
            raise ToolError(
                f"{item.name} needs the argument(s) {', '.join(map(repr, missing))}; "
                f"call it again with them"
            )
        return {key: _coerce(value, props[key], key) for key, value in arguments.items()}

    def dispatch(self, call: ToolCall, ctx: ToolContext) -> ToolOutput:
        """Run one call; every failure the model can fix comes back as ToolError."""
        item = self._tools.get(call.name)
        if item is None and call.name in self.refused:
            raise ToolError(self.refused[call.name])
        if item is None:
            raise ToolError(
                f"there is no tool {call.name!r}; available tools: {', '.join(self._tools)}"
            )
        arguments = self.check_arguments(item, call.arguments)
        try:
            output = item(ctx, **arguments)
        except OSError as exc:  # the file system said no: the model can choose another path
            raise ToolError(
                f"{item.name} failed: {exc.strerror or exc}"
                + (f" ({exc.filename})" if exc.filename else "")
                + "; check the path and try something else"
            ) from None
        # A name read from disk that is not UTF-8 leaves lone surrogates: they cannot be
        # sent to the model (or stored), so they become U+FFFD here, once.
        result = ToolOutput.of(output)
        return replace(result, text=clean_text(result.text))
