"""Learning across sessions: `ca --yes TASK` as a real process against the scripted fake model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from code_assistant.feedback.fewshot import HEADER
from code_assistant.feedback.pairs import Call, Pair, Step, project_id
from code_assistant.feedback.store import FeedbackStore
from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca

MODEL = "qwen2.5-coder:14b"
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
MALFORMED = json.dumps({"name": "write_file", "arguments": {"path": "a.py"}})


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def stored(ca_env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(ca_env["CA_HOME"]) / "feedback" / "pairs.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def system_of(request: dict[str, Any]) -> str:
    messages = request["body"]["messages"]
    assert messages[0]["role"] == "system"
    return str(messages[0]["content"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    return root


CHECK = 'python -c "import a"'


def test_a_repaired_call_is_recorded_with_its_context(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path
) -> None:
    fake_server.enqueue(
        {"text": MALFORMED},  # recovered from text, but `content` is missing: a tool error
        call("write_file", path="a.py", content="x = 1\n"),
        {"text": "Wrote a.py."},
    )
    first = run_ca(["--yes", "create a.py setting x to 1"], ca_env, project)
    assert first.returncode == 0, first.stderr
    assert (project / "a.py").read_text() == "x = 1\n"
    assert HEADER not in system_of(fake_server.chat_requests[0])

    [pair] = stored(ca_env)
    assert pair["category"] == "tool_errors" and pair["source"] == "recovery"
    assert (pair["persona"], pair["model"]) == ("implementer", MODEL)
    assert pair["task"] == "create a.py setting x to 1"
    assert pair["bad"]["text"] == MALFORMED
    assert pair["bad"]["calls"] == [{"name": "write_file", "arguments": {"path": "a.py"}}]
    assert "needs the argument(s) 'content'" in pair["bad"]["results"][0]
    assert pair["good"]["calls"] == [
        {"name": "write_file", "arguments": {"path": "a.py", "content": "x = 1\n"}}
    ]
    assert pair["good"]["results"][0].startswith("wrote a.py")
    assert pair["project_id"] == project_id(project) and str(project) not in json.dumps(pair)
    assert pair["recovered"] is True and pair["verified"] is False
    # Nothing of the feedback in the project: only the file and the (rebuildable) index.
    rels = sorted(p.relative_to(project).as_posix() for p in project.rglob("*"))
    # (__pycache__ comes from ca's own py_compile check of the changed file, not from feedback)
    assert [r for r in rels if not r.startswith((".ca", "__pycache__"))] == ["a.py"]
    assert not any("pairs" in r or "feedback" in r for r in rels)


def test_a_wrong_recovered_call_of_task_a_never_reaches_task_b(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path
) -> None:
    # Task A: a call parsed from text writes a wrong solution, and a check even passes.
    wrong = json.dumps(
        {"name": "write_file", "arguments": {"path": "a.py", "content": "WRONG_A = 41\n"}}
    )
    fake_server.enqueue(
        {"text": MALFORMED}, {"text": wrong}, call("run_shell", command=CHECK), {"text": "Done."}
    )
    first = run_ca(["--yes", "create a.py setting WRONG_A to 42"], ca_env, project)
    assert first.returncode == 0, first.stderr
    [pair] = stored(ca_env)
    assert pair["recovered"] is True and pair["verified"] is True
    assert pair["good"]["calls"][0]["arguments"]["content"] == "WRONG_A = 41\n"

    before = len(fake_server.chat_requests)
    fake_server.enqueue(call("write_file", path="b.py", content="y = 2\n"), {"text": "Done."})
    # No symbol map or retrieval: they show a.py as the project holds it, which is fair.
    quiet = {**ca_env, "CA_SYMBOL_MAP_TOKENS": "0", "CA_RETRIEVAL_TOP_K": "0"}
    second = run_ca(["--yes", "create b.py setting y to 2"], quiet, project)
    assert second.returncode == 0, second.stderr
    sent = json.dumps([r["body"] for r in fake_server.chat_requests[before:]])
    assert HEADER not in sent
    assert "WRONG_A" not in sent and "a.py" not in sent


def verified_session(fake_server: FakeModelServer, ca_env: dict[str, str], root: Path) -> None:
    """A tool error fixed by native calls, then a passing run of the new file: a lesson."""
    fake_server.enqueue(
        call("write_file", path="a.py"),
        call("write_file", path="a.py", content="SOLUTION_A = 1\n"),
        call("run_shell", command=CHECK),
        {"text": "Wrote a.py and ran it."},
    )
    result = run_ca(["--yes", "create a.py setting SOLUTION_A to 1"], ca_env, root)
    assert result.returncode == 0, result.stderr


def test_a_verified_lesson_is_taught_in_its_project_without_its_code(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path, tmp_path: Path
) -> None:
    verified_session(fake_server, ca_env, project)
    [pair] = stored(ca_env)
    assert pair["verified"] is True and pair["recovered"] is False

    fake_server.enqueue(call("write_file", path="b.py", content="y = 2\n"), {"text": "Done."})
    second = run_ca(["--yes", "create b.py setting y to 2"], ca_env, project)
    assert second.returncode == 0, second.stderr
    system = system_of(fake_server.chat_requests[4])
    lessons = system[system.index(HEADER):]
    assert "Task: create a.py setting SOLUTION_A to 1" in lessons
    assert 'Wrong: write_file(path="a.py")' in lessons
    assert "Result: error: write_file needs the argument(s) 'content'" in lessons
    assert "Right: write_file(path=\"a.py\", content=(1 line of that task's text" in lessons
    assert "SOLUTION_A = 1" not in system  # the shape of the fix, never its code

    other = tmp_path / "other"
    other.mkdir()
    fake_server.enqueue({"text": "Nothing to do."})
    third = run_ca(["--yes", "create b.py setting y to 2"], ca_env, other)
    assert third.returncode == 0, third.stderr
    assert HEADER not in system_of(fake_server.chat_requests[-1])  # another project

    fake_server.enqueue({"text": "Nothing to do."})
    off = {**ca_env, "CA_FEEDBACK_LESSONS": "false"}
    fourth = run_ca(["--yes", "create b.py setting y to 2"], off, project)
    assert fourth.returncode == 0, fourth.stderr
    assert HEADER not in system_of(fake_server.chat_requests[-1])


def test_an_unchecked_fix_is_recorded_but_never_taught(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path
) -> None:
    fake_server.enqueue(
        call("write_file", path="a.py"),
        call("write_file", path="a.py", content="x = 1\n"),
        call("run_shell", command=CHECK),  # a check that passes ...
        call("edit_file", path="a.py", old="x = 1", new="x = 2"),  # ... then a new change
        {"text": "Done."},
    )
    assert run_ca(["--yes", "create a.py"], ca_env, project).returncode == 0
    [pair] = stored(ca_env)
    assert pair["verified"] is False and pair["recovered"] is False
    fake_server.enqueue({"text": "Nothing to do."})
    assert run_ca(["--yes", "create b.py"], ca_env, project).returncode == 0
    assert HEADER not in system_of(fake_server.chat_requests[-1])


@pytest.mark.parametrize(
    ("setting", "captured", "injected"),
    [
        ({"CA_FEEDBACK_ENABLED": "false"}, False, False),
        ({"CA_FEEDBACK_TOKENS": "0"}, True, False),
        ({"CA_FEEDBACK_LESSONS": "false"}, True, False),
        ({}, True, True),
    ],
    ids=["disabled", "no-budget", "lessons-off", "default"],
)
def test_config_switches_capture_and_injection(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path,
    setting: dict[str, str], captured: bool, injected: bool,
) -> None:
    FeedbackStore(Path(ca_env["CA_HOME"]) / "feedback").append([
        Pair(
            category="tool_errors", persona="implementer", task="earlier",
            project_id=project_id(project), verified=True,
            bad=Step(calls=[Call(name="read_file", arguments={"path": "nope.py"})]),
            good=Step(calls=[Call(name="read_file", arguments={"path": "yes.py"})]),
        )
    ])
    fake_server.enqueue(
        {"text": MALFORMED}, call("write_file", path="a.py", content="x\n"), {"text": "ok"}
    )
    result = run_ca(["--yes", "create a.py"], {**ca_env, **setting}, project)
    assert result.returncode == 0, result.stderr
    assert (HEADER in system_of(fake_server.chat_requests[0])) is injected
    assert len(stored(ca_env)) == (2 if captured else 1)


def test_a_key_in_a_tool_result_is_redacted_in_the_stored_pair(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path
) -> None:
    (project / "settings.txt").write_text(
        f"github = {TOKEN}\nopenai = hunter2-not-a-pattern\n", encoding="utf-8"
    )
    env = {**ca_env, "CA_OPENAI_API_KEY": "hunter2-not-a-pattern"}
    fake_server.enqueue(
        call("read_file", path="setings.txt"),
        call("read_file", path="settings.txt"),
        {"text": "The file holds two keys."},
    )
    result = run_ca(["--yes", "what is in settings.txt?"], env, project)
    assert result.returncode == 0, result.stderr
    raw = (Path(ca_env["CA_HOME"]) / "feedback" / "pairs.jsonl").read_text(encoding="utf-8")
    assert TOKEN not in raw and "hunter2-not-a-pattern" not in raw
    [pair] = stored(ca_env)
    assert pair["good"]["calls"][0]["arguments"] == {"path": "settings.txt"}
    result_text = pair["good"]["results"][0]
    assert "github = ***" in result_text and "openai = ***" in result_text


def test_a_fixed_test_failure_is_recorded_from_a_real_session(
    fake_server: FakeModelServer, ca_env: dict[str, str], project: Path
) -> None:
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    check = 'python -c "import calc; assert calc.add(2, 3) == 5"'
    fake_server.enqueue(
        call("run_shell", command=check),
        call("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        call("run_shell", command=check),
        {"text": "Fixed add()."},
    )
    result = run_ca(["--yes", "make add() correct"], ca_env, project)
    assert result.returncode == 0, result.stderr
    [pair] = stored(ca_env)
    assert pair["category"] == "failed_commands"
    first_line = pair["bad"]["results"][0].splitlines()[0]
    assert "(cwd: ., exit 1," in first_line and str(project) not in json.dumps(pair)
    assert [c["name"] for c in pair["good"]["calls"]] == ["edit_file", "run_shell"]
    stats = run_ca(["feedback", "stats", "--json"], ca_env, project)
    assert json_result(stats.stdout)["by_category"]["failed_commands"] == 1
