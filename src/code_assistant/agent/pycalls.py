"""Read Python call syntax (`tool(path="a.py")`) with ast, never eval: literal arguments only."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Any

NOT_LITERAL = object()
_JSON_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_TOKEN = re.compile(r"\"\"\"|'''|[\"'#()\[\]{}]")
_STRING = {  # the rest of a string after its opening quote, through its closer
    '"': re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S),
    "'": re.compile(r"[^'\\]*(?:\\.[^'\\]*)*'", re.S),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S),
    "'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*'''", re.S),
}


@dataclass
class PyCall:
    """One call read from source: the dotted callee, positional and keyword literal values."""

    callee: str
    args: list[Any]
    kwargs: dict[str, Any]


def calls_in_source(source: str) -> list[PyCall] | None:
    """The calls in source that is nothing but calls with literal arguments, else None.

    A statement may be one call or a list of calls (Llama 3.2 writes `[a(x=1), b(y=2)]`).
    """
    tree = parse(source, "exec")
    if not isinstance(tree, ast.Module) or not tree.body:
        return None
    calls: list[PyCall] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Expr):
            return None
        found = _calls_in_expression(statement.value)
        if found is None:
            return None
        calls += found
    return calls


def calls_in_expression(source: str) -> list[PyCall] | None:
    """Like calls_in_source, for one expression: a call or a list of calls."""
    tree = parse(source, "eval")
    return _calls_in_expression(tree.body) if isinstance(tree, ast.Expression) else None


def _calls_in_expression(node: ast.expr) -> list[PyCall] | None:
    nodes = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node]
    calls = [read_call(item) for item in nodes]
    if not calls or any(call is None for call in calls):
        return None
    return [call for call in calls if call is not None]


def parse(source: str, mode: str) -> ast.AST | None:
    """Parse without running anything; raw newlines inside quotes are escaped on a retry."""
    for attempt in range(2):
        candidate = source if attempt == 0 else _escape_raw_newlines(source)
        if candidate is None:
            return None
        with warnings.catch_warnings():
            # "\d" in a model's string is a SyntaxWarning, which must reach no terminal.
            warnings.simplefilter("ignore")
            try:
                return ast.parse(candidate, mode=mode)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
    return None


def read_call(node: ast.AST) -> PyCall | None:
    """The call `node` is, if its callee is a (dotted) name and every argument a literal."""
    if not isinstance(node, ast.Call) or any(kw.arg is None for kw in node.keywords):
        return None
    callee = _callee(node.func)
    args = [_literal(arg) for arg in node.args]
    kwargs = {str(kw.arg): _literal(kw.value) for kw in node.keywords}
    if callee is None or NOT_LITERAL in args or NOT_LITERAL in kwargs.values():
        return None  # a variable or expression: code being shown, not a call
    return PyCall(callee, args, kwargs)


def _callee(func: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    return ".".join([func.id, *reversed(parts)])


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name) and node.id in _JSON_WORDS:
        return _JSON_WORDS[node.id]
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    """The value as JSON would carry it (tuples become lists); NOT_LITERAL for bytes, sets."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_jsonable(item) for item in value]
        return NOT_LITERAL if any(item is NOT_LITERAL for item in items) else items
    if isinstance(value, dict):
        pairs = {str(key): _jsonable(item) for key, item in value.items()}
        return NOT_LITERAL if any(item is NOT_LITERAL for item in pairs.values()) else pairs
    return NOT_LITERAL


def bracket_end(
    text: str, start: int, *, whole: bool = False, spans: list[tuple[int, int]] | None = None
) -> int:
    """Index just past the bracket group opening at `start`, or -1 if it never closes.

    Strings and comments are skipped the way Python reads them. With `whole`, scan all of
    `text` and return its length (-1 on an open string); bodies of one-line strings go
    into `spans`.
    """
    depth, pos = 0, start
    while True:
        token = _TOKEN.search(text, pos)
        if token is None:
            return len(text) if whole else -1
        kind, pos = token.group(), token.end()
        if kind in "([{":
            depth += 1
        elif kind in ")]}":
            depth -= 1
            if depth <= 0 and not whole:
                return pos if depth == 0 else -1
        elif kind == "#":
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline
        else:
            body = _STRING[kind].match(text, pos)
            if body is None:
                return -1
            if spans is not None and len(kind) == 1:
                spans.append((pos, body.end()))
            pos = body.end()


def _escape_raw_newlines(source: str) -> str | None:
    """`source` with newlines inside one-line strings written as \\n (models write them raw)."""
    spans: list[tuple[int, int]] = []
    if bracket_end(source, 0, whole=True, spans=spans) < 0 or not spans:
        return None
    parts, last = [], 0
    for begin, end in spans:
        body = source[begin:end].replace("\r\n", "\\n").replace("\n", "\\n")
        parts += [source[last:begin], body]
        last = end
    parts.append(source[last:])
    fixed = "".join(parts)
    return fixed if fixed != source else None
