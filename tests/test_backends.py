"""The production backends against the fake model server over real HTTP: both protocols."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from code_assistant.backends.base import Backend, ChatOptions, Message, ToolSpec
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.backends.openai_compat import OpenAICompatBackend
from code_assistant.errors import (
    BackendServerError,
    BackendTimeout,
    BackendUnavailable,
    ModelNotFound,
)
from tests.fakes.model_server import FakeModelServer

MODEL = "qwen2.5-coder:7b"
WRITE = ToolSpec(
    "write_file",
    "Write a file.",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)
Factory = Callable[..., Backend]
_opened: list[Backend] = []


@pytest.fixture(autouse=True)
def _close_backends() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def ollama(server: FakeModelServer, timeout: float = 30, retries: int = 0) -> Backend:
    _opened.append(OllamaBackend(host=server.url, timeout=timeout, retries=retries))
    return _opened[-1]


def openai_compat(server: FakeModelServer, timeout: float = 30, retries: int = 0) -> Backend:
    _opened.append(
        OpenAICompatBackend(base_url=server.openai_url, timeout=timeout, retries=retries)
    )
    return _opened[-1]


BACKENDS = pytest.mark.parametrize("make", [ollama, openai_compat], ids=["ollama", "openai"])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@BACKENDS
def test_chat_without_streaming(fake_server: FakeModelServer, make: Factory) -> None:
    fake_server.enqueue({"text": "Use git reflog to find lost commits."})
    result = make(fake_server).chat(MODEL, [Message("user", "what is reflog?")])
    assert result.text == "Use git reflog to find lost commits."
    assert result.tool_calls == []
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.seconds > 0
    body = fake_server.chat_requests[-1]["body"]
    assert body["messages"] == [{"role": "user", "content": "what is reflog?"}]


@BACKENDS
def test_streaming_delivers_every_token(fake_server: FakeModelServer, make: Factory) -> None:
    text = "one two three four five six seven"
    fake_server.enqueue({"text": text})
    tokens: list[str] = []
    result = make(fake_server).chat(MODEL, [Message("user", "count")], on_token=tokens.append)
    assert len(tokens) > 3
    assert "".join(tokens) == text == result.text
    assert result.usage.completion_tokens > 0


@BACKENDS
@pytest.mark.parametrize("stream", [False, True])
def test_native_tool_calls(fake_server: FakeModelServer, make: Factory, stream: bool) -> None:
    arguments = {"path": "a.py", "content": 'print("hi")\n'}
    fake_server.enqueue({"tool_calls": [{"name": "write_file", "arguments": arguments}]})
    tokens: list[str] = []
    result = make(fake_server).chat(
        MODEL, [Message("user", "write it")], tools=[WRITE],
        on_token=tokens.append if stream else None,
    )
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("write_file", arguments)]
    sent = fake_server.chat_requests[-1]["body"]["tools"][0]
    assert sent["function"]["name"] == "write_file"
    assert sent["function"]["parameters"] == WRITE.parameters


@BACKENDS
def test_tool_results_round_trip(fake_server: FakeModelServer, make: Factory) -> None:
    fake_server.enqueue({"text": "done"})
    from code_assistant.backends.base import ToolCall

    history = [
        Message("user", "write"),
        Message("assistant", "", tool_calls=[ToolCall("write_file", {"path": "a"}, "call_1")]),
        Message("tool", "wrote a", tool_call_id="call_1", name="write_file"),
    ]
    make(fake_server).chat(MODEL, history, tools=[WRITE])
    sent = fake_server.chat_requests[-1]["body"]["messages"]
    assert sent[2]["content"] == "wrote a"
    assert sent[1]["tool_calls"][0]["function"]["name"] == "write_file"


def test_ollama_always_sends_num_ctx_and_keep_alive(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("a", "b")
    backend = ollama(fake_server)
    options = ChatOptions(num_ctx=4096, keep_alive="5m", seed=7)
    backend.chat(MODEL, [Message("user", "x")], options=options)
    backend.chat(MODEL, [Message("user", "y")], options=options, on_token=lambda t: None)
    for request in fake_server.chat_requests:
        assert request["body"]["options"]["num_ctx"] == 4096
        assert request["body"]["options"]["seed"] == 7
        assert request["body"]["keep_alive"] == "5m"


def test_ollama_warns_when_the_prompt_is_cut(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("short answer")
    prompt = "word " * 2000  # about 2,500 tokens
    result = ollama(fake_server).chat(
        MODEL, [Message("user", prompt)], options=ChatOptions(num_ctx=1024)
    )
    assert result.truncated_prompt
    assert "num_ctx=1024" in result.warnings[0]


def test_ollama_constrained_format_is_sent(fake_server: FakeModelServer) -> None:
    fake_server.enqueue('{"intent": "conversational"}')
    schema = {"type": "object", "properties": {"intent": {"type": "string"}}}
    ollama(fake_server).chat(MODEL, [Message("user", "hi")], options=ChatOptions(format=schema))
    assert fake_server.chat_requests[-1]["body"]["format"] == schema


@BACKENDS
def test_embeddings(fake_server: FakeModelServer, make: Factory) -> None:
    vectors = make(fake_server).embed(
        "nomic-embed-text", ["parse the config file", "parse config", "bake a cake"]
    )
    assert len(vectors) == 3 and len(vectors[0]) == 64

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])


def test_ollama_unload_and_ps(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("hi")
    backend = ollama(fake_server)
    backend.chat(MODEL, [Message("user", "x")])
    assert backend.loaded_models() == [MODEL]
    backend.unload(MODEL)
    assert backend.loaded_models() == []
    assert fake_server.loaded == []
    assert MODEL in backend.list_models()


@BACKENDS
def test_unknown_model_says_what_to_do(fake_server: FakeModelServer, make: Factory) -> None:
    with pytest.raises(ModelNotFound) as info:
        make(fake_server).chat("nosuch:1b", [Message("user", "x")])
    assert "nosuch:1b" in str(info.value)
    if make is ollama:
        assert "ollama pull nosuch:1b" in str(info.value)


@BACKENDS
@pytest.mark.parametrize("stream", [False, True])
def test_connection_refused(make: Factory, stream: bool) -> None:
    class Nowhere:
        url = f"http://127.0.0.1:{closed_port()}"
        openai_url = url + "/v1"

    on_token = (lambda token: None) if stream else None
    with pytest.raises(BackendUnavailable) as info:
        make(Nowhere).chat(MODEL, [Message("user", "x")], on_token=on_token)  # type: ignore[arg-type]
    assert "127.0.0.1" in str(info.value)
    assert info.value.exit_code == 3


@BACKENDS
def test_server_errors_are_retried_then_succeed(
    fake_server: FakeModelServer, make: Factory
) -> None:
    failure = {"error": {"status": 503, "message": "overloaded"}}
    fake_server.enqueue(failure, failure, "third time lucky")
    result = make(fake_server, retries=2).chat(MODEL, [Message("user", "x")])
    assert result.text == "third time lucky"
    assert len(fake_server.chat_requests) == 3


@BACKENDS
def test_server_error_after_bounded_retries(fake_server: FakeModelServer, make: Factory) -> None:
    failure = {"error": {"status": 500, "message": "boom"}}
    fake_server.enqueue(failure, failure, "never reached")
    with pytest.raises(BackendServerError) as info:
        make(fake_server, retries=1).chat(MODEL, [Message("user", "x")])
    assert "boom" in str(info.value) and info.value.exit_code == 5
    assert len(fake_server.chat_requests) == 2


@BACKENDS
def test_timeout(fake_server: FakeModelServer, make: Factory) -> None:
    fake_server.enqueue({"text": "late", "delay": 3})
    with pytest.raises(BackendTimeout) as info:
        make(fake_server, timeout=0.5).chat(MODEL, [Message("user", "x")])
    assert info.value.exit_code == 6
