"""Cut a streamed reply short once it repeats itself word for word.

Real Qwen2.5-Coder-0.5B, asked for a whole file (s29c), wrote the file out as it was and the
task sentence after it, then both again, and again, until max_output_tokens: 4096 tokens of
the same 700 characters, three minutes of a four-minute budget. Greedy small models fall into
such loops; nothing after the first copy is worth waiting for. So the streamed text is
watched: when a passage stands COPIES times in a row and the next copy has begun (its first
TAIL characters), the stream is ended (the servers stop generating on the disconnect) and the
reply is what came before the second copy. Code repeats a passage on purpose, but twice, not
three times: with one copy allowed (COPIES = 1), 140 of 480 files of the standard library,
httpx, rich, pydantic and openai were cut; with two, none. Of 507 real replies (s27-s29)
three were cut, all loops (two of 0.5B, one of 1.5B), and nothing else.
"""

from __future__ import annotations

TAIL = 400
COPIES = 2  # whole copies before the tail of the next one
_EVERY = 64  # characters between two looks: a look scans the whole reply so far


class Repeating(Exception):
    """Raised from the token callback to end a stream that repeats itself."""


class RepeatGuard:
    """Fed a reply's tokens as they stream; raises Repeating at the first verbatim loop."""

    def __init__(self, tail: int = TAIL) -> None:
        self.tail = tail
        self._parts: list[str] = []
        self._size = 0
        self._looked_at = 0

    def feed(self, token: str) -> None:
        self._parts.append(token)
        self._size += len(token)
        if self._size - self._looked_at >= _EVERY and self._size >= 2 * self.tail:
            self._looked_at = self._size
            if self.loop_start() is not None:
                raise Repeating

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def loop_start(self) -> int | None:
        """Where the second copy of the repeated passage begins, or None when the text's
        tail does not stand earlier in it, or the passage is not there COPIES times."""
        text = self.text
        end = len(text) - self.tail
        earlier = text.rfind(text[end:], 0, len(text) - 1)  # the nearest: the shortest period
        if end < self.tail or earlier < 0:
            return None
        period = end - earlier
        start = earlier  # walk back while the text one period on is the same
        while start > 0 and text[start - 1] == text[start - 1 + period]:
            start -= 1
        if len(text) - start < COPIES * period + self.tail:
            return None  # written twice can be on purpose; a third time is a loop
        return start + period

    def kept(self) -> str:
        """The reply up to its first repetition, to the end of that line (where a loop
        starts is ambiguous by a few characters: "...balance.\n\n" then "Sure.\n\n" again);
        everything, when it has none."""
        start = self.loop_start()
        if start is None:
            return self.text
        line_end = self.text.find("\n", start - 1)
        return self.text[: line_end + 1 if line_end >= 0 else start]
