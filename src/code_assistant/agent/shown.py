"""Calls a model shows rather than makes: examples in an explanation, values in code, templates.

A small model explaining a format writes the very JSON a call would be; running it would act
on an example (aider's model wrote to `path/to/slug.py`, copied from its prompt).
"""

from __future__ import annotations

import re

from code_assistant.backends.base import ToolCall

# Phrases that introduce an example in the same paragraph, just before the JSON or fence.
# Narrow on purpose: "the syntax error", "a template file" or "looks like a typo" come
# before real calls.
_CUE = re.compile(
    r"\b(?:for example|for instance|e\.g\.|an example(?!\.?\w)|example:|example of|example call"
    r"|sample call|would look like|looks like this|in this format|the format is"
    r"|the syntax is)",
    re.I,
)
_CUE_WINDOW = 160
# Before JSON on its line: an assignment, an argument list, a return or an inline-code tick.
_CODE_BEFORE = re.compile(r"(?:[=(`]|\breturn|\byield|\bprint)[ \t]*\Z")
# Argument values that are templates, never real: <path>, path/to/file.py, "..."
_PLACEHOLDER = re.compile(r"\A(?:<[^<>\n]{1,40}>|\.\.\.|…)\Z|(?:\A|/)path/to/|/your[_-]", re.I)
_PATH_ARGUMENTS = frozenset({"path", "pattern"})


def introduced_as_example(text: str, start: int) -> bool:
    """Whether the paragraph before `start` presents what follows as an example."""
    window = text[max(0, start - _CUE_WINDOW) : start]
    paragraph = window[window.rfind("\n\n") + 1 :]
    return _CUE.search(paragraph) is not None


def inside_code(text: str, start: int) -> bool:
    """Whether JSON at `start` is a value in a line of code (`x = {...}`, `f({...})`) or inline
    code in backticks, not a call standing on its own."""
    window = max(0, start - 200)  # bounded: asked for every JSON object in a reply
    line_start = max(window, text.rfind("\n", window, start) + 1)
    return _CODE_BEFORE.search(text, line_start, start) is not None


def is_template(call: ToolCall) -> bool:
    """Whether a call's arguments are placeholders (`path/to/file.py`, `<path>`)."""
    return any(
        isinstance(value, str) and key in _PATH_ARGUMENTS and _PLACEHOLDER.search(value)
        for key, value in call.arguments.items()
    )
