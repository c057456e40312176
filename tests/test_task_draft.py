"""The whole-file first answer of a one-shot task (agent/draft.py), parser and real `ca do`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.agent import draft
from code_assistant.agent.draft import Draft, elides, parse_files, plan_draft, prose, writes
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca

STATS = "def mean(values):\n    return sum(values) / len(values)\n"
WITH_MEDIAN = STATS + "\n\ndef median(values):\n    return sorted(values)[len(values) // 2]\n"
BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def draft_of(*writable: str) -> Draft:
    return Draft("a task", tuple(writable), (), ())


def reply(path: str, content: str, lang: str = "python") -> str:
    return f"I add it.\n\n{path}\n```{lang}\n{content}```\n"


# -- the reply parser ------------------------------------------------------------------


def test_a_file_under_its_path_is_parsed() -> None:
    files = parse_files(reply("stats.py", WITH_MEDIAN), draft_of("stats.py", "main.py"))
    assert files == [("stats.py", WITH_MEDIAN)]


@pytest.mark.parametrize("header", ["**stats.py**", "### stats.py", "File: stats.py:", "`stats.py`",
                                    "./stats.py"])
def test_the_path_line_may_carry_markup(header: str) -> None:
    text = f"{header}\n```python\n{STATS}```"
    assert parse_files(text, draft_of("stats.py", "other.py")) == [("stats.py", STATS)]


def test_the_path_may_be_in_the_fence_or_a_base_name() -> None:
    text = "```rust lib.rs\nfn f() {}\n```\n\n```python main.py\nx = 1\n```"
    found = parse_files(text, draft_of("src/lib.rs", "main.py"))
    assert found == [("src/lib.rs", "fn f() {}\n"), ("main.py", "x = 1\n")]


def test_a_first_line_comment_may_name_the_file() -> None:
    text = f"```python\n# stats.py\n{STATS}```\n```js\n// lib/a.js\nx()\n```"
    assert parse_files(text, draft_of("stats.py", "lib/a.js")) == [
        ("stats.py", f"# stats.py\n{STATS}"), ("lib/a.js", "// lib/a.js\nx()\n")]


def test_one_block_without_a_path_is_the_only_file() -> None:
    assert parse_files(f"```python\n{STATS}```", draft_of("stats.py")) == [("stats.py", STATS)]
    assert parse_files(f"```python\n{STATS}```", draft_of("a.py", "b.py")) == []


def test_blocks_for_other_files_or_cut_short_are_left_out() -> None:
    text = f"example.py\n```python\nprint(1)\n```\nstats.py\n```python\n{STATS}"
    assert parse_files(text, draft_of("stats.py", "main.py")) == []


def test_a_path_and_fence_inside_a_fence_is_that_file() -> None:
    """Real 1.5B on rust-fix-test: a fence, the path, a second fence, the file, one close."""
    code = "pub fn f() -> u8 {\n    1\n}\n"
    text = f"```rust\nsrc/lib.rs\n```rust\n{code}```\n"
    assert parse_files(text, draft_of("src/lib.rs", "x.py")) == [("src/lib.rs", code)]
    # real 0.5B: the path as the block's first line, no second fence
    text = '```python\nhello.py\nprint("hello world")\n```\n'
    assert parse_files(text, draft_of("hello.py")) == [("hello.py", 'print("hello world")\n')]


def test_a_file_given_twice_keeps_the_last() -> None:
    text = reply("stats.py", STATS) + reply("stats.py", WITH_MEDIAN)
    assert parse_files(text, draft_of("stats.py", "x.py")) == [("stats.py", WITH_MEDIAN)]


def test_a_longer_fence_holds_a_shorter_one() -> None:
    body = 'DOC = """\n```\nexample\n```\n"""\n'
    assert parse_files(f"doc.py\n````python\n{body}````", draft_of("doc.py", "x.py")) == [
        ("doc.py", body)]


_LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r`~"),
                max_size=30)


@given(st.lists(st.tuples(st.sampled_from(["a.py", "src/b.rs", "c/d.js"]),
                          st.lists(_LINE, max_size=8)), min_size=1, max_size=4))
def test_files_written_in_the_format_come_back(files: list[tuple[str, list[str]]]) -> None:
    text = "Here they are.\n\n" + "\n\n".join(
        f"{path}\n```\n" + "".join(f"{line}\n" for line in lines) + "```" for path, lines in files)
    expected: dict[str, str] = {}
    for path, lines in files:
        expected.pop(path, None)
        expected[path] = "".join(f"{line}\n" for line in lines)
    assert parse_files(text, draft_of("a.py", "src/b.rs", "c/d.js")) == list(expected.items())


def test_a_reply_that_leaves_code_out_in_words_is_seen() -> None:
    assert elides(STATS, "def mean(values):\n    # ... rest of the code unchanged\n")
    assert elides(STATS, "# ...\n" + WITH_MEDIAN)
    assert not elides(STATS, WITH_MEDIAN)
    assert not elides("x = 1  # ...\n", "x = 1  # ...\ny = 2\n")  # the file had it


def test_only_files_that_change_something_are_written(tmp_path: Path) -> None:
    (tmp_path / "report.py").write_text(STATS)
    (tmp_path / "lib.rs").write_text("// lib.rs\nfn f() {}\n")
    files = draft_of("report.py", "lib.rs", "new.py")
    # its own path as a first comment, and otherwise the file as it was: nothing to write
    assert writes(tmp_path, files, reply("report.py", "# report.py\n" + STATS)) == []
    assert writes(tmp_path, files, reply("report.py", "# report.py\n" + WITH_MEDIAN)) == [
        ("report.py", WITH_MEDIAN)]
    # a file that began with that comment keeps it
    assert writes(tmp_path, files, reply("lib.rs", "// lib.rs\nfn g() {}\n", "rust")) == [
        ("lib.rs", "// lib.rs\nfn g() {}\n")]
    assert writes(tmp_path, files, reply("report.py", "# ...\n" + WITH_MEDIAN)) == []
    assert writes(tmp_path, files, reply("new.py", "x = 1\n")) == [("new.py", "x = 1\n")]
    assert writes(tmp_path, files, reply("new.py", "\n")) == []
    # the prompt's worked example copied out is not the user's file
    assert writes(tmp_path, files, reply("new.py", draft._EXAMPLE_ANSWER)) == []
    # the chat's markup is not code: a fence line the file did not have
    assert writes(tmp_path, files, reply("new.py", "x = 1\n```python\ny = 2\n", "")) == []
    (tmp_path / "notes.md").write_text("# Notes\n")
    markdown = draft_of("notes.md")
    assert writes(tmp_path, markdown, "notes.md\n````markdown\n# Notes\n```\nx\n```\n````\n") == [
        ("notes.md", "# Notes\n```\nx\n```\n")]


def test_the_prose_drops_the_files_and_their_path_lines() -> None:
    assert prose(reply("stats.py", WITH_MEDIAN) + "\nDone.") == "I add it. Done."


# -- which tasks get a draft ---------------------------------------------------------


def test_the_named_file_and_its_imports_are_drafted(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text("class Circle: ...\n")
    (tmp_path / "main.py").write_text("from shapes import Circle\n")
    (tmp_path / "big.py").write_text("x = 1\n" * 500)
    found = plan_draft(tmp_path, "add a square to main.py", 150)
    assert found == Draft("add a square to main.py", ("main.py", "shapes.py"), (), ())


def test_tests_that_show_the_bug_are_read_only(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(BUGGY)
    (tmp_path / "test_calc.py").write_text(TEST)
    task = "The tests in test_calc.py fail. Fix the bug in the code so that they pass."
    found = plan_draft(tmp_path, task, 150)
    assert found is not None
    assert (found.editable, found.readonly) == (("calc.py",), ("test_calc.py",))


def test_a_task_naming_no_file_drafts_a_small_project_whole(tmp_path: Path) -> None:
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("def calc_total(): ...\n")
    (tmp_path / "notes.md").write_text("# notes\n")
    found = plan_draft(tmp_path, "rename calc_total to order_total everywhere", 150)
    assert found is not None and found.editable == ("a.py", "b.py", "c.py")
    for name in "defghij":
        (tmp_path / f"{name}.py").write_text("x = 1\n")
    assert plan_draft(tmp_path, "rename calc_total to order_total everywhere", 150) is None


def test_big_files_or_none_at_all_get_no_draft(tmp_path: Path) -> None:
    (tmp_path / "stats.py").write_text("x = 1\n" * 151)
    assert plan_draft(tmp_path, "add median to stats.py", 150) is None
    assert plan_draft(tmp_path, "add median to stats.py", 151) is not None
    assert plan_draft(tmp_path, "add median to stats.py", 0) is None  # drafts turned off
    (tmp_path / "logo.py").write_bytes(b"\x89PNG\0\0")
    assert plan_draft(tmp_path, "fix logo.py", 150) is None


def test_a_file_to_create_is_drafted(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# x\n")
    found = plan_draft(tmp_path, "Create textutil.py with a function slugify(text)", 150)
    assert found == Draft("Create textutil.py with a function slugify(text)", (), (),
                          ("textutil.py",))


# -- real `ca do` against the fake model server ------------------------------------------


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture
def draft_env(ca_env: dict[str, str]) -> dict[str, str]:
    return {**ca_env, "CA_TASK_DRAFT_LINES": "150", "CA_TASK_RESTARTS": "0"}


def test_a_draft_that_passes_its_check_is_done_in_one_call(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "stats.py").write_text(STATS)
    fake_server.enqueue({"text": reply("stats.py", WITH_MEDIAN)})
    result = run_ca(["--yes", "--json", "do", "Add a function median(values) to stats.py."],
                    draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "stats.py").read_text() == WITH_MEDIAN
    events = events_of(result.stdout)
    final = events[-1]
    assert (final["stop_reason"], final["model_calls"], final["final_text"]) == (
        "done", 1, "I add it.")
    assert next(e["name"] for e in events if e["event"] == "tool_call") == "write_file"
    request = fake_server.chat_requests[0]["body"]
    assert not request.get("tools")  # the draft is asked for text, not calls
    files, asked = (m["content"] for m in request["messages"][-3::2])
    assert f"stats.py\n```python\n{STATS}```" in files
    assert asked.startswith("Add a function median(values) to stats.py.")
    assert "Answer with each file you change (stats.py)" in asked


def test_a_failing_draft_is_drafted_again_shown_the_failure(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return 0\n")
    (tmp_path / "test_calc.py").write_text(TEST)
    fake_server.enqueue({"text": reply("calc.py", BUGGY)},
                        {"text": reply("calc.py", "def add(a, b):\n    return a + b\n")})
    result = run_ca(["--yes", "--json", "do", "fix add in calc.py"], draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    second = fake_server.chat_requests[1]["body"]
    assert not second.get("tools")  # whole files again, not the tool loop
    files, asked = (m["content"] for m in second["messages"][-3::2])
    assert f"calc.py\n```python\n{BUGGY}```" in files  # the file as the draft left it
    assert "after your change and it failed:" in asked and "assert -1 == 5" in asked
    assert "edit_file" not in asked
    final = events_of(result.stdout)[-1]
    assert (final["stop_reason"], final["model_calls"]) == ("done", 2)


def test_a_failing_redraft_goes_on_in_the_tool_loop(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return 0\n")
    (tmp_path / "test_calc.py").write_text(TEST)
    fake_server.enqueue(
        {"text": reply("calc.py", BUGGY)},
        {"text": reply("calc.py", "def add(a, b):\n    return a * b\n")},
        {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "calc.py", "old": "return a * b", "new": "return a + b"}}]},
        {"text": "Fixed add."},
    )
    result = run_ca(["--yes", "--json", "do", "fix add in calc.py"], draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    third = fake_server.chat_requests[2]["body"]
    assert third.get("tools")  # the loop has its tools back
    said = [m["content"] for m in third["messages"]]
    assert any("calc.py now reads:" in text and "return a * b" in text for text in said)
    assert said[-1].startswith("The task is not done: ca ran `")
    assert events_of(result.stdout)[-1]["model_calls"] == 4


def test_a_reply_without_a_file_is_asked_again_once_then_the_loop_starts(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "stats.py").write_text(STATS)
    fake_server.enqueue(
        {"text": "Ok. I will write out whole each file I change."},  # real 1.5B, cli-flag
        {"text": reply("stats.py", STATS)},  # the file as it was
        {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "stats.py", "old": "", "new": WITH_MEDIAN[len(STATS):]}}]},
        {"text": "Added median."},
    )
    result = run_ca(["--yes", "--json", "do", "Add a function median(values) to stats.py."],
                    draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "stats.py").read_text() == WITH_MEDIAN
    # asked again afresh, in one message: the echoed line is not in the chat to be copied
    again = fake_server.chat_requests[1]["body"]["messages"]
    assert [m["role"] for m in again] == ["system", "user", "assistant", "user"]  # example
    assert "def mean(values)" in again[-1]["content"]  # the file is shown again
    assert again[-1]["content"].endswith(
        "Your first answer to this wrote out no file.\n\n"
        "Answer with each file you change (stats.py) as it must be after the change: its "
        "path alone on one line, then the whole file in a fenced code block. Keep every "
        "line the task does not ask you to change.")
    assert not any("Ok, any changes" in m["content"] for m in again)
    first_loop = fake_server.chat_requests[2]["body"]["messages"]
    assert [m["role"] for m in first_loop] == ["system", "user"]  # the draft left no trace
    assert [e["strategy"] for e in events_of(result.stdout) if e["event"] == "retry"] == [
        "draft_reprompt"]


def test_a_draft_giving_the_file_back_unchanged_is_told_so(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "stats.py").write_text(STATS)
    fake_server.enqueue({"text": reply("stats.py", "# stats.py\n" + STATS)},
                        {"text": reply("stats.py", WITH_MEDIAN)})
    result = run_ca(["--yes", "--json", "do", "Add a function median(values) to stats.py."],
                    draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "stats.py").read_text() == WITH_MEDIAN
    again = fake_server.chat_requests[1]["body"]["messages"][-1]["content"]
    assert "Your first answer to this gave the file back as it already is" in again


def test_an_elided_draft_is_not_written(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "stats.py").write_text(STATS)
    elided = reply("stats.py", "# ... existing code ...\n\ndef median(v): ...\n")
    fake_server.enqueue({"text": elided}, {"text": elided}, *[{"text": "Nothing to do."}] * 3)
    result = run_ca(["--yes", "--json", "do", "Add a function median(values) to stats.py."],
                    draft_env, tmp_path)
    assert (tmp_path / "stats.py").read_text() == STATS
    assert result.returncode == 1, result.stdout + result.stderr


def test_a_draft_of_the_protected_test_is_not_written(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text(BUGGY)
    (tmp_path / "test_calc.py").write_text(TEST)
    fake_server.enqueue(
        {"text": reply("test_calc.py", TEST.replace("== 5", "== -1"))
         + reply("calc.py", "def add(a, b):\n    return a + b\n")},
    )
    task = "The tests in test_calc.py fail. Fix the bug in the code so that they pass."
    result = run_ca(["--yes", "--json", "do", task], draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "test_calc.py").read_text() == TEST
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    files, asked = (
        m["content"] for m in fake_server.chat_requests[0]["body"]["messages"][-3::2])
    assert "do not change them" in files and "ca ran `" in asked  # the failing run, first


def test_a_task_naming_no_file_drafts_the_small_project_it_shows(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    """Files shown whole count as read: write_file refused every file of real 1.5B's right
    rename as "not read" when the task named none of them."""
    (tmp_path / "orders.py").write_text("def calc_total(xs):\n    return sum(xs)\n")
    (tmp_path / "main.py").write_text("from orders import calc_total\n\nprint(calc_total([1]))\n")
    fake_server.enqueue({"text": reply("orders.py", "def order_total(xs):\n    return sum(xs)\n")
                         + reply("main.py", "from orders import order_total\n\n"
                                 "print(order_total([1]))\n")})
    result = run_ca(["--yes", "--json", "do", "Rename calc_total to order_total everywhere."],
                    draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "order_total" in (tmp_path / "main.py").read_text()
    assert (tmp_path / "orders.py").read_text().startswith("def order_total(")
    assert events_of(result.stdout)[-1]["model_calls"] == 1


def test_whole_files_in_a_later_reply_are_written_but_not_snippets(
    fake_server: FakeModelServer, draft_env: dict[str, str], tmp_path: Path
) -> None:
    """After a failing draft real 1.5B answered the failure with the whole file again."""
    one = "\n\ndef one():\n    return 1\n"
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return 0\n" + one)
    (tmp_path / "test_calc.py").write_text(TEST)
    fixed = "def add(a, b):\n    return a + b\n\n\ndef one():\n    return 1\n"
    fake_server.enqueue(
        {"text": reply("calc.py", BUGGY + "\n\ndef one():\n    return 1\n")},
        {"text": reply("calc.py", "def add(a, b):\n    return a + b\n")},  # redraft: one() out
        {"text": reply("calc.py", fixed)},
        {"text": "Fixed."},
    )
    result = run_ca(["--yes", "--json", "do", "fix add in calc.py"], draft_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "calc.py").read_text() == fixed
    writes = [e["arguments"]["content"] for e in events_of(result.stdout)
              if e["event"] == "tool_call" and e["name"] == "write_file"]
    assert len(writes) == 2 and writes[-1] == fixed  # the snippet was not written
