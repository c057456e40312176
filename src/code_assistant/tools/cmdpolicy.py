"""Command policy on the parsed command line: denied if any part is, allowed only if every part is.

Matching the whole string let ` git push`, `git  push`, `env git push`, `touch m; git push`
and `true && sudo -n true` through a deny list. Here the line is split the way a shell
would split it (quotes, `;`, `&&`, `||`, `|`, `&`, newlines, `( )`, `$( )`, backticks,
`<( )`, `bash -c`, `eval`), each simple command loses its assignments and shell keywords,
and a deny pattern is tried against it at every wrapper it could hide behind (`env`,
`sudo`, `command`, `nohup`, `timeout`, ...) and by its program's base name. An allow
pattern must match every part as written (only harmless wrappers removed, never `sudo`),
and a part that writes a file through `>` still asks unless the allow list is `["*"]`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

Verdict = Literal["allow", "deny", "ask"]

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_SEPARATORS = (";;", "&&", "||", "|&", ";", "&", "|", "\n", "(", ")")
_REDIRECT = re.compile(r"(&>>|&>|>>|>\||>&|>|<<<|<<-|<<|<>|<&|<)")
_HARMLESS_TARGETS = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"}
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
_ENDINGS = {"fi", "done", "esac", "}"}
_BINDERS = {"for", "case", "select", "function", "in"}  # their words are not run
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish"}
# Wrappers that run their arguments as a command, with their options taking a value.
_WRAPPERS: dict[str, set[str]] = {
    "env": {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"},
    "sudo": {"-u", "--user", "-g", "--group", "-h", "--host", "-p", "--prompt", "-C", "-D"},
    "doas": {"-u", "-C"},
    "command": set(),
    "builtin": set(),
    "exec": {"-a"},
    "nohup": set(),
    "time": {"-f", "--format", "-o", "--output"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p"},
    "setsid": set(),
    "stdbuf": {"-i", "-o", "-e"},
    "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "xargs": {"-I", "-n", "-P", "-d", "-E", "-L", "-s", "-a"},
    "chroot": set(),
    "unbuffer": set(),
}
_SAFE_WRAPPERS = {"env", "command", "builtin", "nohup", "time"}  # stripped for allow too
_POSITIONAL = {"timeout": 1, "chroot": 1}  # a duration / a directory before the command
MAX_DEPTH = 8


class ParseError(ValueError):
    """The line cannot be split safely (an open quote or substitution)."""


@dataclass
class Command:
    """One simple command: its words, and whether it writes a file through a redirection."""

    words: list[str]
    writes: bool = False
    nested: list[Command] = field(default_factory=list)


class _Scanner:
    """A small shell lexer: words, separators, redirections and substitutions."""

    def __init__(self, text: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ParseError("commands nested too deeply")
        self.text, self.depth, self.i = text, depth, 0
        self.commands: list[Command] = []
        self.subs: list[str] = []
        self.words: list[str] = []
        self.word: list[str] | None = None
        self.target_next = ""  # the redirection operator whose target comes next
        self.writes = False

    def run(self) -> list[Command]:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c == "\\":
                self._escape()
            elif c == "'":
                self._single()
            elif c == '"':
                self._double()
            elif c == "`":
                self._backtick()
            elif c == "$" and text.startswith("$(", self.i):
                self._dollar_paren()
            elif c in "<>" and text.startswith("(", self.i + 1):
                self._add("<(...)")
                self.subs.append(self._balanced(self.i + 1))
            elif c in " \t\r":
                self._end_word()
                self.i += 1
            elif c == "#" and self.word is None:
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            elif c in "<>" or text.startswith(("&>",), self.i):
                self._redirect()
            elif any(text.startswith(s, self.i) for s in _SEPARATORS):
                sep = next(s for s in _SEPARATORS if text.startswith(s, self.i))
                self._end_command()
                self.i += len(sep)
            else:
                self._add(c)
                self.i += 1
        self._end_command()
        for sub in self.subs:
            self.commands.extend(_Scanner(sub, self.depth + 1).run())
        return self.commands

    def _add(self, chars: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(chars)

    def _end_word(self) -> None:
        if self.word is None:
            return
        word = "".join(self.word)
        self.word = None
        if self.target_next:
            op, self.target_next = self.target_next, ""
            dup = op in (">&", "<&") and (word.isdigit() or word == "-")
            if op[-1] in ">|" and not dup and word not in _HARMLESS_TARGETS:
                self.writes = True
            return
        self.words.append(word)

    def _end_command(self) -> None:
        self._end_word()
        if self.words or self.writes:
            self.commands.append(Command(self.words, self.writes))
        self.words, self.writes, self.target_next = [], False, ""

    def _escape(self) -> None:
        nxt = self.text[self.i + 1 : self.i + 2]
        if nxt != "\n":  # a backslash-newline joins lines
            self._add(nxt)
        self.i += 2

    def _single(self) -> None:
        end = self.text.find("'", self.i + 1)
        if end < 0:
            raise ParseError("unterminated single quote")
        self._add(self.text[self.i + 1 : end])
        self.i = end + 1

    def _double(self) -> None:
        self._add("")
        self.i += 1
        while self.i < len(self.text):
            c = self.text[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and self.text[self.i + 1 : self.i + 2] in ('"', "\\", "$", "`", "\n"):
                self._escape()
            elif c == "`":
                self._backtick()
            elif self.text.startswith("$(", self.i):
                self._dollar_paren()
            else:
                self._add(c)
                self.i += 1
        raise ParseError("unterminated double quote")

    def _backtick(self) -> None:
        end = self.i + 1
        while end < len(self.text) and self.text[end] != "`":
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise ParseError("unterminated backtick")
        self.subs.append(self.text[self.i + 1 : end].replace("\\`", "`"))
        self._add("$(...)")
        self.i = end + 1

    def _dollar_paren(self) -> None:
        if self.text.startswith("$((", self.i):  # arithmetic: its words are not run,
            inner = self._balanced(self.i + 1)  # but a substitution inside it is
            self.subs.extend(_substitutions(inner))
            self._add("$((...))")
            return
        self.subs.append(self._balanced(self.i + 1))
        self._add("$(...)")

    def _balanced(self, start: int) -> str:
        """The text inside the parenthesis at `start`; moves past its closing one."""
        depth, i, quote = 0, start, ""
        while i < len(self.text):
            c = self.text[i]
            if quote:
                if c == "\\" and quote == '"':
                    i += 1
                elif c == quote:
                    quote = ""
            elif c == "\\":
                i += 1
            elif c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    self.i = i + 1
                    return self.text[start + 1 : i]
            i += 1
        raise ParseError("unterminated substitution")

    def _redirect(self) -> None:
        if self.word is not None and "".join(self.word).isdigit():
            self.word = None  # the file descriptor of `2>`
        self._end_word()
        match = _REDIRECT.match(self.text, self.i)
        op = match.group(1) if match else self.text[self.i]
        self.i += len(op)
        self.target_next = op


def _substitutions(text: str) -> list[str]:
    scanner = _Scanner(text, 0)
    scanner.run()
    return scanner.subs


def parse(command: str, depth: int = 0) -> list[Command]:
    """Every simple command the line would run, shells-in-shells included."""
    commands = []
    for item in _Scanner(command, depth).run():
        words = _strip_prefix(item.words)
        if not words or words[0] in _ENDINGS or words[0] in _BINDERS:
            continue
        item.words = words
        item.nested = _nested(words, depth)
        commands.append(item)
    return commands


def _strip_prefix(words: list[str]) -> list[str]:
    """Without leading assignments and shell keywords (`if`, `!`, `{`, `do`, ...)."""
    index = 0
    while index < len(words) and (_ASSIGNMENT.match(words[index]) or words[index] in _KEYWORDS):
        index += 1
    return words[index:]


def _nested(words: list[str], depth: int) -> list[Command]:
    """The commands a `bash -c TEXT` or `eval TEXT` (behind any wrapper) runs."""
    for form in _unwrapped(words, _WRAPPERS):
        program = os.path.basename(form[0])
        if program == "eval" and len(form) > 1:
            return parse(" ".join(form[1:]), depth + 1)
        if program in _SHELLS:
            for index, word in enumerate(form[1:-1], 1):
                if word.startswith("-") and "c" in word.lstrip("-") and not word.startswith("--"):
                    return parse(form[index + 1], depth + 1)
    return []


def _unwrapped(words: list[str], wrappers: dict[str, set[str]]) -> Iterator[list[str]]:
    """The words, then the words after each wrapper it could hide behind."""
    while words:
        yield words
        program = os.path.basename(words[0])
        if program not in wrappers:
            return
        rest, takes_value = words[1:], wrappers[program]
        positional = _POSITIONAL.get(program, 0)
        while rest:
            head = rest[0]
            if head == "--":
                rest = rest[1:]
                break
            if head.startswith("-") and len(head) > 1:
                rest = rest[2:] if head in takes_value else rest[1:]
            elif program == "env" and _ASSIGNMENT.match(head):
                rest = rest[1:]
            elif positional:
                positional -= 1
                rest = rest[1:]
            else:
                break
        words = rest


def _deny_forms(command: Command) -> Iterator[str]:
    for form in _unwrapped(command.words, _WRAPPERS):
        yield " ".join(form)
        base = [os.path.basename(form[0]), *form[1:]]
        yield " ".join(base)
        yield re.sub(r"\$\{?IFS\}?", " ", " ".join(base))


def _allow_form(command: Command) -> str:
    safe = {k: v for k, v in _WRAPPERS.items() if k in _SAFE_WRAPPERS}
    return " ".join(list(_unwrapped(command.words, safe))[-1])


def _flatten(commands: list[Command]) -> Iterator[Command]:
    for command in commands:
        yield command
        yield from _flatten(command.nested)


def decide(command: str, allow: Sequence[str], deny: Sequence[str]) -> Verdict:
    """deny if any part matches a deny pattern; allow if every part matches an allow one."""
    flat_text = " ".join(command.split())
    if any(fnmatchcase(flat_text, p) for p in deny):
        return "deny"
    try:
        commands = parse(command)
    except (ParseError, RecursionError):
        return "ask"  # what cannot be parsed is never allowed unasked
    every = list(_flatten(commands))
    if any(fnmatchcase(form, p) for c in every for form in _deny_forms(c) for p in deny):
        return "deny"
    everything = "*" in allow

    def allowed(c: Command) -> bool:
        if c.nested:  # `bash -c X` is as allowed as the commands of X
            return all(allowed(n) for n in c.nested)
        if c.writes and not everything:
            return False
        return any(fnmatchcase(_allow_form(c), p) for p in allow)

    return "allow" if commands and all(allowed(c) for c in commands) else "ask"
