"""Peer conventions in the REPL: /init, !cmd, /mode (edits auto, commands ask), /cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.repl_harness import Harness, call, chat_bodies, intent, make_harness


@pytest.fixture
def harness(fake_server: FakeModelServer, tmp_path: Path) -> Harness:
    return make_harness(fake_server, tmp_path)


def test_init_writes_agents_md_that_the_next_message_reads(harness: Harness) -> None:
    (harness.project / "src").mkdir()
    (harness.project / "tests").mkdir()
    (harness.project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    harness.server.enqueue("Hello.")
    output = harness.run("/init", "/init", "hello")
    text = (harness.project / "AGENTS.md").read_text()
    assert "- `src/`" in text and "- `tests/`" in text
    assert "exists; left it as it is" in output  # the second /init changes nothing
    system = chat_bodies(harness.server)[-1]["messages"][0]["content"]
    assert "- `src/`" in system


def test_shell_escape_shows_the_output_and_costs_no_model_call(harness: Harness) -> None:
    output = harness.run("!echo from-the-shell; exit 3")
    assert "from-the-shell" in output and "exit 3" in output
    assert harness.server.chat_requests == []


def test_mode_edits_applies_writes_but_commands_still_ask(harness: Harness) -> None:
    harness.server.enqueue(
        intent("implementation", "a change"),
        call("write_file", path="a.txt", content="x\n"),
        call("run_shell", command="echo ran > ran.txt"),
        "Done.",
    )
    # "n" answers the one prompt there should be: the command's.
    output = harness.run("/mode", "write a.txt then run a command", "n", "")
    assert "approval mode edits" in output
    assert (harness.project / "a.txt").read_text() == "x\n"
    assert "$ echo ran > ran.txt" in output  # the command was put to the user
    assert not (harness.project / "ran.txt").exists()


def test_cost_counts_calls_and_tokens(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational", "a question"), "An answer.")
    output = harness.run("what does this project do?", "/cost")
    line = next(line for line in output.splitlines() if "model calls" in line)
    assert line.startswith("2 model calls") and "completion tokens" in line
