"""Symbol-aligned chunks: one per definition that fits, split by members, then by windows."""

from __future__ import annotations

import bisect
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from code_assistant.index.parse import Symbol

MAX_CHARS = 1500
OVERLAP_CHARS = 200


@dataclass(frozen=True)
class Chunk:
    """A piece of a file: 1-based inclusive lines, the symbol it belongs to, and its text."""

    start_line: int
    end_line: int
    symbol: str
    kind: str
    text: str


@dataclass
class _Node:
    symbol: Symbol
    children: list[_Node] = field(default_factory=list)


def _nest(symbols: Sequence[Symbol]) -> list[_Node]:
    """Symbols as a forest by line containment: a class holds its methods, a function its
    nested functions (so a long body splits at them rather than at arbitrary lines)."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    for symbol in sorted(symbols, key=lambda s: (s.start_line, -s.end_line)):
        node = _Node(symbol)
        while stack and stack[-1].symbol.end_line < symbol.start_line:
            stack.pop()
        parent = stack[-1] if stack else None
        if parent is not None and symbol.end_line <= parent.symbol.end_line:
            parent.children.append(node)
        else:
            stack.clear()
            roots.append(node)
        stack.append(node)
    return roots


class _Chunker:
    def __init__(self, lines: list[str], max_chars: int, overlap: int) -> None:
        self.lines = lines
        self.max_chars = max_chars
        self.overlap = overlap
        self.chunks: list[Chunk] = []
        # offsets[n] = characters in lines 1..n, newlines included (C-level: runs per file).
        lengths = itertools.accumulate(map(len, lines), initial=0)
        self.offsets = list(map(operator.add, lengths, range(len(lines) + 1)))

    def size(self, start: int, end: int) -> int:
        return self.offsets[end] - self.offsets[start - 1]

    def region(self, start: int, end: int, nodes: list[_Node], owner: Symbol | None) -> None:
        cursor = start
        for node in nodes:
            symbol = node.symbol
            if symbol.start_line < cursor:
                continue  # two definitions on one line: the first one's chunk holds both
            self.glue(cursor, symbol.start_line - 1, owner)
            self.definition(node)
            cursor = symbol.end_line + 1
        self.glue(cursor, end, owner)

    def definition(self, node: _Node) -> None:
        symbol = node.symbol
        if self.size(symbol.start_line, symbol.end_line) <= self.max_chars:
            self.emit(symbol.start_line, symbol.end_line, symbol)
        elif node.children:
            self.region(symbol.start_line, symbol.end_line, node.children, symbol)
        else:
            self.windows(symbol.start_line, symbol.end_line, symbol)

    def glue(self, start: int, end: int, owner: Symbol | None) -> None:
        while start <= end and not self.lines[start - 1].strip():
            start += 1
        while end >= start and not self.lines[end - 1].strip():
            end -= 1
        if start <= end:
            self.windows(start, end, owner)

    def windows(self, start: int, end: int, owner: Symbol | None) -> None:
        offsets = self.offsets
        while start <= end:
            # The longest run of whole lines from `start` within max_chars (at least one).
            stop = bisect.bisect_right(offsets, offsets[start - 1] + self.max_chars) - 1
            stop = min(max(stop, start), end)
            self.emit(start, stop, owner)
            if stop >= end:
                return
            # The next window repeats the last lines of this one, up to `overlap` chars.
            first = bisect.bisect_left(offsets, offsets[stop] - self.overlap) + 1
            first = max(first, start + 2)
            start = first if first <= stop else stop + 1

    def emit(self, start: int, end: int, owner: Symbol | None) -> None:
        text = "\n".join(self.lines[start - 1 : end])
        if len(text) > 2 * self.max_chars:
            text = text[: 2 * self.max_chars]  # one enormous line: keep a searchable head
        name, kind = (owner.qualname, owner.kind) if owner else ("", "module")
        self.chunks.append(Chunk(start, end, name, kind, text))


def make_chunks(
    text: str,
    symbols: Sequence[Symbol],
    max_chars: int = MAX_CHARS,
    overlap: int = OVERLAP_CHARS,
) -> list[Chunk]:
    """Cut a file into chunks that follow its definitions.

    A definition that fits in `max_chars` is one chunk; a larger container is split into its
    members plus the code between them; a larger body is cut into windows overlapping by about
    `overlap` characters. Code outside definitions is chunked the same way.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    chunker = _Chunker(lines, max_chars, overlap)
    chunker.region(1, len(lines), _nest(symbols), None)
    return chunker.chunks
