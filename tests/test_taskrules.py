"""What a task's words promise (agent/taskrules.py), on the phrasings users write."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.agent.taskrules import (
    Named,
    defined_note,
    is_test_path,
    missing_definitions,
    named_definitions,
    protects_tests,
    unexported,
)


@pytest.mark.parametrize(("task", "protected"), [
    ("The tests in test_pricing.py fail. Fix the bug in the code so that they pass.", True),
    ("node test.js fails. Fix the bug in titlecase.js so the tests pass.", True),
    ("pytest fails with a KeyError; fix it", True),
    ("Write pytest tests for wordcount.py and make sure they pass.", False),
    ("Fix the failing test in test_a.py: the test is wrong", False),
    ("Update the tests so they pass with the new API, and fix the bug", False),
    ("Add a --shout option to greet.py", False),
])
def test_which_tasks_protect_their_tests(task: str, protected: bool) -> None:
    assert protects_tests(task) is protected


@pytest.mark.parametrize(("path", "test"), [
    ("test_pricing.py", True), ("tests/helpers.py", True), ("test.js", True),
    ("pkg/b_test.go", True), ("ui/x.spec.ts", True), ("src/lib.rs", False),
    ("latest.py", False), ("contest.py", False), ("pricing.py", False),
])
def test_test_paths(path: str, test: bool) -> None:
    assert is_test_path(path) is test


def test_named_definitions_in_both_word_orders() -> None:
    task = "Add a withdraw(amount) method to Account and a public function count_vowels(text: &str)"
    assert named_definitions(task) == [Named("count_vowels", "function"),
                                       Named("withdraw", "method")]
    assert named_definitions("Rename the function calc_total to order_total everywhere") == []


@given(st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True))
def test_a_defined_function_is_never_reported_missing(name: str) -> None:
    import keyword
    import tempfile

    if keyword.iskeyword(name):
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "m.py").write_text(f"def {name}(x):\n    return x\n")
        assert missing_definitions(root, f"Add a function {name}(x) to m.py", ["m.py"]) == ""
        (root / "m.py").write_text(f"def other_{name}(x):\n    return x\n")
        assert "does not define it" in missing_definitions(
            root, f"Add a function {name}(x) to m.py", ["m.py"])


@pytest.mark.parametrize(("rel", "text", "fixed"), [
    ("m.js", "function a() {}\nmodule.exports = { a };\nfunction b() {}\n",
     "module.exports = { a, b };"),
    ("m.mjs", "export { a, x };\nfunction b() {}\n", "export { a, x, b };"),
    ("m.py", "__all__ = ['a']\n\ndef b():\n    pass\n", "__all__ = ['a', 'b']"),
    ("m.py", '__all__ = ("a",)\n\ndef b():\n    pass\n', '__all__ = ("a", "b",)'),
])
def test_an_export_list_without_the_new_function_gets_the_fixed_line(
    rel: str, text: str, fixed: str
) -> None:
    note = unexported(rel, text, "b")
    assert f"{rel} defines b but does not export it" in note and f"`{fixed}`" in note


@pytest.mark.parametrize("text", [
    "function a() {}\nmodule.exports = { a, b };\nfunction b() {}\n",  # listed already
    "function b() {}\nmodule.exports.b = b;\n",  # no list: nothing to go by
    "def b():\n    pass\n",
])
def test_no_export_note_without_a_list_that_leaves_the_function_out(text: str) -> None:
    assert unexported("m.js", text, "b") == ""


ACCOUNT = "class Account:\n    def deposit(self, amount):\n        self.balance += amount\n"
WITHDRAW = "\n    def withdraw(self, amount):\n        self.balance -= amount\n"


@pytest.mark.parametrize(("task", "rel", "text", "done"), [
    ("Add a withdraw(amount) method to the Account class in bank.py", "bank.py",
     ACCOUNT + WITHDRAW, True),
    ("Add a withdraw(amount) method to the Account class in bank.py", "bank.py", ACCOUNT, False),
    # a function asked for, defined as a method: not done
    ("Add a function withdraw(amount) to bank.py", "bank.py", ACCOUNT + WITHDRAW, False),
    # the file does not parse: not done, whatever it defines
    ("Add a function f(x) to m.py", "m.py", "def f(x):\n    return x\n  return", False),
    ("Add a function f(x) to m.py", "m.py", "def f(x):\n    return x\n", True),
    ("Add a function product(numbers) to m.js", "m.js",
     "function product(numbers) {\n  return 1;\n}\n", True),
    ("Add a function product(numbers) to m.js", "m.js", "const product = (ns) => 1;\n", True),
    # called, not defined
    ("Add a function product(numbers) to m.js", "m.js", "console.log(product([1]));\n", False),
    ("Add a public function count_vowels(text: &str) -> usize to src/lib.rs", "src/lib.rs",
     "pub fn count_vowels(text: &str) -> usize {\n    0\n}\n", True),
    ("Rename the function calc_total to order_total", "m.py", "def order_total():\n  pass\n",
     False),  # names no function to add
])
def test_the_done_hint_only_when_the_file_defines_what_the_task_asks(
    tmp_path: Path, task: str, rel: str, text: str, done: bool
) -> None:
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(text)
    note = defined_note(tmp_path, task, rel)
    assert bool(note) is done, note
    if done:
        assert f"{rel} now defines" in note and "answer now with a one-line summary" in note
