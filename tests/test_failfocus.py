"""The function a failing check points at, from real pytest and traceback output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from code_assistant.agent.failfocus import focus_note

PRICING = (
    '"""Prices."""\n\n\ndef apply_discount(price, percent):\n'
    "    return round(price - price * percent, 2)\n\n\ndef total(prices):\n"
    "    return round(sum(prices), 2)\n"
)


def run(root: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True,
                          timeout=120, check=False)
    return done.stdout + done.stderr


def test_a_failing_assertion_shows_the_function_it_called(tmp_path: Path) -> None:
    (tmp_path / "pricing.py").write_text(PRICING)
    (tmp_path / "test_pricing.py").write_text(
        "from pricing import apply_discount\n\n\ndef test_off():\n"
        "    assert apply_discount(200.0, 10) == 180.0\n"
    )
    note = focus_note(tmp_path, run(tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider"))
    assert note.startswith(
        "The failing assertion calls apply_discount(200.0, 10), which returned -1800.0. "
        "It must return 180.0. apply_discount is in pricing.py, lines 4-5:\n"
        "    4 | def apply_discount(price, percent):\n"
        "    5 |     return round(price - price * percent, 2)\n"
    )


def test_a_traceback_shows_the_innermost_project_function_not_a_test(tmp_path: Path) -> None:
    (tmp_path / "report.py").write_text(
        "import json\n\n\ndef load(text):\n    data = json.loads(text)\n    return data['x']\n\n\n"
        "def main():\n    print(load('{}'))\n\n\nmain()\n"
    )
    note = focus_note(tmp_path, run(tmp_path, "report.py"))
    assert note.startswith("The error happens in report.py line 6, in load, lines 4-6:\n"
                           "    4 | def load(text):\n")
    assert "def main" not in note


def test_nothing_to_point_at_gives_no_note(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    return 1\n\n\ndef f2():\n    return 2\n")
    assert focus_note(tmp_path, "E       +  where 3 = len([1, 2, 3])") == ""  # not ours
    assert focus_note(tmp_path, "Traceback:\n  File \"/usr/lib/x.py\", line 3, in g\n") == ""
    assert focus_note(tmp_path, "") == ""
    (tmp_path / "b.py").write_text("def f():\n    return 3\n")  # f twice: which one is unknown
    assert focus_note(tmp_path, "E       +  where 1 = f()") == ""


def test_a_name_error_for_a_project_module_or_name_says_which_import_is_missing(
    tmp_path: Path,
) -> None:
    # Real 1.5B on "write tests for wordcount.py": wordcount.words(...) with no import.
    (tmp_path / "wordcount.py").write_text("def words(text):\n    return text.split()\n")
    test = tmp_path / "test_wordcount.py"
    test.write_text("def test_words():\n    assert wordcount.words('a b') == ['a', 'b']\n")
    pytest_run = ("-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert focus_note(tmp_path, run(tmp_path, *pytest_run)) == (
        "NameError: wordcount is not defined in test_wordcount.py because it is never "
        "imported. Add the line `import wordcount` at the top of test_wordcount.py, above "
        "the code that uses wordcount."
    )
    test.write_text("def test_words():\n    assert words('a b') == ['a', 'b']\n")
    assert "Add the line `from wordcount import words` at the top of test_wordcount.py" in (
        focus_note(tmp_path, run(tmp_path, *pytest_run)))
    test.write_text("def test_words():\n    assert nowhere('a b')\n")
    assert "NameError" not in focus_note(tmp_path, run(tmp_path, *pytest_run))


def test_test_functions_with_parameters_pytest_cannot_fill_are_named(tmp_path: Path) -> None:
    # Real 1.5B on write-tests: `def test_words(text):`, run again and again.
    (tmp_path / "wordcount.py").write_text("def words(text):\n    return text.split()\n")
    (tmp_path / "test_wordcount.py").write_text(
        "from wordcount import words\n\n\ndef test_words(text):\n    assert words(text) == []\n"
        "\n\ndef test_top(text, n):\n    assert n\n\n\ndef test_ok(tmp_path):\n    assert 1\n"
    )
    note = focus_note(tmp_path, run(tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider"))
    assert note == (
        "pytest passes a test function nothing but fixtures, and there is no fixture named "
        "text: `def test_words(text):` must become `def test_words():`; `def test_top(text, n):` "
        "must become `def test_top():`, with the values each test needs written inside it.")
