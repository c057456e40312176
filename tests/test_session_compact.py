"""Compaction: over the history budget, old turns become a summary written by the architect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.backends import get_backend
from code_assistant.backends.base import Backend, ChatOptions, Message, ToolCall
from code_assistant.config import load_config
from code_assistant.session.compact import compact, history_tokens, render_transcript, split_turns
from code_assistant.session.store import Turn
from tests.fakes.model_server import FakeModelServer
from tests.repl_harness import chat_bodies, intent, make_harness, system_of

pytestmark = pytest.mark.timeout(120)
MODEL = "qwen2.5-coder:7b"


def qa(number: int, question: str, answer: str) -> Turn:
    return Turn(number, [Message("user", question), Message("assistant", answer)])


def test_history_tokens_counts_summary_text_and_tool_calls() -> None:
    call = ToolCall("write_file", {"path": "a.py", "content": "x" * 400}, "c")
    turn = Turn(1, [Message("user", "u" * 40), Message("assistant", "", tool_calls=[call])])
    assert history_tokens("s" * 400, [turn]) >= 100 + 10 + 100


def test_split_keeps_the_newest_turns_that_fit_and_always_summarises_the_oldest() -> None:
    turns = [qa(1, "q", "a" * 400), qa(2, "q", "a" * 40), qa(3, "q", "a" * 40)]
    old, recent = split_turns(turns, keep_tokens=25)
    assert [t.number for t in old] == [1, 2] and [t.number for t in recent] == [3]
    old, recent = split_turns(turns, keep_tokens=10_000)
    assert [t.number for t in old] == [1] and [t.number for t in recent] == [2, 3]
    old, recent = split_turns(turns[:1], keep_tokens=10_000)
    assert [t.number for t in old] == [1] and recent == []


def test_transcript_cuts_tool_output_and_shows_calls_briefly() -> None:
    call = ToolCall("run_shell", {"command": "pytest"}, "c")
    turn = Turn(1, [
        Message("user", "run the tests"),
        Message("assistant", "", tool_calls=[call]),
        Message("tool", "E" * 5000, tool_call_id="c", name="run_shell"),
        Message("assistant", "3 failed"),
    ])
    text = render_transcript([turn])
    assert "User: run the tests" in text
    assert '[assistant called run_shell({"command": "pytest"})]' in text
    assert "characters left out" in text and len(text) < 1000
    assert text.endswith("Assistant: 3 failed")


@pytest.fixture
def backend(fake_server: FakeModelServer, tmp_path: Path) -> Iterator[Backend]:
    config = load_config(tmp_path, {"ollama_host": fake_server.url}, env={}).config
    backend = get_backend(config)
    yield backend
    backend.close()  # type: ignore[attr-defined]


def test_compact_asks_the_model_and_keeps_recent_turns(
    fake_server: FakeModelServer, backend: Backend
) -> None:
    turns = [qa(1, "first question", "x" * 800), qa(2, "second", "short")]
    options = ChatOptions(num_ctx=4096)
    assert compact(backend, MODEL, options, "", turns, budget=10_000) is None
    fake_server.enqueue("- the user asked a first question")
    done = compact(backend, MODEL, options, "- earlier: hello", turns, budget=200)
    assert done is not None
    assert done.summary == "- the user asked a first question"
    assert [t.number for t in done.kept] == [2] and done.through_turn == 1
    body = chat_bodies(fake_server)[-1]
    assert "keep the memory of a long conversation" in system_of(body)
    request = body["messages"][1]["content"]
    assert "Summary so far:\n- earlier: hello" in request
    assert "User: first question" in request and "second" not in request


def test_a_summary_longer_than_its_share_is_cut(
    fake_server: FakeModelServer, backend: Backend
) -> None:
    fake_server.enqueue("word " * 2000)
    done = compact(backend, MODEL, ChatOptions(), "", [qa(1, "q", "a")], budget=400, force=True)
    assert done is not None and len(done.summary) <= 100 * 4 + 80


def test_compaction_triggers_at_the_budget_and_the_summary_replaces_old_turns(
    fake_server: FakeModelServer, tmp_path: Path
) -> None:
    harness = make_harness(fake_server, tmp_path, history_tokens=400)
    fake_server.enqueue(
        intent("conversational"), "A" * 1000,
        intent("conversational"), "ok",
        intent("conversational"), "C" * 600,
        "- SUMMARY: the user asked about topic one",
        intent("conversational"), "answer four",
    )
    output = harness.run("topic one?", "topic two?", "topic three?", "topic four?")
    assert "compacted 1 older turn(s) into a summary; 2 recent turn(s) kept verbatim" in output
    bodies = chat_bodies(fake_server)
    summarise = bodies[6]
    assert "User: topic one?" in summarise["messages"][1]["content"]
    last = bodies[-1]
    assert "# Summary of the earlier conversation\n- SUMMARY: the user asked about topic one" in (
        system_of(last)
    )
    contents = [m["content"] for m in last["messages"][1:]]
    assert "topic one?" not in contents
    assert contents == ["topic two?", "ok", "topic three?", "C" * 600, "topic four?"]
    with harness.store() as store:
        info = store.list()[0]
        assert info.summary.startswith("- SUMMARY") and info.compacted_through == 1
        assert [t.number for t in store.load(info.id).turns] == [2, 3, 4]


def test_compact_command_forces_it_and_resume_restores_the_summary(
    fake_server: FakeModelServer, tmp_path: Path
) -> None:
    harness = make_harness(fake_server, tmp_path)
    fake_server.enqueue(
        intent("conversational"), "one", intent("conversational"), "two", "- forced summary"
    )
    output = harness.run("/compact", "first", "second", "/compact")
    assert "nothing to compact yet" in output
    assert "compacted 1 older turn(s)" in output
    fake_server.enqueue(intent("conversational"), "three")
    resumed = harness.run("third", resume="latest")
    assert "resumed session" in resumed and "1 turn(s) after a summary" in resumed
    last = chat_bodies(fake_server)[-1]
    assert "- forced summary" in system_of(last)
    assert [m["content"] for m in last["messages"][1:]] == ["second", "two", "third"]


def test_clear_starts_a_fresh_session(fake_server: FakeModelServer, tmp_path: Path) -> None:
    harness = make_harness(fake_server, tmp_path)
    fake_server.enqueue(intent("conversational"), "one", intent("conversational"), "two")
    output = harness.run("first", "/clear", "second")
    assert "started a fresh session" in output
    assert [m["content"] for m in chat_bodies(fake_server)[-1]["messages"][1:]] == ["second"]
    with harness.store() as store:
        assert sorted(s.first_message for s in store.list()) == ["first", "second"]
