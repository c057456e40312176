"""Stuck detection in the agent loop: real tools, the fake model server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.agent.events import Event
from code_assistant.backends.ollama import OllamaBackend
from tests.fakes.model_server import FakeModelServer
from tests.test_agent_loop import call, make_agent, run, tool_messages


@pytest.fixture
def ollama(fake_server: FakeModelServer) -> Iterator[OllamaBackend]:
    made = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    yield made
    made.close()


def test_the_same_failing_edit_is_corrected_then_stopped(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    bad = call("edit_file", path="calc.py", old="return a-b", new="return a+b")
    fake_server.enqueue(bad, bad, bad, {"text": "never asked"})
    events: list[Event] = []
    transcript = run(make_agent(ollama, tmp_path, events), "fix add")
    assert transcript.stop_reason == "stuck"
    assert transcript.stuck_call == "edit_file calc.py"
    assert transcript.final_text == (
        "stopped: the model repeated the same call (edit_file calc.py) 3 times without progress"
    )
    assert len(fake_server.chat_requests) == 3  # no model call after the stop
    first, second, third = [*tool_messages(fake_server), transcript.messages[-1].content]
    assert "[ca:" not in first
    assert second.startswith("error: calc.py: old was not found")
    assert second.endswith(
        "[ca: you made this same call 2 times with no progress. Call read_file on calc.py now "
        "and copy `old` exactly from what it shows, or change something else. A third "
        "identical call stops the task.]"
    )
    assert third.startswith("not run: stopped")
    assert transcript.tool_calls == 2 and transcript.stuck_warnings == 1
    assert {"event": "retry", "strategy": "stuck_warning"} in [e.to_dict() for e in events]
    assert transcript.summary()["stuck_call"] == "edit_file calc.py"


def test_a_cycle_with_reads_in_between_is_still_the_same_call(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text("x = 1\n")
    read = call("read_file", path="calc.py")
    bad = call("edit_file", path="calc.py", old="x = 2", new="x = 3")
    fake_server.enqueue(read, bad, read, bad, read, bad, {"text": "never asked"})
    transcript = run(make_agent(ollama, tmp_path, []), "change x")
    assert transcript.stop_reason == "stuck"
    assert len(fake_server.chat_requests) == 6
    results = tool_messages(fake_server)
    assert "[ca:" not in results[1] and "[ca:" in results[3]
    assert all("[ca:" not in r for r in results[0::2])  # reading again is not a loop


def test_the_same_looks_in_turn_with_nothing_happening_are_a_loop(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    # Real 1.5B after adding a function: run_shell + read_file of the same lines, each reply
    # the same pair, until the timeout. Neither call is the one just before itself.
    (tmp_path / "stats.py").write_text("def mean(xs):\n    return sum(xs) / len(xs)\n")
    pair = {"tool_calls": [{"name": "run_shell", "arguments": {"command": "python stats.py"}},
                           {"name": "read_file", "arguments": {"path": "stats.py"}}]}
    fake_server.enqueue(pair, pair, pair, {"text": "never asked"})
    transcript = run(make_agent(ollama, tmp_path, []), "look at stats.py")
    assert transcript.stop_reason == "stuck"
    assert transcript.stuck_call == "run_shell python stats.py"
    assert len(fake_server.chat_requests) == 3
    results = tool_messages(fake_server)
    assert all("[ca:" not in r for r in results[:2])
    assert all(r.endswith("A third identical call stops the task.]") for r in results[2:4])
    assert "Its result is above and nothing changed since." in results[2]


def test_a_write_of_what_the_file_holds_is_a_repeat(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    same = call("write_file", path="hello.py", content="print('hi')\n")
    fake_server.enqueue(same, same, same, {"text": "never asked"})
    transcript = run(make_agent(ollama, tmp_path, []), "create hello.py")
    assert transcript.stop_reason == "stuck"
    second = tool_messages(fake_server)[1]
    assert second.startswith("hello.py already has exactly this content; nothing written")
    assert "hello.py already holds this change. Do not repeat it." in second
    assert (tmp_path / "hello.py").read_text() == "print('hi')\n"


def test_a_successful_edit_is_not_applied_again(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    (tmp_path / "conf.py").write_text("x = 1\n")
    grow = call("edit_file", path="conf.py", old="x = 1\n", new="x = 1\ny = 2\n")
    fake_server.enqueue(
        call("read_file", path="conf.py"), grow, grow, grow, {"text": "never asked"}
    )
    transcript = run(make_agent(ollama, tmp_path, []), "add y")
    assert transcript.stop_reason == "stuck"
    # new holds old and the file holds new: applying it again would stack a second y = 2.
    assert (tmp_path / "conf.py").read_text() == "x = 1\ny = 2\n"
    second = tool_messages(fake_server)[2]
    assert "conf.py already holds new at line 1, so this change is made" in second


def test_a_failing_command_rerun_after_each_change_is_not_stuck(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    check = call("run_shell", command="grep -q done state.txt")
    fake_server.enqueue(
        check,
        call("write_file", path="state.txt", content="one\n"),
        check,
        call("write_file", path="state.txt", content="two\n"),
        check,
        call("write_file", path="state.txt", content="done\n"),
        check,
        {"text": "state.txt says done."},
    )
    transcript = run(make_agent(ollama, tmp_path, []), "make the check pass")
    assert transcript.stop_reason == "done"
    assert transcript.stuck_warnings == 0
    assert transcript.recoveries.failed_commands == 3


def test_an_unchanged_failing_command_run_three_times_stops(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    check = call("run_shell", command="exit 3")
    fake_server.enqueue(check, call("list_dir", path="."), check, check, {"text": "never"})
    transcript = run(make_agent(ollama, tmp_path, []), "run it")
    assert transcript.stop_reason == "stuck" and transcript.stuck_call == "run_shell exit 3"
    assert "Read the error above, change the code or the command" in tool_messages(fake_server)[2]


def test_every_call_of_a_stopped_reply_gets_a_result(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    bad = {"name": "read_file", "arguments": {"path": "missing.py"}}
    other = {"name": "list_dir", "arguments": {"path": "."}}
    fake_server.enqueue(
        {"tool_calls": [bad]}, {"tool_calls": [bad]}, {"tool_calls": [bad, other]}, "never"
    )
    transcript = run(make_agent(ollama, tmp_path, []), "read it")
    assert transcript.stop_reason == "stuck"
    last = transcript.messages[-2:]
    assert [m.role for m in last] == ["tool", "tool"]
    assert last[1].content == "not run: the task stopped"
    assert transcript.messages[-3].tool_calls is not None
    assert [c.id for c in transcript.messages[-3].tool_calls] == [m.tool_call_id for m in last]
