"""AnthropicBackend against a loopback fake of the Messages API: tools, streaming, errors."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.agent.events import TokenEvent
from code_assistant.agent.loop import Agent
from code_assistant.backends import get_backend
from code_assistant.backends.anthropic import AnthropicBackend, to_wire
from code_assistant.backends.base import ChatOptions, Message, ToolCall, ToolSpec
from code_assistant.config import Config
from code_assistant.errors import (
    BackendError,
    BackendServerError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ModelNotFound,
)
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes.anthropic_api import API_KEY, FakeAnthropicServer, check_request

MODEL = "claude-sonnet-4-6"
WRITE = ToolSpec(
    "write_file", "Write a file.",
    {"type": "object", "properties": {"path": {"type": "string"},
                                      "content": {"type": "string"}},
     "required": ["path", "content"]},
)


@pytest.fixture
def api() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as server:
        yield server


Make = Callable[..., AnthropicBackend]


@pytest.fixture
def make(api: FakeAnthropicServer) -> Iterator[Make]:
    """Backends closed after the test (an open client leaks a socket: a ResourceWarning)."""
    built: list[AnthropicBackend] = []

    def factory(retries: int = 0, timeout: float = 10, key: str = API_KEY, url: str = "") -> (
        AnthropicBackend
    ):
        built.append(AnthropicBackend(key, url or api.url, timeout=timeout, retries=retries))
        return built[-1]

    yield factory
    for item in built:
        item.close()


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"name": name, "arguments": arguments}


def test_agent_loop_writes_a_file_through_tool_use_blocks(
    api: FakeAnthropicServer, tmp_path: Path, make: Make
) -> None:
    api.enqueue(
        {"text": "I will write both files.", "tool_calls": [
            call("write_file", path="hello.py", content="print('hello')\n"),
            call("write_file", path="README.md", content="# hello\n"),
        ]},
        {"tool_calls": [call("read_file", path="hello.py")]},
        "Wrote hello.py and README.md.",
    )
    tools = ToolRegistry(t for t in builtin_tools() if t.name in ("write_file", "read_file"))
    agent = Agent(make(), MODEL, tools, ToolContext(root=tmp_path), stream=True)
    tokens: list[str] = []
    agent.on_event = lambda e: tokens.append(e.text) if isinstance(e, TokenEvent) else None
    transcript = agent.run([Message("system", "You write code."), Message("user", "hello")])

    assert transcript.stop_reason == "done"
    assert transcript.final_text == "Wrote hello.py and README.md."
    assert "".join(tokens).startswith("I will write both files.")
    assert (tmp_path / "hello.py").read_text() == "print('hello')\n"
    assert transcript.model_calls == 3 and transcript.tool_calls == 3
    assert transcript.usage.prompt_tokens > 0 and transcript.usage.completion_tokens > 0
    bodies = [r["body"] for r in api.message_requests]
    assert all(b["system"] == "You write code." and b["stream"] for b in bodies)
    assert [t["name"] for t in bodies[0]["tools"]] == ["read_file", "write_file"]
    assert "input_schema" in bodies[0]["tools"][0]
    second = bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    results = second[2]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result"]
    assert [b["tool_use_id"] for b in results] == ["toolu_0_0", "toolu_0_1"]
    assert "hello.py" in results[0]["content"]
    third = bodies[2]["messages"][-1]["content"][0]
    assert third["type"] == "tool_result" and "print('hello')" in third["content"]


def test_non_streamed_reply_usage_and_stop_reason(api: FakeAnthropicServer, make: Make) -> None:
    api.enqueue({"text": "cut", "finish_reason": "max_tokens",
                 "usage": {"prompt_tokens": 120, "completion_tokens": 7}})
    result = make().chat(MODEL, [Message("user", "hi")], options=ChatOptions(max_tokens=7))
    assert (result.text, result.usage.prompt_tokens, result.usage.completion_tokens) == (
        "cut", 120, 7)
    assert result.model == MODEL
    assert result.warnings == ["the reply was cut at max_tokens"]
    body = api.message_requests[0]["body"]
    assert body["max_tokens"] == 7 and "stream" not in body and "tools" not in body
    assert "temperature" not in body


def test_streamed_tool_call_arguments_are_reassembled(api: FakeAnthropicServer, make: Make) -> None:
    content = "def f():\n    return {'a': [1, 2]}\n" * 5
    api.enqueue({"text": "Writing.", "tool_calls": [call("write_file", path="f.py",
                                                         content=content)]})
    tokens: list[str] = []
    result = make().chat(MODEL, [Message("user", "go")], tools=[WRITE],
                               on_token=tokens.append)
    assert result.tool_calls == [
        ToolCall("write_file", {"path": "f.py", "content": content}, "toolu_0_0")
    ]
    assert "".join(tokens) == "Writing." == result.text


def test_constrained_format_goes_as_output_config(api: FakeAnthropicServer, make: Make) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    api.enqueue('{"ok": true}')
    make().chat(MODEL, [Message("user", "json")], options=ChatOptions(format=schema))
    body = api.message_requests[0]["body"]
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_wrong_key_is_a_clear_error_without_the_key(api: FakeAnthropicServer, make: Make) -> None:
    wrong = make(key="sk-ant-wrong-1234")
    with pytest.raises(BackendError, match="rejected the key") as info:
        wrong.chat(MODEL, [Message("user", "hi")])
    assert "sk-ant-wrong" not in str(info.value)


def test_missing_key_refused_before_any_request() -> None:
    with pytest.raises(ConfigError, match="CA_ANTHROPIC_API_KEY"):
        get_backend(Config(backend="anthropic"))


def test_get_backend_uses_the_configured_base_url(api: FakeAnthropicServer) -> None:
    config = Config(backend="anthropic", anthropic_api_key=API_KEY, anthropic_base_url=api.url)
    built = get_backend(config)
    assert isinstance(built, AnthropicBackend)
    assert built.list_models() == ["claude-sonnet-4-6", "claude-haiku-4-5"]
    built.close()


def test_unknown_model_is_model_not_found(api: FakeAnthropicServer, make: Make) -> None:
    api.enqueue("never sent")
    with pytest.raises(ModelNotFound, match="claude-nope"):
        make().chat("claude-nope", [Message("user", "hi")])


def test_server_error_is_retried_then_succeeds(api: FakeAnthropicServer, make: Make) -> None:
    api.enqueue({"error": {"status": 529, "message": "Overloaded"}}, "fine now")
    result = make(retries=1).chat(MODEL, [Message("user", "hi")])
    assert result.text == "fine now"
    assert len(api.message_requests) == 2


@pytest.mark.parametrize("status", [429, 500, 529])
def test_busy_or_failing_api_is_transient(
    api: FakeAnthropicServer, status: int, make: Make
) -> None:
    api.enqueue({"error": {"status": status, "message": "busy"}})
    with pytest.raises(BackendServerError, match=f"HTTP {status}") as info:
        make().chat(MODEL, [Message("user", "hi")])
    assert info.value.transient


def test_bad_request_is_not_retried(api: FakeAnthropicServer, make: Make) -> None:
    api.enqueue({"error": {"status": 400, "message": "prompt is too long"}}, "unused")
    with pytest.raises(BackendError, match="prompt is too long") as info:
        make(retries=2).chat(MODEL, [Message("user", "hi")])
    assert not info.value.transient
    assert len(api.message_requests) == 1


def test_timeout_and_unreachable(api: FakeAnthropicServer, make: Make) -> None:
    api.enqueue({"text": "late", "delay": 1.0})
    with pytest.raises(BackendTimeout, match="request_timeout"):
        make(timeout=0.2).chat(MODEL, [Message("user", "hi")])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = make(url=f"http://127.0.0.1:{port}")
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        closed.chat(MODEL, [Message("user", "hi")])


def test_no_embeddings_and_unload_is_a_no_op(api: FakeAnthropicServer, make: Make) -> None:
    built = make()
    with pytest.raises(BackendError, match="no embeddings"):
        built.embed(MODEL, ["x"])
    built.unload(MODEL)
    assert built.loaded_models() == []
    assert api.requests == []


def test_wire_merges_tool_results_and_following_text() -> None:
    messages = [
        Message("system", "s1"),
        Message("user", "task"),
        Message("assistant", "", tool_calls=[ToolCall("a", {}, "t1"), ToolCall("b", {}, "t2")]),
        Message("tool", "out a", tool_call_id="t1"),
        Message("tool", "", tool_call_id="t2"),
        Message("user", "now fix it"),
        Message("assistant", "   "),
        Message("user", "again"),
        Message("assistant", "ok"),
        Message("user", " "),
    ]
    wire = to_wire(messages)
    assert [m["role"] for m in wire] == ["user", "assistant", "user", "assistant", "user"]
    assert [b["type"] for b in wire[2]["content"]] == ["tool_result", "tool_result", "text",
                                                       "text"]
    assert wire[4]["content"] == [{"type": "text", "text": "(empty message)"}]
    assert wire[2]["content"][1]["content"] == "(no output)"
    assert check_request({"max_tokens": 1, "messages": wire}) == ""


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    """Shapes the agent loop produces: tasks, replies, tool calls each answered by a result."""
    messages = [Message("user", draw(st.text()))]
    for turn in range(draw(st.integers(0, 6))):
        text = draw(st.sampled_from(["", " ", "ok", "Let me look."]))
        calls = [ToolCall("t", {"n": n}, f"id{turn}_{n}") for n in range(draw(st.integers(0, 3)))]
        messages.append(Message("assistant", text, tool_calls=calls))
        messages += [Message("tool", draw(st.text()), tool_call_id=c.id) for c in calls]
        if not calls or draw(st.booleans()):
            messages.append(Message("user", draw(st.sampled_from(["go on", "fix it"]))))
    return messages


@settings(max_examples=150, deadline=None)
@given(conversations())
def test_every_agent_conversation_is_a_valid_request(messages: list[Message]) -> None:
    assert check_request({"max_tokens": 1, "messages": to_wire(messages)}) == ""
