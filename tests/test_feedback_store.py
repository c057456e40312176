"""The feedback store: locked appends from many processes, removal, redaction, user feedback."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from code_assistant.agent.loop import CORRECTIVE
from code_assistant.app import App
from code_assistant.backends.base import Message, ToolCall
from code_assistant.config import load_config
from code_assistant.errors import UsageError
from code_assistant.feedback.pairs import CATEGORIES, Call, Pair, Step, project_id
from code_assistant.feedback.store import (
    FeedbackStore,
    add_user_feedback,
    config_secrets,
    feedback_on_last_turn,
    open_store,
    stats,
)
from code_assistant.redact import redact_data

TOKEN = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7"


def make_pair(n: int = 0, **fields: object) -> Pair:
    data: dict[str, object] = {
        "category": "tool_errors",
        "persona": "implementer",
        "model": "m",
        "task": f"task {n}",
        "bad": Step(calls=[Call(name="read_file", arguments={"path": f"x{n}"})], results=["e"]),
        "good": Step(calls=[Call(name="read_file", arguments={"path": f"y{n}"})], results=["ok"]),
    }
    data.update(fields)
    return Pair(**data)  # type: ignore[arg-type]


@pytest.fixture
def loaded(tmp_path: Path) -> App:
    project = tmp_path / "proj"
    project.mkdir()
    env = {"CA_HOME": str(tmp_path / "ca-home"), "CA_OPENAI_API_KEY": "hunter2-not-a-pattern"}
    return load_config(project, env=env)


def test_append_and_read_round_trip_in_order(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb")
    assert store.read() == []
    first = store.append([make_pair(1), make_pair(2)])
    store.append([make_pair(3)])
    assert store.read() == [*first, *store.read()[2:]]
    assert [p.task for p in store.read()] == ["task 1", "task 2", "task 3"]
    assert store.append([]) == []


def test_store_files_are_private_to_the_user(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb")
    store.append([make_pair()])
    assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from code_assistant.feedback.pairs import Pair, Step
    from code_assistant.feedback.store import FeedbackStore

    directory, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = FeedbackStore(directory)
    if worker == "remover":
        for pair in store.read():
            if pair.task.startswith("seed"):
                store.remove([pair.id])
        sys.exit(0)
    for n in range(count):
        # Larger than PIPE_BUF: only the lock keeps concurrent appends whole.
        text = f"{worker}-{n}-" + "x" * 9000
        store.append([Pair(id=f"{worker}n{n:04d}", category="user_good",
                           task=f"{worker} {n}", good=Step(text=text))])
    """
)


def test_concurrent_processes_appending_and_removing_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "fb"
    store = FeedbackStore(directory)
    store.append([make_pair(n, task=f"seed {n}") for n in range(40)])
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    writers, count = 4, 60
    processes = [
        subprocess.Popen([sys.executable, str(script), str(directory), f"w{w}", str(count)])
        for w in range(writers)
    ]
    remover = [sys.executable, str(script), str(directory), "remover", "0"]
    processes.append(subprocess.Popen(remover))
    assert [p.wait(timeout=120) for p in processes] == [0] * (writers + 1)
    lines = store.path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    assert len(records) == writers * count
    expected = {f"w{w}n{n:04d}" for w in range(writers) for n in range(count)}
    assert {r["id"] for r in records} == expected
    assert all(r["good"]["text"].endswith("x" * 9000) for r in records)
    assert store.skipped == 0 and len(store.read()) == writers * count


def test_get_and_remove_by_unique_prefix(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb")
    store.append([make_pair(1, id="abc123"), make_pair(2, id="abd456"), make_pair(3, id="zzz999")])
    assert store.get("abc").task == "task 1"
    with pytest.raises(UsageError, match="matches 2 pairs"):
        store.get("ab")
    with pytest.raises(UsageError, match="no feedback pair 'nope'"):
        store.remove(["zzz", "nope"])
    assert len(store.read()) == 3  # a failed rm removes nothing
    removed = store.remove(["abd", "zzz999", "zzz"])
    assert [p.id for p in removed] == ["abd456", "zzz999"]
    assert [p.id for p in store.read()] == ["abc123"]


def test_unreadable_lines_are_skipped_counted_and_kept_by_rm(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb")
    store.append([make_pair(1, id="keep01"), make_pair(2, id="drop02")])
    with store.path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "half-written", "categ\n\n{"category": "no_such"}\n')
    assert [p.id for p in store.read()] == ["keep01", "drop02"]
    assert store.skipped == 2
    store.remove(["drop02"])
    text = store.path.read_text(encoding="utf-8")
    assert '"half-written"' in text and "drop02" not in text
    assert [p.id for p in store.read()] == ["keep01"]


def test_secrets_are_redacted_before_they_reach_the_disk(loaded: App) -> None:
    store = open_store(loaded)
    pair = make_pair(
        good=Step(
            calls=[Call(name="read_file", arguments={"path": ".env"})],
            results=[f"OPENAI={TOKEN}\ndb password is hunter2-not-a-pattern\n"],
        ),
        task=f"use the key {TOKEN}",
    )
    store.append([pair])
    raw = store.path.read_text(encoding="utf-8")
    assert TOKEN not in raw and "hunter2-not-a-pattern" not in raw
    [stored] = store.read()
    assert stored.good.results[0] == "OPENAI=***\ndb password is ***\n"
    assert stored.task == "use the key ***"
    assert stored.id == pair.id


def test_config_secrets_include_keys_and_mcp_env_and_headers(tmp_path: Path) -> None:
    home = tmp_path / "ca-home"
    home.mkdir()
    (home / "config.toml").write_text(
        'serper_api_key = "serper-secret-1"\n'
        "[mcp.servers.gh]\n"
        'url = "http://127.0.0.1:1/mcp"\n'
        'headers = { Authorization = "Bearer hdr-secret-2" }\n'
        "[mcp.servers.local]\n"
        'command = "srv"\n'
        'env = { TOKEN = "env-secret-3", SHORT = "ab" }\n'
    )
    loaded = load_config(tmp_path, env={"CA_HOME": str(home)})
    secrets = config_secrets(loaded.config)
    assert {"serper-secret-1", "Bearer hdr-secret-2", "env-secret-3"} <= set(secrets)
    assert "ab" not in secrets


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(task=st.text(max_size=200), output=st.text(max_size=400), note=st.text(max_size=80))
def test_any_text_survives_the_round_trip_redacted(
    tmp_path: Path, task: str, output: str, note: str
) -> None:
    store = FeedbackStore(tmp_path / "prop", secrets=("hunter2-not-a-pattern",))
    pair = Pair(category="user_bad", task=task, bad=Step(text=output), note=note)
    [stored] = store.append([pair])
    assert store.read()[-1] == stored
    expected = redact_data(pair.model_dump(), ("hunter2-not-a-pattern",))
    assert stored.model_dump() == expected


def test_stats_count_every_category(tmp_path: Path) -> None:
    pairs = [
        make_pair(1),
        make_pair(1, id="same-lesson"),
        make_pair(2, category="failed_commands", persona="tester"),
        make_pair(3, category="user_bad", source="user", model="other", verified=True),
        make_pair(4, verified=True, recovered=True),  # verified, but parsed from text
    ]
    counts = stats(pairs[:4])
    assert counts["total"] == 4 and counts["distinct"] == 3 and counts["lessons"] == 1
    assert stats(pairs)["lessons"] == 1
    assert list(counts["by_category"]) == list(CATEGORIES)
    assert counts["by_category"]["tool_errors"] == 2
    assert counts["by_category"]["failed_commands"] == 1
    assert counts["by_category"]["text_tool_calls"] == 0
    assert counts["by_source"] == {"recovery": 3, "user": 1}
    assert counts["by_persona"] == {"implementer": 3, "tester": 1}


def test_user_feedback_good_and_bad(loaded: App) -> None:
    good = add_user_feedback(
        loaded, "good", persona="implementer", model="m", task="add a flag",
        output="Added --verbose.", calls=[("edit_file", {"path": "cli.py"})], results=["ok"],
    )
    bad = add_user_feedback(
        loaded, "bad", "it used print instead of logging", persona="implementer", model="m",
        task="add logging", output="print('x')", correction="log.info('x')",
    )
    assert (good.category, good.source) == ("user_good", "user")
    assert good.good.text == "Added --verbose." and good.good.calls[0].name == "edit_file"
    assert good.bad.is_empty() and good.project == "proj"
    assert bad.category == "user_bad" and bad.bad.text == "print('x')"
    assert bad.good.text == "log.info('x')" and bad.note == "it used print instead of logging"
    assert [p.id for p in open_store(loaded).read()] == [good.id, bad.id]
    # The user's verdict is a verified outcome, and it belongs to this project.
    assert good.verified and bad.verified and not good.recovered
    assert good.project_id == bad.project_id == project_id(loaded.root)


@pytest.mark.parametrize(
    ("verdict", "note", "output", "message"),
    [
        ("meh", "", "x", "'good' or 'bad'"),
        ("bad", "", "", "nothing to record"),
    ],
)
def test_user_feedback_refuses_bad_input(
    loaded: App, verdict: str, note: str, output: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        add_user_feedback(loaded, verdict, note, persona="p", model="m", task="t", output=output)


def test_feedback_on_last_turn_takes_the_last_real_user_message(loaded: App) -> None:
    messages = [
        Message("system", "sys"),
        Message("user", "old question"),
        Message("assistant", "old answer"),
        Message("user", "create hello.py"),
        Message("assistant", "```python\nprint('hi')\n```"),
        Message("user", CORRECTIVE),
        Message("assistant", "", [ToolCall("write_file", {"path": "hello.py", "content": "x"})]),
        Message("tool", "wrote hello.py", tool_call_id="c", name="write_file"),
        Message("assistant", "Wrote hello.py."),
    ]
    pair = feedback_on_last_turn(
        loaded, "bad", "wrong content", persona="implementer", model="m", messages=messages
    )
    assert pair.task == "create hello.py"
    assert pair.bad.text == "Wrote hello.py."
    assert [c.name for c in pair.bad.calls] == ["write_file"]
    assert pair.bad.results == ["wrote hello.py"]
    with pytest.raises(UsageError, match="ask something first"):
        feedback_on_last_turn(
            loaded, "good", persona="p", model="m", messages=[Message("system", "s")]
        )
