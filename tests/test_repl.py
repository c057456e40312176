"""The REPL in-process: keys through prompt_toolkit's pipe input, models from the fake server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from code_assistant.repl.io import ReplCompleter
from tests.fakes.model_server import FakeModelServer
from tests.repl_harness import (
    ENTER,
    ESC_ENTER,
    Harness,
    call,
    chat_bodies,
    intent,
    make_harness,
    paste,
    system_of,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def harness(fake_server: FakeModelServer, tmp_path: Path) -> Harness:
    return make_harness(fake_server, tmp_path)


def test_a_question_is_answered_without_tools(harness: Harness) -> None:
    server = harness.server
    server.enqueue(intent("conversational", "a question"), "A **list** can change; a tuple cannot.")
    output = harness.run("what is the difference between a list and a tuple?")
    assert "→ conversational: a question" in output
    assert "A list can change; a tuple cannot." in output  # rendered Markdown, no ** marks
    classify, answer = chat_bodies(server)
    assert classify.get("format")  # constrained JSON
    assert not answer.get("tools")
    assert "no tools in this mode" in system_of(answer)
    assert answer["messages"][-1] == {
        "role": "user", "content": "what is the difference between a list and a tuple?"
    }


def test_a_task_writes_a_file_after_approval_and_shows_the_diff(harness: Harness) -> None:
    harness.server.enqueue(
        intent("implementation"),
        call("write_file", path="hello.py", content="print('hello')\n"),
        "Created hello.py.",
    )
    output = harness.run("create hello.py that prints hello", "y")
    assert (harness.project / "hello.py").read_text() == "print('hello')\n"
    assert "+++ b/hello.py" in output and "+print('hello')" in output
    assert output.count("+print('hello')") == 1  # shown for approval, not again after
    assert "⏺ write_file(path=hello.py" in output
    assert "changed: hello.py +1 -0" in output
    answer = chat_bodies(harness.server)[1]
    assert {t["function"]["name"] for t in answer["tools"]} >= {"write_file", "edit_file"}


def test_a_denied_write_is_not_made_and_the_model_is_told(harness: Harness) -> None:
    harness.server.enqueue(
        intent("implementation"),
        call("write_file", path="x.txt", content="x"),
        "Understood, nothing written.",
    )
    harness.run("write x.txt", "n")
    assert not (harness.project / "x.txt").exists()
    tool_result = chat_bodies(harness.server)[-1]["messages"][-1]
    assert tool_result["role"] == "tool" and "the user denied write_file" in tool_result["content"]


def test_always_approves_the_tool_for_the_rest_of_the_session(harness: Harness) -> None:
    server = harness.server
    server.enqueue(
        intent("implementation"),
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
        "Two files.",
        intent("implementation"),
        call("write_file", path="c.txt", content="c\n"),
        "Third.",
    )
    # Only one answer is typed: were a second approval asked, it would eat the next message.
    output = harness.run("write a and b", "a", "write c")
    assert all((harness.project / f"{n}.txt").exists() for n in "abc")
    assert "Third." in output


def test_undo_restores_an_edited_file_and_removes_a_new_one(harness: Harness) -> None:
    (harness.project / "app.py").write_text("x = 1\n")
    harness.server.enqueue(
        intent("implementation"),
        call("edit_file", path="app.py", old="x = 1", new="x = 2"),
        call("write_file", path="new.py", content="y = 3\n"),
        "Done.",
    )
    output = harness.run("change x and add new.py", "y", "y", "/diff", "/undo", "/undo")
    assert (harness.project / "app.py").read_text() == "x = 1\n"
    assert not (harness.project / "new.py").exists()
    assert "-x = 1" in output and "+x = 2" in output  # /diff before the undo
    assert "restored app.py" in output and "removed new.py" in output
    assert "nothing to undo in this session" in output


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def test_undo_in_git_also_reverts_what_a_shell_command_changed(harness: Harness) -> None:
    project = harness.project
    _git(project, "init", "-q")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty",
         "-m", "root")
    (project / "tracked.txt").write_text("original\n")
    _git(project, "add", "tracked.txt")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "t")
    (project / "mine.txt").write_text("untracked, the user's\n")
    harness.server.enqueue(
        intent("implementation"),
        call("run_shell", command="echo changed > tracked.txt && echo new > made.txt"),
        "Ran it.",
    )
    output = harness.run("run the script", "y", "/undo")
    assert (project / "tracked.txt").read_text() == "original\n"
    assert not (project / "made.txt").exists()
    assert (project / "mine.txt").exists()  # untracked before the turn: left alone
    assert "restored tracked.txt (git)" in output
    assert "removed made.txt (created by a command)" in output


def test_complex_request_gets_a_plan_and_an_offer_to_run_it(harness: Harness) -> None:
    harness.server.enqueue(
        intent("complex", "a whole application"),
        "## Plan\n1. Write `todo/cli.py`\n2. Write tests",
    )
    output = harness.run("build a todo app with a CLI and storage", "n")
    assert "→ complex: a whole application" in output
    assert "Plan" in output and "Write todo/cli.py" in output
    assert "/pipeline runs it later" in output
    planner = chat_bodies(harness.server)[1]
    assert not planner.get("tools") and "Propose a" in system_of(planner)


def test_an_unclassifiable_reply_falls_back_to_the_implementer(harness: Harness) -> None:
    harness.server.enqueue("not json", "still not json", "I can do that.")
    output = harness.run("do the thing")
    assert "could not classify" in output
    assert chat_bodies(harness.server)[-1].get("tools")


def test_multi_line_input_with_escape_enter(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "ok")
    harness.run(f"first line{ESC_ENTER}second line")
    assert chat_bodies(harness.server)[-1]["messages"][-1]["content"] == "first line\nsecond line"


def test_a_multi_line_paste_is_one_message(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "ok")
    harness.run(paste("def f():\r\n    return 1\n") + ENTER)
    assert chat_bodies(harness.server)[-1]["messages"][-1]["content"] == "def f():\n    return 1"


def test_history_goes_to_the_model_and_to_the_history_file(harness: Harness) -> None:
    server = harness.server
    server.enqueue(intent("conversational"), "Paris.", intent("conversational"), "About 2 million.")
    harness.run("capital of France?", "and its population?")
    messages = chat_bodies(server)[-1]["messages"]
    assert [m["content"] for m in messages[1:]] == [
        "capital of France?", "Paris.", "and its population?"
    ]
    history = (harness.home / "history").read_text()
    assert "+capital of France?" in history and "+and its population?" in history


def test_project_memory_is_in_the_system_prompt_and_memory_add_appends(harness: Harness) -> None:
    (harness.project / "AGENTS.md").write_text("Use tabs, never spaces.\n")
    harness.server.enqueue("Noted.")  # a greeting: answered without a classifier call
    output = harness.run("/memory", "/memory add Run tests with pytest -x", "hello")
    assert "Use tabs, never spaces." in output
    assert (harness.project / "AGENTS.md").read_text().endswith("- Run tests with pytest -x\n")
    system = system_of(chat_bodies(harness.server)[-1])
    assert "Use tabs, never spaces." in system and "Run tests with pytest -x" in system


def test_all_memory_files_load_when_configured(
    fake_server: FakeModelServer, tmp_path: Path
) -> None:
    harness = make_harness(fake_server, tmp_path, project_memory="all")
    (harness.project / "AGENTS.md").write_text("from agents\n")
    (harness.project / "CLAUDE.md").write_text("from claude\n")
    fake_server.enqueue("ok")
    harness.run("hi there")
    system = system_of(chat_bodies(fake_server)[-1])
    assert "from agents" in system and "from claude" in system


def test_retrieved_code_goes_with_a_substantive_question(harness: Harness) -> None:
    (harness.project / "billing.py").write_text(
        "def compute_invoice_total(items):\n    return sum(i.price for i in items)\n"
    )
    harness.server.enqueue(intent("conversational"), "It sums prices.")
    harness.run("/index", "how does compute_invoice_total work?")
    system = system_of(chat_bodies(harness.server)[-1])
    assert "Code from this project that may be relevant" in system
    assert "return sum(i.price for i in items)" in system


def test_completion_of_commands_paths_and_words(harness: Harness) -> None:
    (harness.project / "src").mkdir()
    (harness.project / "src" / "main.py").write_text("x = 1\n")
    with harness.repl() as (repl, _pipe, _out):
        completer = repl.io.session.completer
        assert isinstance(completer, ReplCompleter)

        def complete(text: str) -> list[str]:
            found = completer.get_completions(Document(text), CompleteEvent())
            return [c.text for c in found]

        assert complete("/he") == ["/help"]
        assert set(complete("/s")) == {"/save", "/search", "/sessions", "/spec", "/symbols"}
        assert "src/main.py" in complete("/add src/m")
        assert complete("/model a") == ["arch"]
        assert complete("plain text") == []


def test_trivial_messages_cost_no_classifier_call(harness: Harness) -> None:
    harness.server.enqueue("You're welcome.", intent("implementation", "a change"), "Done.")
    output = harness.run("thanks!", "thanks, now add a --verbose flag")
    assert "You're welcome." in output
    first, second, *_ = chat_bodies(harness.server)
    assert first["messages"][-1]["content"] == "thanks!"  # straight to the answer
    assert "classif" not in system_of(first).lower()
    assert "thanks, now add" in second["messages"][-1]["content"]  # a request: classified


def test_the_repl_warns_at_start_when_the_backend_is_down(
    fake_server: FakeModelServer, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    harness = make_harness(fake_server, tmp_path)
    harness.settings["ollama_host"] = f"http://127.0.0.1:{port}"
    output = harness.run()
    assert "warning:" in output and f"127.0.0.1:{port}" in output
