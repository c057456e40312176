"""The scripted backend: replies in order, records each request, and says when it runs out."""

from __future__ import annotations

import pytest

from code_assistant.backends.base import (
    Backend,
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
)
from code_assistant.backends.scripted import ScriptedBackend
from code_assistant.errors import BackendError


def test_replies_come_back_in_order_and_requests_are_recorded() -> None:
    backend = ScriptedBackend([ToolCall("read_file", {"path": "a.py"}), "done"])
    assert isinstance(backend, Backend)
    spec = ToolSpec("read_file", "Read a file.", {"type": "object", "properties": {}})
    messages = [Message("user", "read a.py")]
    first = backend.chat("m1", messages, tools=[spec], options=ChatOptions(num_ctx=1024))
    messages.append(Message("assistant", "changed later"))  # the record must not follow
    tokens: list[str] = []
    second = backend.chat("m1", [Message("user", "again")], on_token=tokens.append)
    assert first.tool_calls == [ToolCall("read_file", {"path": "a.py"})] and first.text == ""
    assert second.text == "done" and second.tool_calls == []
    assert tokens == ["done"]
    assert first.model == "m1" and second.usage.completion_tokens >= 1
    assert [len(r.messages) for r in backend.requests] == [1, 1]
    assert backend.requests[0].tools == [spec]
    assert backend.requests[0].options == ChatOptions(num_ctx=1024)
    assert backend.remaining == 0


def test_a_chat_result_is_given_back_as_it_is() -> None:
    reply = ChatResult("hi", model="other", truncated_prompt=True)
    got = ScriptedBackend([reply]).chat("m", [Message("user", "x")])
    assert got is reply and got.model == "other" and got.truncated_prompt


def test_running_out_of_replies_is_a_clear_error() -> None:
    backend = ScriptedBackend(["only"])
    backend.chat("m", [Message("user", "x")])
    with pytest.raises(BackendError, match="ran out of replies after 1 chat call"):
        backend.chat("m", [Message("user", "y")])
    assert len(backend.requests) == 2  # the call that found nothing was still recorded
