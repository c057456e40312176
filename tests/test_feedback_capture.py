"""FeedbackRecorder on real agent runs: the real loop, tools and backend against the fake server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.agent.events import (
    DoneEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    Transcript,
)
from code_assistant.agent.loop import Agent
from code_assistant.agent.personas import IMPLEMENTER
from code_assistant.app import App
from code_assistant.backends.base import ChatOptions, Message
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.config import load_config
from code_assistant.feedback.capture import (
    MAX_PAIRS,
    FeedbackRecorder,
    is_check,
    tee,
)
from code_assistant.feedback.pairs import Pair, project_id
from code_assistant.feedback.store import FeedbackStore
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes.model_server import FakeModelServer

MODEL = "qwen2.5-coder:14b"
PYTHON_CHECK = 'python -c "import calc; assert calc.add(2, 3) == 5"'


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    return root


@pytest.fixture(autouse=True)
def main_py(project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("print(1)\n")


@pytest.fixture
def loaded(project: Path, tmp_path: Path) -> App:
    return load_config(project, env={"CA_HOME": str(tmp_path / "ca-home")})


@pytest.fixture
def backend(fake_server: FakeModelServer) -> Iterator[OllamaBackend]:
    made = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    yield made
    made.close()


def run_session(
    backend: OllamaBackend, loaded: App, task: str, recorder: FeedbackRecorder
) -> None:
    agent = Agent(
        backend=backend,
        model=MODEL,
        tools=ToolRegistry(builtin_tools()),
        ctx=ToolContext(root=loaded.root, config=loaded.config, approver=None),
        options=ChatOptions(num_ctx=8192),
        on_event=recorder,
        max_steps=60,
    )
    agent.run([Message("system", "You are a coding agent."), Message("user", task)])


def record(
    fake_server: FakeModelServer,
    backend: OllamaBackend,
    loaded: App,
    *replies: object,
    task: str = "do it",
) -> list[Pair]:
    fake_server.enqueue(*replies)  # type: ignore[arg-type]
    recorder = FeedbackRecorder(loaded, IMPLEMENTER, MODEL, task)
    run_session(backend, loaded, task, recorder)
    return recorder.pairs


def test_failed_call_then_correct_call_of_the_same_tool(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    pairs = record(
        fake_server, backend, loaded,
        call("read_file", path="sorce/main.py"),
        call("read_file", path="src/main.py"),
        {"text": "It prints 1."},
        task="what does src/main.py print?",
    )
    [pair] = pairs
    assert pair.category == "tool_errors"
    assert pair.bad.calls[0].arguments == {"path": "sorce/main.py"}
    assert pair.bad.results[0].startswith("error: ") and "src/main.py" in pair.bad.results[0]
    assert pair.good.calls[0].arguments == {"path": "src/main.py"}
    assert "print(1)" in pair.good.results[0]
    assert (pair.persona, pair.model, pair.project) == ("implementer", MODEL, "proj")
    assert pair.task == "what does src/main.py print?"
    assert "write_file" in pair.tools


def test_a_failure_with_no_later_success_teaches_nothing(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    pairs = record(
        fake_server, backend, loaded,
        call("read_file", path="nope.py"),
        call("list_dir", path="."),
        {"text": "There is no nope.py."},
    )
    assert pairs == []


def test_failing_command_fixed_keeps_the_fix_and_the_passing_run(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App, project: Path
) -> None:
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    loaded.config.approval = "auto"
    pairs = record(
        fake_server, backend, loaded,
        call("run_shell", command=PYTHON_CHECK),
        call("read_file", path="calc.py"),
        call("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        call("run_shell", command=PYTHON_CHECK + "  "),  # spacing differs: same command
        {"text": "Fixed add()."},
    )
    [pair] = pairs
    assert pair.category == "failed_commands"
    assert pair.bad.calls[0].arguments == {"command": PYTHON_CHECK}
    assert ", exit 1, " in pair.bad.results[0].split("\n", 1)[0]
    assert "AssertionError" in pair.bad.results[0]
    assert [c.name for c in pair.good.calls] == ["read_file", "edit_file", "run_shell"]
    assert len(pair.good.results) == 3 and ", exit 0, " in pair.good.results[-1].split("\n")[0]


FLAKY = (
    "python -c \"import pathlib, sys; p = pathlib.Path('runs'); "
    "n = len(p.read_text()) if p.exists() else 0; p.write_text('x' * (n + 1)); "
    "sys.exit(0 if n else 1)\""
)


def test_a_command_that_passes_on_a_plain_rerun_is_flaky_not_fixed(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App, project: Path
) -> None:
    loaded.config.approval = "auto"
    pairs = record(
        fake_server, backend, loaded,
        call("run_shell", command=FLAKY),
        call("run_shell", command=FLAKY),
        {"text": "ok"},
    )
    assert (project / "runs").read_text() == "xx"
    assert pairs == []


def test_code_shown_instead_of_a_call_then_the_call(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    shown = "Here it is:\n```python\nprint('hello')\n```"
    [pair] = record(
        fake_server, backend, loaded,
        {"text": shown},
        call("write_file", path="hello.py", content="print('hello')\n"),
        {"text": "Wrote hello.py."},
    )
    assert pair.category == "explain_reprompts"
    assert pair.bad.text == shown and pair.bad.calls == []
    assert pair.good.calls[0].name == "write_file"
    assert pair.good.results[0].startswith("wrote hello.py")


def test_constrained_retry_keeps_the_first_bad_reply(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    envelope = {"name": "write_file", "arguments": {"path": "x.py", "content": "x = 1\n"}}
    [pair] = record(
        fake_server, backend, loaded,
        {"text": "```python\nx = 1\n```"},
        {"text": "Sure! ```python\nx = 2\n```"},
        {"text": json.dumps(envelope)},
        {"text": "done"},
    )
    assert pair.category == "constrained_retries"
    assert pair.bad.text == "```python\nx = 1\n```"
    assert pair.good.calls[0].arguments == envelope["arguments"]


def test_calls_written_as_text_give_one_pair_per_session(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    first = '<tool_call>{"name": "list_dir", "arguments": {"path": "."}}</tool_call>'
    second = '<tool_call>{"name": "read_file", "arguments": {"path": "src/main.py"}}</tool_call>'
    [pair] = record(
        fake_server, backend, loaded, {"text": first}, {"text": second}, {"text": "done"}
    )
    assert pair.category == "text_tool_calls"
    assert pair.bad.text == first
    assert [c.name for c in pair.good.calls] == ["list_dir"] and pair.good.text == ""


def test_disabled_feedback_records_nothing(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    loaded.config.feedback_enabled = False
    pairs = record(
        fake_server, backend, loaded,
        call("read_file", path="sorce/main.py"),
        call("read_file", path="src/main.py"),
        {"text": "ok"},
    )
    assert pairs == []


def test_a_session_stores_at_most_max_pairs(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App
) -> None:
    replies: list[object] = []
    for n in range(MAX_PAIRS + 5):
        replies += [call("read_file", path=f"missing{n}.py"), call("read_file", path="src/main.py")]
    pairs = record(fake_server, backend, loaded, *replies, {"text": "ok"})
    assert len(pairs) == MAX_PAIRS
    assert len({p.fingerprint() for p in pairs}) == MAX_PAIRS


def test_new_task_forgets_a_pending_failure(loaded: App) -> None:
    recorder = FeedbackRecorder(loaded, IMPLEMENTER, MODEL, "first")
    recorder(ToolCallEvent("c1", "read_file", {"path": "x"}))
    recorder(ToolResultEvent("c1", "read_file", False, True, "e", 0.0))
    recorder.new_task("second")
    recorder(ToolCallEvent("c2", "read_file", {"path": "y"}))
    recorder(ToolResultEvent("c2", "read_file", True, False, "y", 0.0))
    assert recorder.pairs == [] and recorder.task == "second"


def test_flush_writes_once_and_clears(loaded: App, tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb")
    recorder = FeedbackRecorder(loaded, IMPLEMENTER, MODEL, "t", store=store)
    recorder(ToolCallEvent("a", "read_file", {"path": "x"}))
    recorder(ToolResultEvent("a", "read_file", False, True, "e", 0.0))
    recorder(ToolCallEvent("b", "read_file", {"path": "y"}))
    recorder(ToolResultEvent("b", "read_file", True, False, "y", 0.0))
    assert len(recorder.flush()) == 1
    assert recorder.flush() == []
    assert len(store.read()) == 1


def test_flush_to_an_unwritable_place_warns_and_does_not_raise(
    loaded: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    recorder = FeedbackRecorder(
        loaded, IMPLEMENTER, MODEL, "t", store=FeedbackStore(blocker / "feedback")
    )
    recorder(ToolCallEvent("a", "read_file", {"path": "x"}))
    recorder(ToolResultEvent("a", "read_file", False, True, "e", 0.0))
    recorder(ToolCallEvent("b", "read_file", {"path": "y"}))
    recorder(ToolResultEvent("b", "read_file", True, False, "y", 0.0))
    with caplog.at_level(logging.WARNING):
        assert recorder.flush() == []
    assert "could not save feedback pairs" in caplog.text
    assert len(recorder.pairs) == 1


def test_tee_passes_every_event_to_every_handler_in_order() -> None:
    seen: list[tuple[str, str]] = []
    handle = tee(lambda e: seen.append(("a", e.kind)), None, lambda e: seen.append(("b", e.kind)))
    handle(TokenEvent("x"))
    handle(DoneEvent.of(Transcript(messages=[])))
    assert seen == [("a", "token"), ("b", "token"), ("a", "done"), ("b", "done")]


def replay(recorder: FeedbackRecorder, first_run: ToolResultEvent) -> list[Pair]:
    """A run_shell result, an edit, then the same command passing: a pair only when the
    first run failed."""
    recorder(ToolCallEvent("a", "run_shell", {"command": "pytest"}))
    recorder(first_run)
    recorder(ToolCallEvent("b", "edit_file", {"path": "x.py", "old": "-", "new": "+"}))
    recorder(ToolResultEvent("b", "edit_file", True, False, "edited x.py", 0.0))
    recorder(ToolCallEvent("c", "run_shell", {"command": "pytest"}))
    passed = "$ pytest  (cwd: /p, exit 0, 0.1s)\n1 passed"
    recorder(ToolResultEvent("c", "run_shell", True, False, passed, 0.0))
    return recorder.pairs


def test_a_failed_command_is_the_events_failed_flag_not_its_text(loaded: App) -> None:
    failing = "$ pytest  (cwd: /p, exit 1, 0.1s)\n1 failed"
    [pair] = replay(FeedbackRecorder(loaded, IMPLEMENTER, MODEL, "t"),
                    ToolResultEvent("a", "run_shell", True, True, "1 failed", 0.0))
    assert pair.category == "failed_commands"
    looks_failed = ToolResultEvent("a", "run_shell", True, False, failing, 0.0)
    assert replay(FeedbackRecorder(loaded, IMPLEMENTER, MODEL, "t"), looks_failed) == []


def flushed(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App,
    store: FeedbackStore, *replies: object,
) -> list[Pair]:
    """Pairs of one real session as the store keeps them (flush marks them verified)."""
    fake_server.enqueue(*replies)  # type: ignore[arg-type]
    recorder = FeedbackRecorder(loaded, IMPLEMENTER, MODEL, "do it", store=store)
    run_session(backend, loaded, "do it", recorder)
    recorder.flush()
    return store.read()


def test_a_passing_check_after_the_last_change_verifies_the_session(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App, tmp_path: Path
) -> None:
    loaded.config.approval = "auto"
    [pair] = flushed(
        fake_server, backend, loaded, FeedbackStore(tmp_path / "fb"),
        call("read_file", path="sorce/main.py"),
        call("read_file", path="src/main.py"),
        call("edit_file", path="src/main.py", old="print(1)", new="print(2)"),
        call("run_shell", command="ls src"),  # not a check: lists files
        call("run_shell", command="cd src && python main.py"),
        {"text": "It prints 2 now."},
    )
    assert pair.verified is True and pair.recovered is False
    assert pair.project_id == project_id(loaded.root) and pair.project == "proj"


def test_no_check_or_a_change_after_it_leaves_pairs_unverified(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App, tmp_path: Path
) -> None:
    loaded.config.approval = "auto"
    [unchecked] = flushed(
        fake_server, backend, loaded, FeedbackStore(tmp_path / "one"),
        call("read_file", path="sorce/main.py"),
        call("read_file", path="src/main.py"),
        call("run_shell", command="cat src/main.py"),
        {"text": "It prints 1."},
    )
    assert unchecked.verified is False
    [stale] = flushed(
        fake_server, backend, loaded, FeedbackStore(tmp_path / "two"),
        call("read_file", path="sorce/main.py"),
        call("read_file", path="src/main.py"),
        call("run_shell", command="python src/main.py"),
        call("write_file", path="src/other.py", content="x = 1\n"),
        {"text": "Done."},
    )
    assert stale.verified is False


def test_a_fixed_failing_command_is_verified_and_a_text_call_is_recovered(
    fake_server: FakeModelServer, backend: OllamaBackend, loaded: App,
    project: Path, tmp_path: Path,
) -> None:
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    loaded.config.approval = "auto"
    edit = json.dumps({"name": "edit_file", "arguments": {
        "path": "calc.py", "old": "return a - b", "new": "return a + b"}})  # fmt: skip
    pairs = flushed(
        fake_server, backend, loaded, FeedbackStore(tmp_path / "fb"),
        call("run_shell", command=PYTHON_CHECK),
        {"text": edit},  # the fix is a call parsed from text
        call("run_shell", command=PYTHON_CHECK),
        call("read_file", path="nope.py"),
        call("read_file", path="calc.py"),
        {"text": "Fixed add()."},
    )
    by_category = {pair.category: pair for pair in pairs}
    assert set(by_category) == {"failed_commands", "tool_errors", "text_tool_calls"}
    assert by_category["text_tool_calls"].recovered is True
    assert by_category["failed_commands"].verified is True
    assert by_category["failed_commands"].recovered is True  # its fix came from text
    # The read_file lesson came after the last check: nothing verified it.
    assert by_category["tool_errors"].verified is False
    assert by_category["tool_errors"].recovered is False


@pytest.mark.parametrize(
    ("command", "check"),
    [
        ("python -m pytest -q", True), ("pytest tests/test_a.py", True),
        ("cd app && npm test", True), ("PYTHONPATH=src python3 main.py", True),
        ("./run_tests.sh", True), ("/usr/bin/python3 -c 'import a'", True),
        ("ls -la", False), ("cat a.py | grep def", False), ("cd src", False), ("", False),
        ("echo python", False), ("python3 -m py_compile a.py", False),
        ("python -m pip install -e .", False), ("node --version", False),
    ],
)
def test_is_check_knows_a_test_or_program_run(command: str, check: bool) -> None:
    assert is_check(command) is check
