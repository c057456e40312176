"""The sessions store: migrations, WAL, messages written as they happen, resume and listing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.backends.base import Message, ToolCall
from code_assistant.errors import UsageError
from code_assistant.session.conversation import CANCELLED, Conversation
from code_assistant.session.store import (
    INTERRUPTED_TOOL,
    INTERRUPTED_TURN,
    MIGRATIONS,
    SessionStore,
)

PROJECT = Path("/work/project")


def store_at(tmp_path: Path) -> SessionStore:
    return SessionStore.in_dir(tmp_path / "sessions")


def test_new_database_is_wal_with_every_migration_recorded(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = store.db.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
        assert store.schema_version() == len(MIGRATIONS)
    assert (tmp_path / "sessions" / "sessions.db").stat().st_mode & 0o077 == 0


def test_reopening_runs_no_migration_twice(tmp_path: Path) -> None:
    store_at(tmp_path).close()
    with store_at(tmp_path) as store:
        count = store.db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert count == len(MIGRATIONS)


def test_a_database_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        store.db.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    with pytest.raises(UsageError, match="newer code-assistant"):
        store_at(tmp_path)


def test_messages_round_trip_with_tool_calls(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        session = store.create(PROJECT)
        call = ToolCall("read_file", {"path": "a.py"}, "call_1")
        messages = [
            Message("user", "read a.py"),
            Message("assistant", "", tool_calls=[call]),
            Message("tool", "1 | x = 1", tool_call_id="call_1", name="read_file"),
            Message("assistant", "a.py sets x."),
        ]
        for message in messages:
            store.append(session, 1, message)
        loaded = store.load(session)
    assert [t.number for t in loaded.turns] == [1]
    assert loaded.turns[0].messages == messages
    assert loaded.info.first_message == "read a.py"
    assert loaded.info.turns == 1


def test_incomplete_turns_are_left_out_on_load(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        session = store.create(PROJECT)
        store.append(session, 1, Message("user", "one"))
        store.append(session, 1, Message("assistant", "answer one"))
        store.append(session, 2, Message("user", "two"))  # killed before any answer
        call = ToolCall("run_shell", {"command": "ls"}, "c")
        store.append(session, 3, Message("user", "three"))
        store.append(session, 3, Message("assistant", "", tool_calls=[call]))  # killed mid-tool
        store.append(session, 4, Message("user", "four"))
        store.append(session, 4, Message("assistant", "answer four"))
        loaded = store.load(session)
    # A turn killed before any answer is left out; one that called tools is kept, closed,
    # because its calls may have changed files the model must know about.
    assert [t.number for t in loaded.turns] == [1, 3, 4]
    assert loaded.dropped_turns == 1
    kept = loaded.turns[1].messages
    assert [m.role for m in kept] == ["user", "assistant", "tool", "assistant"]
    assert kept[2].tool_call_id == "c" and kept[2].content == INTERRUPTED_TOOL
    assert kept[3].content == INTERRUPTED_TURN


def test_resolve_by_id_prefix_name_and_latest(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        first = store.create(PROJECT, "aaaa1111")
        store.append(first, 1, Message("user", "first"))
        second = store.create(PROJECT, "bbbb2222")
        store.append(second, 1, Message("user", "second"))
        other = store.create("/elsewhere", "cccc3333")
        store.append(other, 1, Message("user", "elsewhere"))
        store.set_name(first, "parser-work")
        assert store.resolve("aaaa1111").id == first
        assert store.resolve("bbbb").id == second
        assert store.resolve("parser-work").id == first
        assert store.resolve("latest", PROJECT).id == second
        assert store.resolve("latest").id == other
        with pytest.raises(UsageError, match=r"no session 'zzzz'.*ca sessions"):
            store.resolve("zzzz")
        with pytest.raises(UsageError, match="no saved session for /nowhere"):
            store.resolve("latest", "/nowhere")


def test_ambiguous_prefix_and_like_wildcards(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        store.create(PROJECT, "abc00001")
        store.create(PROJECT, "abc00002")
        with pytest.raises(UsageError, match="ambiguous"):
            store.resolve("abc")
        with pytest.raises(UsageError, match="no session"):
            store.resolve("%")  # LIKE wildcards are escaped, not matched
        with pytest.raises(UsageError, match="no session"):
            store.resolve("abc_000")


def test_names_are_one_word_and_unique(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        one, two = store.create(PROJECT), store.create(PROJECT)
        store.set_name(one, "work")
        with pytest.raises(UsageError, match="already named"):
            store.set_name(two, "work")
        with pytest.raises(UsageError, match="one word"):
            store.set_name(two, "two words")
        store.set_name(one, "work")  # naming itself again is fine


def test_summary_hides_compacted_turns(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        session = store.create(PROJECT)
        for turn in (1, 2, 3):
            store.append(session, turn, Message("user", f"q{turn}"))
            store.append(session, turn, Message("assistant", f"a{turn}"))
        store.set_summary(session, "- asked q1 and q2", through_turn=2)
        loaded = store.load(session)
    assert [t.number for t in loaded.turns] == [3]
    assert loaded.info.summary == "- asked q1 and q2"
    assert loaded.info.turns == 3  # the listing still counts every turn


def test_list_orders_by_last_use_and_filters_by_project(tmp_path: Path) -> None:
    with store_at(tmp_path) as store:
        old = store.create(PROJECT)
        store.append(old, 1, Message("user", "old"))
        new = store.create(PROJECT)
        store.append(new, 1, Message("user", "new"))
        store.append(old, 2, Message("user", "old again"))
        elsewhere = store.create("/x")
        assert [s.id for s in store.list(PROJECT)] == [old, new]
        assert {s.id for s in store.list()} == {old, new, elsewhere}


def test_conversation_writes_each_message_at_once_and_closes_cancelled_turns(
    tmp_path: Path,
) -> None:
    with store_at(tmp_path) as store:
        conversation = Conversation(store, PROJECT)
        assert store.list() == []  # nothing is written before the first message
        turn = conversation.begin("list files")
        call = ToolCall("list_dir", {"path": "."}, "c1")
        conversation.record(turn, Message("assistant", "", tool_calls=[call]))
        interrupted = store.load(conversation.id or "").turns[0].messages
        assert interrupted[-1].content == INTERRUPTED_TURN
        conversation.cancel(turn)
        loaded = store.load(conversation.id or "")
    messages = loaded.turns[0].messages
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[2].tool_call_id == "c1" and messages[2].content == CANCELLED
    assert messages[3].content == CANCELLED


def test_a_killed_writer_loses_only_the_message_in_flight(tmp_path: Path) -> None:
    """A process killed with SIGKILL right after writing keeps every committed message."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from code_assistant.backends.base import Message
        from code_assistant.session.store import SessionStore
        store = SessionStore.in_dir(Path({str(tmp_path / "sessions")!r}))
        sid = store.create("/p", "kill0001")
        for turn in range(1, 4):
            store.append(sid, turn, Message("user", f"q{{turn}}"))
            store.append(sid, turn, Message("assistant", f"a{{turn}}"))
        store.append(sid, 4, Message("user", "in flight"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert result.returncode == -9
    with store_at(tmp_path) as store:
        loaded = store.load("kill0001")
    assert [t.messages[0].content for t in loaded.turns] == ["q1", "q2", "q3"]
    assert loaded.dropped_turns == 1


def test_two_stores_on_one_file_both_write(tmp_path: Path) -> None:
    with store_at(tmp_path) as one, store_at(tmp_path) as two:
        a, b = one.create(PROJECT), two.create(PROJECT)
        one.append(a, 1, Message("user", "from one"))
        two.append(b, 1, Message("user", "from two"))
        assert {s.first_message for s in one.list()} == {"from one", "from two"}


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "sessions.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match=r"not a usable sessions database.*move it aside"):
        SessionStore(path)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["user", "assistant", "tool"]),
            st.text(max_size=200),
            st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3),
        ),
        max_size=8,
    )
)
def test_any_text_and_arguments_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, dict[str, object]]]
) -> None:
    directory = tmp_path_factory.mktemp("prop")
    with SessionStore.in_dir(directory) as store:
        session = store.create(PROJECT)
        messages = []
        for role, content, arguments in rows:
            calls = [ToolCall("t", arguments, "id")] if role == "assistant" and arguments else []
            messages.append(Message(role, content, calls, "id" if role == "tool" else ""))
        messages.append(Message("assistant", "done"))
        for message in messages:
            store.append(session, 1, message)
        assert store.load(session).turns[0].messages == messages


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UsageError, match=r"cannot open the sessions database.*sessions_dir"):
        SessionStore.in_dir(blocker / "sessions")
