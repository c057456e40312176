"""A tolerant JSON reader for model output: quotes, commas, comments and Python words repaired."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

# Deeper than any real tool call; keeps the recursive reader far from Python's recursion limit.
MAX_DEPTH = 40

_DECODER = json.JSONDecoder(strict=False)  # strict=False: raw newlines/tabs inside strings
# An unterminated /* comment runs to the end, so a bad input costs one scan, not one per retry.
_SKIP = re.compile(r"(?:\s+|//[^\n]*|#[^\n]*|/\*.*?(?:\*/|\Z))*", re.S)
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_$][\w$-]*")
_WORDS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_BODY = {  # the rest of a string after its opening quote, through the next unescaped closer
    '"': re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S),
    "'": re.compile(r"[^'\\]*(?:\\.[^'\\]*)*'", re.S),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S),
    "'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*'''", re.S),
}
# In a value, a quote ends the string only if what follows fits there; otherwise it is an
# unescaped quote inside the text ("print("hi")"), which small models write all the time.
# One lazy regex finds that quote, so a string costs one C-speed scan however many quotes.
_KEY_RE = r"""(?:["'][^"'\n]{0,200}["']|[A-Za-z_$][\w$-]*)\s*:"""
_FOLLOW = {
    "object": r"\s*(?:[}/#]|,\s*(?:[}/#]|" + _KEY_RE + "))",
    "array": r"\s*[,\]/#]",
}
_CLOSING = {
    (quote, place): re.compile(r"(?:[^\\]|\\.)*?" + quote + "(?=" + follow + ")", re.S)
    for quote in ('"', "'", '"""', "'''")  # a docstring inside a triple-quoted value
    for place, follow in _FOLLOW.items()
}
_ESCAPE = re.compile(r'\\u[0-9a-fA-F]{4}|\\(.)|(")|([\x00-\x1f])', re.S)


# A value whose own closing quote and the next key were escaped as if the arguments were a
# JSON string inside the JSON: `"new": "a\\nb\", \"replace_all\": false }`.
_DOUBLED_TAIL = re.compile(r'\\"(\s*,\s*)\\"([A-Za-z_]\w*)\\"(\s*:)')
_DOUBLED_ESCAPE = re.compile(r'\\([nt"\\])')
_UNDOUBLED = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def closed_doubled_tail(text: str) -> str | None:
    """`text` with such escaped key separators unescaped, or None when it has none."""
    fixed = _DOUBLED_TAIL.sub(r'"\1"\2"\3', text)
    return fixed if fixed != text else None


def undoubled(value: str) -> str:
    """A string decoded twice over: its literal `\\n` escapes made real (only when it has
    no real newline, so code that prints "\\n" keeps it)."""
    if "\n" in value or "\\" not in value:
        return value
    return _DOUBLED_ESCAPE.sub(lambda m: _UNDOUBLED[m.group(1)], value)


class JSONRepairError(ValueError):
    """Text that no repair turns into JSON; `pos` is the furthest index the reader looked at."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(f"{message} at index {pos}")
        self.pos = pos


def loads(text: str) -> Any:
    """Parse all of `text` as one JSON value, repairing the slips models make."""
    start = _SKIP.match(text).end()  # type: ignore[union-attr]
    value, end = parse_at(text, start)
    if _SKIP.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise JSONRepairError("extra text after the value", end)
    return value


def parse_at(text: str, pos: int) -> tuple[Any, int]:
    """Parse one JSON value starting exactly at `pos`; return it and the index just past it."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        strict_far = exc.pos
    except RecursionError:  # nested past Python's limit: treat the whole text as spent
        strict_far = len(text)
    reader = _Reader(text)
    try:
        return reader.value(pos, 0, "top")
    except JSONRepairError as exc:
        raise JSONRepairError("not JSON", max(exc.pos, strict_far)) from None


def _decode(raw: str) -> str:
    """The text of a string body as written, with any escapes JSON would reject made literal."""

    def fix(m: re.Match[str]) -> str:
        if m.group(2):
            return '\\"'
        if m.group(3):
            return json.dumps(m.group())[1:-1]
        char = m.group(1)
        if char is None or char in '"\\/bfnrt':  # \uXXXX or an escape JSON knows
            return m.group()
        return "'" if char == "'" else "\\\\" + json.dumps(char)[1:-1]

    try:
        value = json.loads('"' + _ESCAPE.sub(fix, raw) + '"')
        return value if isinstance(value, str) else raw
    except ValueError:
        return raw


class _Reader:
    """Recursive descent over one text; remembers how far it looked, for callers that skip."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.far = 0

    def fail(self, message: str, pos: int) -> NoReturn:
        raise JSONRepairError(message, max(pos, self.far))

    def skip(self, pos: int) -> int:
        end = _SKIP.match(self.text, pos).end()  # type: ignore[union-attr]
        self.far = max(self.far, end)
        return end

    def value(self, pos: int, depth: int, place: str) -> tuple[Any, int]:
        text = self.text
        pos = self.skip(pos)
        char = text[pos : pos + 1]
        if depth > MAX_DEPTH:
            self.fail("nested too deeply", pos)
        if char == "{":
            return self.object(pos + 1, depth + 1)
        if char == "[":
            return self.array(pos + 1, depth + 1)
        if char in ('"', "'"):
            return self.string(pos, place)
        number = _NUMBER.match(text, pos)
        if number:
            literal = number.group()
            is_int = literal.lstrip("-").isdigit()
            return (int(literal) if is_int else float(literal)), number.end()
        word = _WORD.match(text, pos)
        if word and word.group() in _WORDS:
            return _WORDS[word.group()], word.end()
        self.fail("expected a value", pos)

    def object(self, pos: int, depth: int) -> tuple[dict[str, Any], int]:
        text = self.text
        out: dict[str, Any] = {}
        while True:
            pos = self.skip(pos)
            char = text[pos : pos + 1]
            if char == "}":
                return out, pos + 1
            if char == ",":  # stray or trailing comma
                pos += 1
                continue
            if char in ('"', "'"):
                key, pos = self.string(pos, "key")
            else:
                bare = _WORD.match(text, pos) or _NUMBER.match(text, pos)
                if bare is None:
                    self.fail("expected a key", pos)
                key, pos = bare.group(), bare.end()
            pos = self.skip(pos)
            if text[pos : pos + 1] != ":":
                self.fail("expected ':'", pos)
            out[str(key)], pos = self.value(pos + 1, depth, "object")
            ended, pos = self.after_item(pos, "}")
            if ended:
                return out, pos

    def array(self, pos: int, depth: int) -> tuple[list[Any], int]:
        text = self.text
        out: list[Any] = []
        while True:
            pos = self.skip(pos)
            char = text[pos : pos + 1]
            if char == "]":
                return out, pos + 1
            if char == ",":
                pos += 1
                continue
            item, pos = self.value(pos, depth, "array")
            out.append(item)
            ended, pos = self.after_item(pos, "]")
            if ended:
                return out, pos

    def after_item(self, pos: int, closer: str) -> tuple[bool, int]:
        """After a member or an item: (True, past `closer`) at the end, else (False, past
        the comma before the next one)."""
        pos = self.skip(pos)
        char = self.text[pos : pos + 1]
        if char == closer:
            return True, pos + 1
        if char != ",":
            self.fail(f"expected ',' or '{closer}'", pos)
        return False, pos + 1

    def string(self, pos: int, place: str) -> tuple[str, int]:
        text = self.text
        quote = text[pos : pos + 3] if text[pos : pos + 3] in ('"""', "'''") else text[pos]
        start = pos + len(quote)
        # Keys and top-level strings end at the first closer; values look ahead (see _FOLLOW).
        closing = _CLOSING.get((quote, place)) or _BODY[quote]
        found = closing.match(text, start)
        if found is None:
            self.fail("unterminated string", len(text))
        end = found.end()
        self.far = max(self.far, end)
        return _decode(text[start : end - len(quote)]), end


# What may end JSON that was cut off and still be completed by closing its brackets: a string
# (a value or a whole key-value pair), a closed container, or a comma after one of them.
_CUT_ENDS = frozenset('"\'}],')
_TURN_ENDS = ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<|endoftext|>")


class CutInString(JSONRepairError):
    """JSON that ends inside a string or another value: it was cut off, so no repair of it
    can be trusted."""


def parse_cut(text: str, pos: int, open_keys: frozenset[str] = frozenset()) -> tuple[Any, int]:
    """Parse JSON at `pos` that runs to the end of `text` without closing its brackets (a
    reply cut off by max_tokens, or a forgotten brace), completing it when nothing but
    closers is missing. Only containers at the top, in lists, or the values of `open_keys`
    (a call's "arguments") may be left open: a cut list or object value would be run as a
    shorter one. Raises CutInString when it ends inside a string (or such a value),
    JSONRepairError when it is not JSON cut short. One pass over the text: linear."""
    end = content_end(text, pos)
    stack: list[tuple[str, str | None]] = []  # closer, and the key whose value it opens
    quote, last, key, string_at = "", "", "", pos
    index = pos
    while index < end:
        char = text[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote, last, key = "", char, text[string_at + 1 : index]
        elif char in "\"'":
            quote, string_at = char, index
        elif char in "{[":
            stack.append(("}" if char == "{" else "]", key if last == ":" else None))
        elif char in "}]":
            if not stack or stack.pop()[0] != char:
                raise JSONRepairError("unbalanced brackets", index)
            if not stack:
                raise JSONRepairError("complete JSON followed by more text", index)
        elif char == ":" and last != '"' and last != "'":
            key = ""  # a bare key: not one of open_keys
        if not quote and not char.isspace():
            last = char
        index += 1
    if quote or any(owner is not None and owner not in open_keys for _, owner in stack):
        raise CutInString("cut off inside a value", end)
    if not stack or last not in _CUT_ENDS:
        raise JSONRepairError("not JSON cut short", end)
    body = text[pos:end].rstrip()
    body = body[:-1] if body.endswith(",") else body
    # Strict JSON only: the repairs above (a quote inside a string...) would read a cut
    # `{"path": "", "content"` as the path `", "content`.
    try:
        value = _DECODER.decode(body + "".join(closer for closer, _ in reversed(stack)))
    except json.JSONDecodeError as exc:
        raise JSONRepairError("cut JSON that is not strict JSON", pos + exc.pos) from None
    return value, end


def content_end(text: str, pos: int) -> int:
    """The end of `text` without trailing blanks and end-of-turn tokens (no regex: a search
    for a trailing pattern would rescan every blank run)."""
    body = text.rstrip()
    while body.endswith(_TURN_ENDS) and len(body) > pos:
        body = body[: body.rindex("<|")].rstrip()
    return max(len(body), pos)
