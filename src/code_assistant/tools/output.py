"""Bounded tool output: a few head lines and mostly the tail, where errors usually are."""

from __future__ import annotations

from collections import deque

DEFAULT_MAX_LINES = 120
MAX_LINE_CHARS = 500  # one minified-JS line must not eat the model's whole context


def default_head(max_lines: int) -> int:
    """How many head lines to keep: a few for context; the rest of the budget goes to the tail."""
    return min(20, max_lines // 4)


def _cut_line(line: str, dropped: int = 0) -> str:
    extra = len(line) - MAX_LINE_CHARS + dropped if len(line) > MAX_LINE_CHARS else dropped
    if extra <= 0:
        return line
    return f"{line[:MAX_LINE_CHARS]} [... {extra:,} chars dropped ...]"


class HeadTail:
    """Collects text piece by piece in bounded memory: head lines, a tail deque, counts.

    Feed it decoded text with `feed()`; `render()` returns at most max_lines lines (each
    cut to MAX_LINE_CHARS) plus one marker line when lines were dropped in the middle.
    """

    def __init__(self, max_lines: int, head: int | None = None) -> None:
        self.max_lines = max(1, max_lines)
        self.head_size = default_head(self.max_lines) if head is None else head
        self.head_size = max(0, min(self.head_size, self.max_lines))
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=self.max_lines - self.head_size)
        self.total_lines = 0
        self._partial = ""
        self._partial_dropped = 0  # chars of an over-long unfinished line already thrown away

    def feed(self, text: str) -> None:
        if not text:
            return
        pieces = text.split("\n")
        for piece in pieces[:-1]:
            self._add_line(self._partial + piece, self._partial_dropped)
            self._partial, self._partial_dropped = "", 0
        self._partial += pieces[-1]
        if len(self._partial) > MAX_LINE_CHARS:
            # Keep only what will be shown, so one endless line stays bounded in memory.
            self._partial_dropped += len(self._partial) - MAX_LINE_CHARS - 1
            self._partial = self._partial[: MAX_LINE_CHARS + 1]

    def _add_line(self, line: str, dropped: int) -> None:
        self.total_lines += 1
        line = _cut_line(line, dropped)
        if len(self.head) < self.head_size:
            self.head.append(line)
        elif self.tail.maxlen:
            self.tail.append(line)

    def finish(self) -> None:
        """Count an unfinished last line (text not ending in a newline)."""
        if self._partial or self._partial_dropped:
            self._add_line(self._partial, self._partial_dropped)
            self._partial, self._partial_dropped = "", 0

    @property
    def dropped(self) -> int:
        return self.total_lines - len(self.head) - len(self.tail)

    def render(self) -> str:
        self.finish()
        lines = list(self.head)
        if self.dropped > 0:
            noun = "line" if self.dropped == 1 else "lines"
            lines.append(f"[... {self.dropped:,} {noun} dropped ...]")
        lines.extend(self.tail)
        return "\n".join(lines)


def keep_head_tail(text: str, max_lines: int, head: int | None = None) -> str:
    """Keep the first `head` lines and the last lines of text, with a marker for the gap.

    At most max_lines lines of text survive (plus the marker line); each line is cut to
    MAX_LINE_CHARS characters. head defaults to a few lines (a quarter, at most 20).
    """
    collector = HeadTail(max_lines, head)
    collector.feed(text)
    return collector.render()
