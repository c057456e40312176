"""Command policy on parsed command lines: a deny pattern cannot be dodged by shell syntax."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.errors import ToolError
from code_assistant.tools.approval import Approver
from code_assistant.tools.cmdpolicy import decide, parse
from code_assistant.tools.registry import ToolContext
from code_assistant.tools.shell import run_shell

DENY = ["sudo *", "rm -rf /*", "rm -rf ~*", "git push*"]
ALLOW = ["pytest*", "ls*", "echo *", "git status*"]
DENIED = ["git push", "git push --force origin main", "sudo -n true", "rm -rf ~/x"]
HARMLESS = ["true", "ls -la", "echo hi", "touch m", "git status", "pytest -q"]
SEPARATORS = [";", " ; ", "&&", " && ", "||", "|", " | ", "\n", " & ", "|&"]
PREFIXES = [
    "", " ", "\t", "env ", "env -i ", "env FOO=1 ", "FOO=bar ", "A=1 B=2 ", "command ",
    "command -p ", "nohup ", "sudo ", "sudo -u root ", "timeout 5 ", "time ", "nice -n 5 ",
    "exec ", "builtin ", "xargs ", "setsid ", "stdbuf -o0 ",
]


@pytest.mark.parametrize(
    "command",
    [
        " git push", "git  push", "env git push", "touch m; git push", "true && sudo -n true",
        "echo $(git push)", "echo `git push`", 'echo "$(git push)"', "bash -c 'git push'",
        "sh -xc 'git push'", "eval git push", "/usr/bin/git push", "g'i't push", 'g"it" push',
        "git\\ push", "git${IFS}push", "(git push)", "{ git push; }", "if true; then git push; fi",
        "cat <(git push)", "ls\ngit push", "x=$(sudo id)", "echo $((1 + $(git push)))",
        "bash -c \"bash -c 'git push'\"", "true || env -u HOME nohup git push &",
        "echo ok # harmless\ngit push", "for f in a; do git push; done", "git push 2>&1",
    ],
)
def test_the_reported_bypasses_are_denied(command: str) -> None:
    assert decide(command, ALLOW, DENY) == "deny"


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        ("echo 'git push'", "allow"),  # quoted: an argument, not a command
        ("ls -la", "allow"),
        ("pytest -q | tail -5", "ask"),  # tail is not in the allow list
        ("ls && rm -f x", "ask"),
        ("echo hi > notes.txt", "ask"),  # writes a file through a redirection
        ("echo hi > /dev/null 2>&1", "allow"),
        ("FOO=1 pytest -q", "allow"),
        ("sudo ls", "deny"),
        ("echo 'unterminated", "ask"),  # cannot be parsed: never allowed unasked
        ("bash -c 'ls; echo x'", "allow"),  # as allowed as the commands it runs
        ("bash -c 'ls; touch y'", "ask"),
        ("echo $(touch y)", "ask"),
    ],
)
def test_allowed_only_when_every_part_is(command: str, verdict: str) -> None:
    assert decide(command, ALLOW, DENY) == verdict


def test_allow_everything_still_honours_the_deny_list() -> None:
    assert decide("echo hi > notes.txt", ["*"], DENY) == "allow"
    assert decide("make; git push", ["*"], DENY) == "deny"


def _quoted(word: str, style: int) -> str:
    return [word, f"'{word}'", f'"{word}"', "\\" + word[0] + word[1:], f"''{word}"][style]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(DENIED), st.sampled_from(HARMLESS), st.sampled_from(SEPARATORS),
    st.sampled_from(PREFIXES), st.booleans(),
)
def test_a_denied_part_anywhere_denies_the_line(
    denied: str, harmless: str, separator: str, prefix: str, first: bool
) -> None:
    part = prefix + denied
    line = part + separator + harmless if first else harmless + separator + part
    assert decide(line, ALLOW, DENY) == "deny", line


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DENIED), st.data())
def test_quoting_the_words_does_not_hide_them(denied: str, data: st.DataObject) -> None:
    words = denied.split()
    size = {"min_size": len(words), "max_size": len(words)}
    styles = data.draw(st.lists(st.integers(0, 4), **size))
    spaces = data.draw(st.lists(st.sampled_from([" ", "  ", "\t"]), **size))
    line = "".join(sp + _quoted(w, s) for w, s, sp in zip(words, styles, spaces, strict=True))
    assert decide(line, ALLOW, DENY) == "deny", line


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(HARMLESS[1:3]), min_size=1, max_size=4), st.data())
def test_a_line_of_allowed_parts_is_allowed_and_one_other_part_asks(
    parts: list[str], data: st.DataObject
) -> None:
    separator = data.draw(st.sampled_from([";", " && ", " || ", " | ", "\n"]))
    assert decide(separator.join(parts), ALLOW, DENY) == "allow"
    spot = data.draw(st.integers(0, len(parts)))
    mixed = [*parts[:spot], "touch m", *parts[spot:]]
    assert decide(separator.join(mixed), ALLOW, DENY) == "ask"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab $()`'\"\\;&|<>{}#\n=-*")), max_size=60))
def test_any_text_gets_a_verdict_without_an_exception(text: str) -> None:
    assert decide(text, ALLOW, DENY) in ("allow", "deny", "ask")


def test_parsing_matches_what_bash_runs(tmp_path: Path) -> None:
    # The words we see are the words bash passes on: checked against bash itself.
    line = "printf '%s\\n' a'b' \"c d\" e\\ f"
    words = parse(line)[0].words
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=True)
    assert words[2:] == out.stdout.splitlines() == ["ab", "c d", "e f"]


def test_run_shell_refuses_a_hidden_denied_command_even_with_auto(tmp_path: Path) -> None:
    approver = Approver(policy="auto", deny_commands=["touch *"])
    ctx = ToolContext(root=tmp_path, approver=approver)
    with pytest.raises(ToolError, match="deny_commands list denied run_shell"):
        run_shell(ctx, "true; env FOO=1  touch made")
    assert not (tmp_path / "made").exists()
