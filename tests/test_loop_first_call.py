"""Under the tool-call envelope, a task's first reply must be a call; later ones may be text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.agent.loop import Agent
from code_assistant.backends.base import ChatOptions, Message
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes.model_server import FakeModelServer


def envelope(**reply: object) -> dict[str, str]:
    return {"text": json.dumps(reply)}


@pytest.fixture
def ollama(fake_server: FakeModelServer) -> Iterator[OllamaBackend]:
    made = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    yield made
    made.close()


def agent(backend: OllamaBackend, root: Path, needs_action: bool) -> Agent:
    return Agent(
        backend=backend,
        model="qwen2.5-coder:14b",
        tools=ToolRegistry(builtin_tools()),
        ctx=ToolContext(root=root),
        options=ChatOptions(num_ctx=4096),
        constrained_tool_calls="always",
        needs_action=needs_action,
    )


def text_allowed(body: dict[str, object]) -> bool:
    return '"const": "text"' in json.dumps(body["format"])


def test_a_task_starts_with_a_call_then_may_answer(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    fake_server.enqueue(
        envelope(type="tool", name="write_file",
                 arguments={"path": "hello.py", "content": "print('hello world')\n"}),
        envelope(type="text", text="Created hello.py."),
    )
    transcript = agent(ollama, tmp_path, needs_action=True).run(
        [Message("user", "Create hello.py that prints exactly: hello world")]
    )
    assert (tmp_path / "hello.py").read_text() == "print('hello world')\n"
    assert transcript.final_text == "Created hello.py."
    first, second = (r["body"] for r in fake_server.chat_requests)
    assert not text_allowed(first)  # a plain "hello world" answer was not on offer
    assert text_allowed(second)


def test_a_question_may_be_answered_at_once(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    fake_server.enqueue(envelope(type="text", text="It returns the length."))
    transcript = agent(ollama, tmp_path, needs_action=False).run(
        [Message("user", "What does len() return?")]
    )
    assert transcript.final_text == "It returns the length."
    assert text_allowed(fake_server.chat_requests[0]["body"])
