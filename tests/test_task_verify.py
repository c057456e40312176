"""Task mode checks the model's "done" and attaches the files a task names (real `ca`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from code_assistant.agent.context import attach_named_files, named_paths
from code_assistant.agent.verify import ROUNDS, find_check, named_command, printed_text
from code_assistant.tools.registry import ToolContext
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca

BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def shell_commands(events: list[dict[str, Any]]) -> list[str]:
    return [e["arguments"]["command"] for e in events
            if e["event"] == "tool_call" and e["name"] == "run_shell"]


def one_attempt(env: dict[str, str]) -> dict[str, str]:
    """The env for a test of how one attempt ends: no fresh start (freshstart.py)."""
    return {**env, "CA_TASK_RESTARTS": "0"}


def user_messages(server: FakeModelServer) -> list[str]:
    messages = server.chat_requests[-1]["body"]["messages"]
    return [m["content"] for m in messages if m["role"] == "user"]


def project(tmp_path: Path) -> Path:
    (tmp_path / "calc.py").write_text(BUGGY)
    (tmp_path / "test_calc.py").write_text(TEST)
    return tmp_path


def test_a_failing_check_goes_back_to_the_model_until_it_passes(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project(tmp_path)
    fake_server.enqueue(
        call("edit_file", path="calc.py", old="return a - b", new="return a * b"),
        {"text": "Fixed add."},
        call("edit_file", path="calc.py", old="return a * b", new="return a + b"),
        {"text": "Now add really adds."},
    )
    result = run_ca(["--yes", "--json", "do", "fix add in calc.py"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    final = events[-1]
    assert (final["stop_reason"], final["verified"]) == ("done", True)
    assert "-m pytest -q" in final["check_command"]
    assert final["final_text"] == "Now add really adds."
    assert len(shell_commands(events)) == 2  # ca ran the check after each "done"
    feedback = user_messages(fake_server)[-1]
    assert feedback.startswith("The task is not done: ca ran `")
    assert "assert 6 == 5" in feedback and "1 failed" in feedback
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_a_check_that_keeps_failing_ends_unverified_with_exit_1(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project(tmp_path)
    fake_server.enqueue(
        call("edit_file", path="calc.py", old="return a - b", new="return a * b"),
        {"text": "Done."}, {"text": "Done, really."}, {"text": "It is done."}, "never asked",
    )
    result = run_ca(["--yes", "--json", "do", "fix add in calc.py"], one_attempt(ca_env), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["verified"]) == ("unverified", False)
    assert final["model_calls"] == 4  # two rounds of feedback, then the task ends
    assert "If the next check fails too, the task ends as failed." in user_messages(
        fake_server)[-1]


def test_the_console_says_the_check_failed(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project(tmp_path)
    fake_server.enqueue(*[{"text": "All done."}] * 3)
    result = run_ca(["--yes", "make the tests pass"], one_attempt(ca_env), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed" in result.stdout.splitlines()[-2]
    assert result.stdout.rstrip().endswith(
        "the check still fails: the task is not done (see the command above)"
    )


def test_a_check_the_model_already_passed_is_not_run_again(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project(tmp_path)
    fake_server.enqueue(
        call("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        call("run_shell", command="python -m pytest -q -p no:cacheprovider test_calc.py"),
        {"text": "Fixed; the test passes."},
    )
    result = run_ca(["--yes", "--json", "do", "fix add in calc.py"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    assert len(shell_commands(events)) == 1
    assert events[-1]["verified"] is True


def test_nothing_to_run_ends_as_before(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(call("write_file", path="notes.txt", content="hi\n"), {"text": "Wrote it."})
    result = run_ca(["--yes", "--json", "do", "write notes.txt"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert shell_commands(events) == []
    assert (events[-1]["verified"], events[-1]["check_command"]) == (None, "")


def test_pytest_collecting_nothing_is_nothing_to_check(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    fake_server.enqueue(call("write_file", path="x.py", content="X = 1\n"), {"text": "Done."})
    result = run_ca(["--yes", "--json", "do", "create x.py"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    assert len(shell_commands(events)) == 1
    assert events[-1]["stop_reason"] == "done"


def test_a_program_the_task_names_is_run_even_without_changes(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("print(1 / 0)\n")
    fake_server.enqueue(
        {"text": "The program divides by zero."},
        call("edit_file", path="app.py", old="1 / 0", new="1 / 1"),
        {"text": "It prints 1.0 now."},
    )
    result = run_ca(
        ["--yes", "--json", "do", "running `python app.py` crashes; fix it"], ca_env, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    # before the first step (the task says it crashes), after "done", after the fix
    assert shell_commands(events) == ["python app.py"] * 3
    assert "ca ran `python app.py` before you started:" in user_messages(fake_server)[0]
    assert "ZeroDivisionError" in user_messages(fake_server)[-1]
    assert events[-1]["verified"] is True


def test_the_function_a_crash_ends_in_is_shown_before_the_first_step_and_after_done(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("def ratio(a, b):\n    return a / b\n\n\nprint(ratio(1, 0))\n")
    fake_server.enqueue(*({"text": "It divides by zero."},) * 3)
    result = run_ca(["--yes", "--json", "do", "python app.py crashes; fix it"],
                    one_attempt(ca_env), tmp_path)
    shown = "The error happens in app.py line 2, in ratio, lines 1-2:\n    1 | def ratio(a, b):"
    first, after_done = user_messages(fake_server)[0], user_messages(fake_server)[1]
    assert shown in first and first.endswith(
        "The cause is in or called from these lines.\nFix it with edit_file. ca runs the same "
        "command again "
        "when you are done.")
    assert shown in after_done
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["verified"]) == ("unverified", False)


def test_named_files_are_attached_and_count_as_read(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "pricing.py").write_text("def total(xs):\n    return sum(xs) + 1\n")
    (tmp_path / "test_pricing.py").write_text(
        "from pricing import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    )
    fake_server.enqueue(
        call("write_file", path="pricing.py", content="def total(xs):\n    return sum(xs)\n"),
        {"text": "Fixed total."},
    )
    task = "The tests in test_pricing.py fail. Fix the bug in the code."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    first = fake_server.chat_requests[0]["body"]["messages"][1]["content"]
    assert "## test_pricing.py\n    1 | from pricing import total" in first
    assert "## pricing.py\n    1 | def total(xs):\n    2 |     return sum(xs) + 1" in first
    # the code to fix first: the real 1.5B edited whichever file came first, here the test
    assert first.index("## pricing.py") < first.index("## test_pricing.py")
    assert f"# Task\n{task}\n\nca ran `" in first  # the tests "fail": their run comes first
    assert "assert 4 == 3" in first and "The failing assertion calls total([1, 2])" in first
    assert "change total in pricing.py so the assertion holds" in first
    results = [e for e in events_of(result.stdout)
               if e["event"] == "tool_result" and not e["id"].startswith("check")]
    assert results[0]["ok"] is True  # the attached file counts as read: overwrite allowed
    assert events_of(result.stdout)[-1]["verified"] is True


def test_named_paths_finds_paths_and_unique_bare_names(tmp_path: Path) -> None:
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "cli.py").write_text("x = 1\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "util.py").write_text("")
    (tmp_path / "b" / "util.py").write_text("")
    (tmp_path / "README.md").write_text("# r\n")
    (tmp_path.parent / "secret.txt").write_text("no\n")
    task = ("Add --verbose to cli.py (see `src/app/cli.py`), fix util.py, update README.md. "
            "Not ../secret.txt, nor missing.py, nor e.g. this.")
    assert named_paths(tmp_path, task) == ["src/app/cli.py", "README.md"]


def test_big_files_are_not_attached(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("x = 1\n" * 5000)
    (tmp_path / "small.py").write_text("y = 2\n")
    ctx = ToolContext(root=tmp_path)
    message = attach_named_files(ctx, "compare big.py and small.py")
    assert "## small.py\n    1 | y = 2" in message and "## big.py" not in message
    assert ctx.seen_files == {"small.py"}
    assert attach_named_files(ToolContext(root=tmp_path), "just chat") == "just chat"


def test_the_check_comes_from_the_task_then_the_project(tmp_path: Path) -> None:
    assert named_command("run `node index.js --x` and fix the crash") == "node index.js --x"
    assert named_command("rename `old_name` to `new_name`") == ""
    assert named_command("Running python report.py crashes. Fix it.") == "python report.py"
    assert named_command("cargo test fails; fix lib.rs") == ""  # the project's runner decides
    assert find_check(tmp_path, "add a flag") is None
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    check = find_check(tmp_path, "add a flag")
    assert check is not None and check.key == "pytest" and not check.required
    assert find_check(tmp_path, "make the tests pass").required  # type: ignore[union-attr]
    configured = find_check(tmp_path, "add a flag", "make check")
    assert configured is not None and configured.command == "make check"
    program = find_check(tmp_path, "`python tool.py --n 3` prints the wrong number")
    assert program is not None and program.key == "tool.py" and program.required
    assert program.matches("python3 tool.py --n 3")


def test_without_tests_changed_python_files_must_compile(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "stats.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    fake_server.enqueue(
        call("read_file", path="stats.py"),
        call("write_file", path="stats.py", content="def mean(xs)\n    return 0\n"),
        {"text": "Done."},
        call("write_file", path="stats.py", content="def mean(xs):\n    return 0\n"),
        {"text": "Fixed the file."},
    )
    result = run_ca(["--yes", "--json", "do", "simplify mean"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    commands = shell_commands(events)
    assert len(commands) == 2 and all(c.endswith("-m py_compile stats.py") for c in commands)
    feedback = user_messages(fake_server)[-1]
    assert "SyntaxError" in feedback and "expected ':'" in feedback
    assert events[-1]["verified"] is True


def test_a_check_this_machine_cannot_run_is_no_verdict(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    ca_env = {**ca_env, "CA_TEST_COMMAND": "no-such-tool-xyz check"}
    fake_server.enqueue(call("write_file", path="y.py", content="Y = 1\n"), {"text": "Done."})
    result = run_ca(["--yes", "--json", "do", "create y.py"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    assert shell_commands(events) == ["no-such-tool-xyz check"]
    assert (events[-1]["stop_reason"], events[-1]["verified"]) == ("done", None)


def test_a_fix_task_whose_tests_show_the_bug_cannot_edit_the_test(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on "the tests fail, fix the bug": it changed the test's expected value.
    project(tmp_path)
    fake_server.enqueue(
        call("edit_file", path="test_calc.py", old="== 5", new="== -1"),
        call("edit_file", path="test_calc.py", old="== 5", new="== 5"),  # old == new
        call("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        {"text": "Fixed add in calc.py."},
    )
    task = "The tests in test_calc.py fail. Fix the bug in the code so that they pass."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    refused, same = [e for e in events_of(result.stdout)
                     if e["event"] == "tool_result" and not e["id"].startswith("check")][:2]
    assert refused["ok"] is False
    assert refused["output"].startswith("error: not changed: test_calc.py is a test")
    assert "read the code it calls (calc.py)" in refused["output"]
    assert "old and new were the same" not in refused["output"]
    assert same["output"].endswith("Also, old and new were the same: new must hold the changed "
                                   "lines.")
    assert (tmp_path / "test_calc.py").read_text() == TEST
    assert events_of(result.stdout)[-1]["verified"] is True


def test_a_task_that_may_change_tests_still_can(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project(tmp_path)
    fake_server.enqueue(
        call("edit_file", path="test_calc.py", old="add(2, 3) == 5", new="add(2, 2) == 0"),
        {"text": "Updated the test."},
    )
    task = "add(2, 2) returns 0 now; update the test in test_calc.py so it passes"
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "add(2, 2) == 0" in (tmp_path / "test_calc.py").read_text()


def test_a_function_the_task_names_must_be_defined_at_the_top_level(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on "a module textutil.py with a function slugify(text)": a class TextUtil.
    as_method = "class TextUtil:\n    @staticmethod\n    def slugify(text):\n        return text\n"
    fake_server.enqueue(
        call("write_file", path="textutil.py", content=as_method),
        {"text": "Created textutil.py."},
        call("write_file", path="textutil.py", content="def slugify(text):\n    return text\n"),
        {"text": "slugify is now a module function."},
    )
    task = "Create a module textutil.py with a function slugify(text) that lowercases the text."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    feedback = user_messages(fake_server)[-1]
    assert feedback.startswith("The task is not done: textutil.py defines slugify inside class")
    assert "`def slugify(...)` at the top level of the module" in feedback
    # the file without the class, to copy: the 1.5B otherwise wrote its class again
    assert feedback.endswith("Without the class, textutil.py reads as below; write exactly "
                             "this with write_file:\n```python\ndef slugify(text):\n"
                             "    return text\n```\n Then answer with a short summary.")
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["final_text"]) == (
        "done", "slugify is now a module function.")


def test_a_named_method_in_its_class_and_a_js_function_pass_without_a_round(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "bank.py").write_text("class Account:\n    balance = 0\n")
    (tmp_path / "m.js").write_text("function sum(xs) { return 0; }\n")
    fake_server.enqueue(
        call("edit_file", path="bank.py", old="", new="    def withdraw(self, amount):\n"
             "        self.balance -= amount\n"),
        call("edit_file", path="m.js", old="function sum", new="const product = (xs) => 1;\n"
             "function sum"),
        {"text": "Added both."},
    )
    task = "Add a withdraw(amount) method to Account in bank.py and a function product(xs) to m.js"
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_server.remaining == 0 and len(fake_server.chat_requests) == 3


def test_a_named_function_left_out_of_the_export_list_is_pointed_out_with_the_fixed_line(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B: it appended product after `module.exports = { sum, max };` and stopped.
    (tmp_path / "mathlib.js").write_text(
        "function sum(xs) { return 0; }\n\nmodule.exports = { sum, max };\n")
    fake_server.enqueue(
        call("edit_file", path="mathlib.js", old="", new="function product(xs) { return 1; }\n"),
        {"text": "Added product."},
        call("edit_file", path="mathlib.js", old="module.exports = { sum, max };",
             new="module.exports = { sum, max, product };"),
        {"text": "Exported it too."},
    )
    task = "Add a function product(xs) to mathlib.js and export it with the others."
    result = run_ca(["--yes", "--json", "do", task], one_attempt(ca_env), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = ("Change that line to `module.exports = { sum, max, product };` (old: the line "
             "as it is; new: the changed line).")
    # What the model read after each edit (the events show the tool's own output).
    edited = [m["content"] for m in fake_server.chat_requests[-1]["body"]["messages"]
              if m["role"] == "tool"]
    assert edited[0].endswith("mathlib.js defines product but does not export it: line 3 "
                              "reads `module.exports = { sum, max };`. " + fixed)
    assert user_messages(fake_server)[-1].startswith("The task is not done: mathlib.js defines "
                                                     "product but does not export it")
    assert "product };" in (tmp_path / "mathlib.js").read_text()
    assert "does not export" not in edited[1]  # exported: no note after the second edit
    assert edited[1].endswith("[ca: mathlib.js now defines product, as the task asks. If the "
                              "task asks for nothing more, answer now with a one-line summary "
                              "of what you changed.]")
    assert "now defines" not in edited[0]  # defined but not exported yet
    assert fake_server.remaining == 0


def test_an_add_task_that_changed_nothing_is_not_done(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on js-add-function (s26a): one failed edit, then a reply ca could not read
    # as a call, and the task ended "done" with mathlib.js as it was.
    (tmp_path / "mathlib.js").write_text("function sum(xs) { return 0; }\n")
    fake_server.enqueue(*[{"text": "I added product."}] * (ROUNDS + 1))
    task = "Add a function product(xs) to mathlib.js."
    result = run_ca(["--yes", "--json", "do", task], one_attempt(ca_env), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert user_messages(fake_server)[-1] == (
        "The task is not done: the task asks for function product, and mathlib.js does not "
        "define it. Fix it with edit_file, then answer with a short summary.")
    assert events_of(result.stdout)[-1]["stop_reason"] == "unverified"


def rename_project(tmp_path: Path) -> Path:
    (tmp_path / "orders.py").write_text("def calc_total(xs):\n    return sum(xs)\n")
    (tmp_path / "main.py").write_text("from orders import calc_total\n\nprint(calc_total([1]))\n")
    return tmp_path


def test_a_rename_is_tracked_until_the_old_name_is_gone_and_never_undone(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on "rename calc_total to order_total": renamed the def, looked, renamed it
    # back, looked, ... until stopped.
    rename_project(tmp_path)
    fake_server.enqueue(
        call("edit_file", path="orders.py", old="def calc_total", new="def order_total"),
        call("edit_file", path="orders.py", old="def order_total", new="def calc_total"),
        {"text": "Renamed."},
        call("edit_file", path="main.py", old="from orders import calc_total\n\n"
             "print(calc_total([1]))", new="from orders import order_total\n\n"
             "print(order_total([1]))"),
        {"text": "Renamed everywhere."},
    )
    task = "Rename the function calc_total to order_total everywhere in the project."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    messages = fake_server.chat_requests[-1]["body"]["messages"]
    outputs = [m["content"] for m in messages if m["role"] == "tool"]  # what the model read
    first = messages[1]["content"]
    assert first.endswith(
        "ca searched the project for you. calc_total still appears in 3 place(s):\n"
        "main.py:\n    1 | from orders import calc_total\n    3 | print(calc_total([1]))\n"
        "orders.py:\n    1 | def calc_total(xs):\n"
        "Change them with one call per file, which changes every place in that file:\n"
        'edit_file(path="main.py", old="calc_total", new="order_total", replace_all=true)\n'
        'edit_file(path="orders.py", old="calc_total", new="order_total", replace_all=true)')
    assert outputs[0].endswith(
        "calc_total still appears in 2 place(s):\nmain.py:\n    1 | from orders import "
        "calc_total\n    3 | print(calc_total([1]))\nChange them with one call per file, which "
        'changes every place in that file:\nedit_file(path="main.py", old="calc_total", '
        'new="order_total", replace_all=true)')
    assert outputs[1].startswith("error: not changed: this edit puts calc_total back")
    feedback = user_messages(fake_server)[-1]
    assert feedback.startswith("The task is not done: calc_total still appears in 2 place(s)")
    assert outputs[2].endswith("calc_total no longer appears anywhere in the project: the "
                               "rename to order_total is done.")
    assert events_of(result.stdout)[-1]["stop_reason"] == "done"
    assert "calc_total" not in (tmp_path / "orders.py").read_text() + (
        tmp_path / "main.py").read_text()


GREET = (
    "import argparse\n\n\ndef main() -> None:\n    parser = argparse.ArgumentParser()\n"
    "    parser.add_argument('name')\n    args = parser.parse_args()\n"
    "    print(f'Hello, {args.name}!')\n\n\nmain()\n"
)


def test_an_option_the_task_names_must_show_in_the_scripts_help(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on "add a --shout option": upper-cased every greeting, no option at all.
    (tmp_path / "greet.py").write_text(GREET)
    fake_server.enqueue(
        call("edit_file", path="greet.py", old="print(f'Hello, {args.name}!')",
             new="print(f'Hello, {args.name}!'.upper())"),
        {"text": "Added --shout."},
        call("edit_file", path="greet.py", old="    args = parser.parse_args()\n",
             new="    parser.add_argument('--shout', action='store_true')\n"
                 "    args = parser.parse_args()\n"),
        {"text": "Added the --shout option."},
    )
    task = "Add a --shout option to greet.py that prints the greeting in capital letters."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    feedback = user_messages(fake_server)[-1]
    assert "greet.py --help` to check your change and its output does not show --shout" in (
        feedback)
    # The line to copy, after the script's last add_argument.
    assert ("In greet.py, line 6 is `parser.add_argument('name')`. Add this line after it:\n"
            '    parser.add_argument("--shout", action="store_true")\nthen use args.shout '
            "where greet.py makes its output: the output changes only when --shout is given."
            ) in feedback
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["verified"]) == ("done", True)
    assert final["check_command"].endswith("greet.py --help")


def test_a_script_the_task_says_prints_a_text_is_run_and_must_print_it(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 0.5B on "Create hello.py that prints exactly: hello world": hello.py = "hello world".
    fake_server.enqueue(
        call("write_file", path="hello.py", content="print('hello')\n"),
        {"text": "Created hello.py."},
        call("write_file", path="hello.py", content="print('hello world')\n"),
        {"text": "Fixed hello.py."},
    )
    task = "Create hello.py that prints exactly: hello world"
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    feedback = user_messages(fake_server)[-1]
    assert "hello.py` to check your change and its output does not show hello world." in feedback
    assert "When run, hello.py must print hello world" in feedback
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["verified"]) == ("done", True)
    assert final["check_command"].endswith("python3 hello.py")
    assert len(shell_commands(events_of(result.stdout))) == 2


def test_a_script_the_task_says_prints_must_print_something(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on output-format (s26a): it wrote the CSV into scores.csv, ran scores.py,
    # saw no output and called the task done.
    (tmp_path / "scores.py").write_text("print('ines 42')\n")
    fake_server.enqueue(
        call("write_file", path="scores.py",
             content="with open('scores.csv', 'w') as f:\n    f.write('name,score\\n')\n"),
        {"text": "Done."},
        call("write_file", path="scores.py", content="print('name,score')\n"),
        {"text": "Now it prints CSV."},
    )
    task = "Change scores.py so that it prints the results as CSV."
    result = run_ca(["--yes", "--json", "do", task], one_attempt(ca_env), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    feedback = user_messages(fake_server)[-1]
    assert "scores.py` to check your change and it printed nothing. When run, scores.py must " \
           "print its results to the terminal: print them with print(), not into a file." in (
               feedback)
    assert events_of(result.stdout)[-1]["verified"] is True


def test_a_named_function_still_missing_after_the_rounds_ends_unverified(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(
        call("write_file", path="textutil.py", content="def slug(text):\n    return text\n"),
        {"text": "Done."}, {"text": "Done, really."}, {"text": "It is done."},
    )
    task = "Create a module textutil.py with a function slugify(text)."
    result = run_ca(["--yes", "--json", "do", task], one_attempt(ca_env), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["verified"], final["model_calls"]) == (
        "unverified", False, 4)


@pytest.mark.parametrize(("task", "text"), [
    ("Create hello.py that prints exactly: hello world", "hello world"),
    ('Write a.py that prints "Done" and exits', "Done"),
    ("a script that prints out exactly `ok 3`.", "ok 3"),
    ("greet.py prints: Hello, World!", "Hello, World!"),
    ("Add a --shout option that prints the greeting in capitals", ""),
    ("make main print the sum", ""),
])
def test_the_text_a_task_says_a_script_prints(task: str, text: str) -> None:
    assert printed_text(task) == text


def test_an_add_task_keeps_the_functions_it_does_not_name(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on js-add-function: old held the new product (not in the file), the closest
    # region shown was sum, and the model then replaced sum with product.
    start = ("'use strict';\n\nfunction sum(numbers) {\n"
             "  return numbers.reduce((t, n) => t + n, 0);\n}\n\nmodule.exports = { sum };\n")
    (tmp_path / "mathlib.js").write_text(start)
    product = "function product(numbers) {\n  return numbers.reduce((t, n) => t * n, 1);\n}"
    exports = "\n\nmodule.exports = { sum, product };"
    fake_server.enqueue(
        call("edit_file", path="mathlib.js",
             old="function sum(numbers) {\n  return numbers.reduce((t, n) => t + n, 0);\n}",
             new=product),
        call("edit_file", path="mathlib.js", old=product, new=product + exports),
        {"text": "Added product."},
    )
    task = "Add a function product(numbers) to mathlib.js and export it with the others."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    outputs = [m["content"] for m in fake_server.chat_requests[-1]["body"]["messages"]
               if m["role"] == "tool"]
    assert outputs[0].startswith("error: not changed: this edit would delete sum from mathlib.js")
    assert 'old set to "" (empty)' in outputs[0]
    assert outputs[1].startswith("note: old is not in mathlib.js and new begins with it, so new "
                                 "was added as new code")
    text = (tmp_path / "mathlib.js").read_text()
    assert text == start + "\n" + product + exports + "\n"
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_edit_may_drop_a_function_the_task_names(tmp_path: Path) -> None:
    from code_assistant.agent.verify import Verifier

    (tmp_path / "m.py").write_text("def old_helper():\n    pass\n\n\ndef keep():\n    pass\n")
    edit = {"path": "m.py", "old": "def old_helper():\n    pass\n", "new": ""}
    assert Verifier(tmp_path, "Remove old_helper from m.py").refusal("edit_file", edit) == ""
    assert "would delete old_helper" in Verifier(tmp_path, "Add a function f to m.py").refusal(
        "edit_file", edit)
    renamed = {"path": "m.py", "old": "def old_helper():", "new": "def new_helper():"}
    task = "Rename old_helper to new_helper"
    assert Verifier(tmp_path, task).refusal("edit_file", renamed) == ""


def test_a_fresh_start_refuses_the_stuck_change_but_not_a_look_and_names_the_js_code(
    tmp_path: Path,
) -> None:
    from code_assistant.agent import stuck
    from code_assistant.agent.verify import Verifier
    from code_assistant.backends.base import ToolCall

    # Real 1.5B on js-fix-test (s26a): it edited the test again and again; in the fresh
    # start its read_file of the test was refused as "already got an attempt stuck".
    (tmp_path / "titlecase.js").write_text("module.exports = { titleCase: (s) => s };\n")
    (tmp_path / "test.js").write_text("const { titleCase } = require('./titlecase');\n")
    verifier = Verifier(tmp_path, "node test.js fails. Fix the bug in titlecase.js so the "
                                  "tests pass.")
    edit = {"path": "test.js", "old": "titleCase", "new": "titlecase"}
    read = {"path": "test.js"}
    verifier.tried = {stuck.signature(ToolCall("edit_file", edit)),
                      stuck.signature(ToolCall("read_file", read))}
    assert verifier.refusal("edit_file", edit).startswith("not run: this exact call already")
    assert verifier.refusal("read_file", read) == ""
    other = {"path": "test.js", "old": "const", "new": "let"}
    assert "fix the bug there with edit_file" in verifier.refusal("edit_file", other)
    assert "read the code it calls (titlecase.js)" in verifier.refusal("edit_file", other)


def test_an_edit_with_old_equal_to_new_in_an_add_task_says_how_to_add(tmp_path: Path) -> None:
    from code_assistant.agent.verify import Verifier

    # Real 1.5B on parse-config (s26a): the whole settings.py as old and as new, twice.
    (tmp_path / "settings.py").write_text("DEFAULTS = {}\n")
    same = {"path": "settings.py", "old": "DEFAULTS = {}\n", "new": "DEFAULTS = {}\n"}
    task = "Add a function load_config(path) to settings.py that reads KEY=VALUE lines."
    assert Verifier(tmp_path, task).refusal("edit_file", same) == (
        "not changed: old and new are the same. The task asks for function load_config, which "
        'settings.py does not define yet. To add it, call edit_file with path "settings.py", '
        'old "" (empty) and new holding only the code of load_config: it is added to the '
        "file, and the rest stays as it is.")
    (tmp_path / "settings.py").write_text("def load_config(path):\n    return {}\n")
    assert Verifier(tmp_path, task).refusal("edit_file", same) == ""  # defined: the tool says


def test_an_add_task_keeps_the_methods_it_does_not_name(tmp_path: Path) -> None:
    # Real 1.5B on add-method: old was the deposit method (indented deeper than in the file),
    # new the withdraw method, so the edit replaced the method it was to keep.
    from code_assistant.agent.verify import Verifier

    deposit = ("    def deposit(self, amount):\n        self.balance += amount\n"
               "        return self.balance\n")
    (tmp_path / "bank.py").write_text(
        "class Account:\n    def __init__(self, balance=0):\n        self.balance = balance\n\n"
        + deposit)
    withdraw = "    def withdraw(self, amount):\n        self.balance -= amount\n"
    task = "Add a withdraw(amount) method to the Account class in bank.py"
    verifier = Verifier(tmp_path, task)
    replaced = {"path": "bank.py", "old": deposit.replace("    ", "        "), "new": withdraw}
    assert "would delete deposit from bank.py" in verifier.refusal("edit_file", replaced)
    kept = {"path": "bank.py", "old": deposit, "new": deposit + "\n" + withdraw}
    assert verifier.refusal("edit_file", kept) == ""
    named = Verifier(tmp_path, "Replace the deposit method of Account with withdraw")
    assert named.refusal("edit_file", replaced) == ""


def test_a_rename_by_the_calls_ca_suggests_changes_every_place(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B on rename-across-files: three of five places changed, then the same three
    # edits re-sent until stuck. A call per file that it can copy changes all of them.
    rename_project(tmp_path)
    (tmp_path / "orders.py").write_text("def calc_total(xs):\n    return sum(xs)\n\n\n"
                                        "def twice(xs):\n    return 2 * calc_total(xs)\n")
    suggested = [call("edit_file", path=rel, old="calc_total", new="order_total", replace_all=True)
                 for rel in ("main.py", "orders.py")]
    fake_server.enqueue(*suggested, {"text": "Renamed."})
    task = "Rename the function calc_total to order_total everywhere in the project."
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = [m["content"] for m in fake_server.chat_requests[-1]["body"]["messages"]
               if m["role"] == "tool"]
    assert outputs[0].startswith("note: replaced all 2 places\nedited main.py (+2 -2)")
    assert outputs[1].endswith("the rename to order_total is done.")
    assert "calc_total" not in (tmp_path / "orders.py").read_text() + (
        tmp_path / "main.py").read_text()
    assert events_of(result.stdout)[-1]["stop_reason"] == "done"
