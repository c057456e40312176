"""The repeat guard: a streamed reply that loops word for word is cut after its first copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.agent.repeatguard import TAIL, RepeatGuard, Repeating

BANK = (
    '"""A tiny bank account."""\n\n\nclass Account:\n'
    "    def __init__(self, owner: str, balance: float = 0.0) -> None:\n"
    "        self.owner = owner\n        self.balance = balance\n\n"
    "    def deposit(self, amount: float) -> float:\n        if amount <= 0:\n"
    '            raise ValueError("deposit must be positive")\n'
    "        self.balance += amount\n        return self.balance\n"
)
# What real 0.5B wrote (s29c add-method): the file as it was and the task, over and over.
UNIT = (f"```python\n{BANK}```\n\nAdd a withdraw(amount) method to the Account class in "
        "bank.py that raises ValueError when the amount is more than the balance.\n\n")


def fed(text: str, size: int = 5) -> RepeatGuard:
    """A guard fed `text` in `size`-character tokens; stops where the guard stops."""
    guard = RepeatGuard()
    try:
        for i in range(0, len(text), size):
            guard.feed(text[i : i + size])
    except Repeating:
        pass
    return guard


def test_a_reply_echoing_the_file_and_task_is_cut_after_one_copy() -> None:
    reply = "Sure.\n\n" + UNIT * 20
    guard = fed(reply)
    assert len(guard.text) < 4 * len(UNIT)  # stopped early: not the 20 copies
    assert guard.kept().rstrip("\n") == ("Sure.\n\n" + UNIT).rstrip("\n")


def test_a_flood_of_one_line_is_cut() -> None:
    guard = fed("def f():\n" + "    pass\n" * 500)
    assert len(guard.text) < 1500
    kept = guard.kept()
    assert kept.startswith("def f():\n") and set(kept[9:].split()) == {"pass"}


def test_a_passage_written_twice_on_purpose_is_not_cut() -> None:
    # two functions with the same 10-line body, then more code: real code does this
    body = "".join(f"    total += values[{i}] * weights[{i}]  # term {i}\n" for i in range(12))
    code = f"def a(values, weights):\n{body}\n\ndef b(values, weights):\n{body}\n\nprint(1)\n"
    guard = fed(code)
    assert guard.text == code and guard.kept() == code


def test_real_source_files_are_never_cut() -> None:
    sources = sorted((Path(__file__).parents[1] / "src" / "code_assistant").rglob("*.py"))
    assert len(sources) > 50
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert fed(text, 7).text == text, path


@given(
    prefix=st.text(max_size=300),
    unit=st.text(min_size=TAIL, max_size=900),
    copies=st.integers(min_value=4, max_value=8),
    size=st.integers(min_value=1, max_value=40),
)
def test_any_loop_is_cut_to_a_prefix_holding_at_most_one_copy(
    prefix: str, unit: str, copies: int, size: int
) -> None:
    text = prefix + unit * copies
    guard = fed(text, size)
    kept = guard.kept()
    assert len(guard.text) < len(text)  # it stopped before the end
    assert text.startswith(kept)
    line = text.find("\n", len(prefix) + len(unit) - 1)  # kept ends at the end of a line
    assert len(kept) <= max(len(prefix) + len(unit), line + 1)


@pytest.mark.parametrize("size", [1, 64, 5000])
def test_token_size_does_not_change_the_cut(size: int) -> None:
    assert fed("intro\n" + UNIT * 10, size).kept().rstrip("\n") == ("intro\n" + UNIT).rstrip("\n")
