"""Bad input never ends the session: a clear message, then the REPL goes on as before."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.repl.io import check_message
from code_assistant.spec import clean_document, spec_name, unique_path
from tests.fakes.model_server import FakeModelServer
from tests.repl_harness import Harness, chat_bodies, intent, make_harness, paste

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def harness(fake_server: FakeModelServer, tmp_path: Path) -> Harness:
    return make_harness(fake_server, tmp_path)


def _still_answers(harness: Harness, output: str) -> None:
    """The question typed after the bad input got its answer, with the model seeing only it."""
    assert "still here" in output
    assert chat_bodies(harness.server)[-1]["messages"][-1]["content"] == "are you still there?"


def test_a_one_megabyte_paste_is_refused_with_a_reason(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "still here")
    output = harness.run(paste("x" * 1_000_000), "are you still there?")
    flat = " ".join(output.split())
    assert "your message is 1,000,000 characters; one message can hold at most 16,384" in flat
    assert "Save it to a file and /add the file" in flat
    assert len(harness.server.chat_requests) == 2  # nothing was sent for the paste
    _still_answers(harness, output)
    history = (harness.home / "history").read_text()
    assert "x" * 1000 not in history and "are you still there?" in history


def test_binary_garbage_is_refused(harness: Harness) -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(4000)).decode("latin-1")
    garbage = garbage.replace("\x1b", "")  # an escape would end the bracketed paste early
    harness.server.enqueue(intent("conversational"), "still here")
    output = harness.run(paste(garbage), "are you still there?")
    assert "that looks like binary data" in output and "nothing was sent" in output
    _still_answers(harness, output)


def test_unknown_command_suggests_the_closest(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "still here")
    output = harness.run("/undi", "/sesions", "/frobnicate", "are you still there?")
    assert "unknown command /undi; did you mean /undo?" in output
    assert "unknown command /sesions; did you mean /sessions?" in output
    assert "unknown command /frobnicate; /help lists the commands" in output
    _still_answers(harness, output)


def test_a_path_is_a_message_not_a_command(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "It is the interpreter.")
    output = harness.run("/usr/bin/python3 is what?")
    assert "unknown command" not in output and "It is the interpreter." in output


def test_add_of_a_missing_file_keeps_the_session(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "still here")
    output = harness.run("/add no/such/file.py", "are you still there?")
    assert "no such file or directory 'no/such/file.py' in the project" in output
    _still_answers(harness, output)


def test_resume_of_an_unknown_id_keeps_the_current_session(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "first answer")
    harness.server.enqueue(intent("conversational"), "still here")
    output = harness.run("first question", "/resume deadbeef", "are you still there?")
    flat = " ".join(output.split())
    assert "error: no session 'deadbeef'; `ca sessions` (or /sessions) lists the saved ones" in flat
    contents = [m["content"] for m in chat_bodies(harness.server)[-1]["messages"][1:]]
    assert contents == ["first question", "first answer", "are you still there?"]


def test_a_backend_outage_is_one_line_and_the_turn_is_dropped(harness: Harness) -> None:
    harness.server.enqueue(
        intent("conversational"),
        {"error": {"status": 500, "message": "model crashed"}},
        intent("conversational"), "still here",
    )
    output = harness.run("first question", "are you still there?")
    assert "error:" in output and "Traceback" not in output
    contents = [m["content"] for m in chat_bodies(harness.server)[-1]["messages"][1:]]
    assert contents == ["are you still there?"]  # the failed turn is not in the history


def test_ctrl_c_at_the_prompt_clears_the_line_only(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "still here")
    output = harness.run("half typed\x03", "are you still there?")
    _still_answers(harness, output)


def test_empty_and_blank_lines_do_nothing(harness: Harness) -> None:
    harness.run("", "   ", "...")
    assert harness.server.chat_requests == []
    assert "no letters or digits" in harness.outputs[-1]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_check_message_never_fails_and_accepts_ordinary_text(text: str) -> None:
    problem = check_message(text, 2000)
    if len(text) > 2000:
        assert problem is not None and "characters" in problem
    printable = "".join(c for c in text if c.isprintable() and c != "\ufffd")
    if 0 < len(printable) <= 2000 and any(c.isalnum() for c in printable):
        letters = [c for c in printable if c.isalnum()]
        if letters and all(c.isascii() for c in letters):
            assert check_message(printable, 2000) is None


@given(st.text(max_size=300))
def test_spec_names_are_safe_file_names(text: str) -> None:
    name = spec_name(text)
    assert name and len(name) <= 48
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert not name.startswith("-") and not name.endswith("-") and "--" not in name


def test_spec_helpers(tmp_path: Path) -> None:
    assert spec_name("Unit Converter: CLI & library!") == "unit-converter-cli-library"
    assert spec_name("Ünïcödé tëxt") == "unicode-text"
    assert spec_name("!!!") == "spec"
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "a-2.md").write_text("x")
    assert unique_path(tmp_path, "a") == tmp_path / "a-3.md"
    assert clean_document("```md\n# T\nbody\n```") == "# T\nbody\n"
    assert clean_document("# T\n\n```py\ncode\n```\n") == "# T\n\n```py\ncode\n```\n"
