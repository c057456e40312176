"""Tool calls written as XML: Qwen3-Coder's `<parameter=k>`, `<invoke name=...>`, and Cline's
`<read_file><path>a.py</path></read_file>` (the tool's name as the element, one child per
argument). Read with str.find, never a backtracking regex over the body: linear time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from code_assistant.agent.toolnames import known_aliases, normalize

_PARAM_OPEN = re.compile(r"<parameter(?:=|\s+name=[\"'])([^<>\"'\n]{1,100})[\"']?\s*>")
_CHILD = re.compile(r"\s*<([A-Za-z_][\w-]{0,40})>")


def parameters(text: str) -> dict[str, str]:
    """`<parameter=path>\\na.py\\n</parameter>` or `<parameter name="path">a.py</parameter>`,
    each value without the one newline its tags put around it."""
    args: dict[str, str] = {}
    found = _PARAM_OPEN.search(text)
    while found is not None:
        close = text.find("</parameter>", found.end())
        if close < 0:
            break
        args[found.group(1).strip()] = _trimmed(text[found.end() : close])
        found = _PARAM_OPEN.search(text, close)
    return args


def starts_with_parameters(text: str) -> bool:
    return _PARAM_OPEN.match(text) is not None


def _trimmed(value: str) -> str:
    value = value[1:] if value.startswith("\n") else value
    return value[:-1] if value.endswith("\n") else value


@lru_cache(maxsize=32)
def element_opener(tools: tuple[str, ...]) -> re.Pattern[str] | None:
    """`<name>` followed by a child element, for every tool and alias of one in `tools`."""
    wanted = {normalize(tool) for tool in tools}
    aliases = {alias for alias, tool in known_aliases.items() if normalize(tool) in wanted}
    names = set(tools) | aliases
    if not names:
        return None
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(rf"<(?P<element>{alternatives})>(?=\s*<[A-Za-z_][\w-]{{0,40}}>)")


def element_arguments(
    text: str, start: int, name: str, end: int
) -> tuple[int, dict[str, str] | None]:
    """The children of the `<name>` element whose content runs from `start` to its closer at
    `end` (-1: never closed), as arguments, and the end of the element; None when it is not
    closed or holds anything but children."""
    closer = f"</{name}>"
    if end < 0:
        return start, None
    args: dict[str, str] = {}
    pos = start
    while True:
        child = _CHILD.match(text, pos, end)
        if child is None:
            break
        key = child.group(1)
        close = text.find(f"</{key}>", child.end(), end)
        if close < 0:
            return end + len(closer), None
        args[key] = _trimmed(text[child.end() : close])
        pos = close + len(key) + 3
    if text[pos:end].strip() or not args:
        return end + len(closer), None
    return end + len(closer), args


def tool_names(tools: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(tools)))
