"""A call's failure is its ToolOutput's `failed` flag: never the tool's name, never its text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.agent.events import (
    DoneEvent,
    Event,
    ModelCallEvent,
    RetryEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    Transcript,
    WarningEvent,
)
from code_assistant.agent.loop import Agent
from code_assistant.backends.base import ChatOptions, Message, ToolCall
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import Tool, ToolContext, ToolOutput, ToolRegistry, tool
from tests.fakes.model_server import FakeModelServer

MODEL = "qwen2.5-coder:14b"
# What a failing run_shell's rendered text starts with.
FAILING_HEADER = "$ pytest  (cwd: /p, exit 1, 0.1s)\n1 failed"


@tool
def report(ctx: ToolContext) -> str:
    """Print the last test report."""
    return FAILING_HEADER


@tool(name="run_shell", kind="exec")
def shell_lookalike(ctx: ToolContext, command: str) -> str:
    """Pretends to run a command (an MCP server's tool of the same name, say).

    Args:
        command: The command.
    """
    return FAILING_HEADER


@tool
def lint(ctx: ToolContext) -> ToolOutput:
    """Lint the project."""
    return ToolOutput("2 problems", failed=True)


@pytest.fixture
def ollama(fake_server: FakeModelServer) -> Iterator[OllamaBackend]:
    made = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    yield made
    made.close()


def run_calls(
    fake_server: FakeModelServer, backend: OllamaBackend, root: Path, tools: list[Tool],
    *calls: tuple[str, dict[str, object]],
) -> tuple[Transcript, list[ToolResultEvent]]:
    fake_server.enqueue(
        *({"tool_calls": [{"name": name, "arguments": args}]} for name, args in calls),
        {"text": "done"},
    )
    events: list[Event] = []
    agent = Agent(backend, MODEL, ToolRegistry(tools), ToolContext(root=root),
                  options=ChatOptions(num_ctx=8192), on_event=events.append, needs_action=False)
    transcript = agent.run([Message("system", "You are a coding agent."), Message("user", "go")])
    assert isinstance(events[-1], DoneEvent)
    return transcript, [e for e in events if isinstance(e, ToolResultEvent)]


def test_text_that_looks_like_a_failing_command_is_not_a_failure(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    transcript, results = run_calls(
        fake_server, ollama, tmp_path, [report, shell_lookalike],
        ("report", {}), ("run_shell", {"command": "pytest"}),
    )
    assert [(r.name, r.ok, r.failed, r.output) for r in results] == [
        ("report", True, False, FAILING_HEADER), ("run_shell", True, False, FAILING_HEADER),
    ]
    assert transcript.recoveries.failed_commands == 0


def test_a_tool_says_it_failed_with_its_output(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    transcript, [result] = run_calls(fake_server, ollama, tmp_path, [lint], ("lint", {}))
    assert (result.ok, result.failed, result.output) == (True, True, "2 problems")
    assert transcript.recoveries.failed_commands == 1


def test_run_shell_fails_by_its_exit_code(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    transcript, results = run_calls(
        fake_server, ollama, tmp_path, builtin_tools(),
        ("run_shell", {"command": "echo fine; exit 3"}),
        ("run_shell", {"command": "echo '$ pytest  (cwd: /p, exit 1, 0.1s)'"}),  # exits 0
    )
    assert [(r.ok, r.failed) for r in results] == [(True, True), (True, False)]
    assert results[0].output.splitlines()[1:] == ["fine"]
    assert transcript.recoveries.failed_commands == 1


def test_dispatch_wraps_plain_text_and_keeps_a_tools_output(tmp_path: Path) -> None:
    registry = ToolRegistry([report, lint, *builtin_tools()])
    ctx = ToolContext(root=tmp_path)
    assert registry.dispatch(ToolCall("report", {}), ctx) == ToolOutput(FAILING_HEADER)
    assert registry.dispatch(ToolCall("lint", {}), ctx) == ToolOutput("2 problems", failed=True)
    shell = registry.dispatch(ToolCall("run_shell", {"command": "exit 4"}), ctx)
    assert (shell.failed, shell.exit_code) == (True, 4)
    assert shell.text.startswith("$ exit 4  (cwd: ")


def test_every_event_keeps_its_json_line_shape() -> None:
    """The `--json` lines (docs/json.md) as the dict events wrote them, key order included."""
    transcript = Transcript(messages=[], final_text="ok", check_command="pytest", verified=True)
    shapes = [
        (TokenEvent("hi"), {"event": "token", "text": "hi"}),
        (ModelCallEvent(MODEL, step=2), {"event": "model_call", "model": MODEL, "step": 2}),
        (ToolCallEvent("c1", "read_file", {"path": "a.py"}),
         {"event": "tool_call", "id": "c1", "name": "read_file", "arguments": {"path": "a.py"}}),
        (ToolResultEvent("c1", "read_file", True, False, "text", 0.25),
         {"event": "tool_result", "id": "c1", "name": "read_file", "ok": True, "failed": False,
          "output": "text", "seconds": 0.25}),
        (RetryEvent("explain_reprompt"), {"event": "retry", "strategy": "explain_reprompt"}),
        (WarningEvent("cut"), {"event": "warning", "message": "cut"}),
        (DoneEvent.of(transcript), {"event": "done", **transcript.summary()}),
    ]
    for event, expected in shapes:
        assert list(event.to_dict().items()) == list(expected.items())
