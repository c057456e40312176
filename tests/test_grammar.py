"""The tool-call envelope: its schema, its parser, and the loop's constrained_tool_calls switch."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.agent.events import Event, TokenEvent
from code_assistant.agent.grammar import (
    constrain_every_call,
    envelope_prompt,
    envelope_schema,
    parse_envelope,
    with_envelope_prompt,
)
from code_assistant.agent.loop import Agent
from code_assistant.backends.base import Backend, Message
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.backends.openai_compat import OpenAICompatBackend
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes.model_server import FakeModelServer

SPECS = [t.spec for t in builtin_tools()]
NAMES = [s.name for s in SPECS]
MODEL = "qwen2.5-coder:7b"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def _tool(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool", "name": name, "arguments": arguments}


# -- the schema -----------------------------------------------------------------------------
VALID = [
    {"type": "text", "text": "All done."},
    _tool("read_file", path="a.py"),
    _tool("read_file", path="a.py", start_line=3, end_line=9),
    _tool("write_file", path="a.py", content="print(1)\n"),
    _tool("list_dir"),
    _tool("run_shell", command="pytest -q", timeout=60),
]
INVALID = [
    _tool("read_file"),  # a required argument missing
    _tool("read_file", path="a.py", bogus=1),  # an argument the tool does not have
    _tool("read_file", path=3),  # the wrong type
    _tool("read_file", path="a.py", start_line="3"),
    _tool("delete_everything", path="/"),  # no such tool
    {"type": "tool", "name": "read_file"},  # no arguments
    {"type": "text"},
    {"type": "text", "text": "hi", "extra": 1},
    {"type": "tool", "name": "list_dir", "arguments": {}, "also": "text"},
    {"name": "read_file", "arguments": {"path": "a.py"}},  # no "type"
    [],
    "read_file",
]


@pytest.mark.parametrize("reply", VALID)
def test_the_envelope_admits_well_formed_replies(reply: dict[str, Any]) -> None:
    jsonschema.validate(reply, envelope_schema(SPECS))


@pytest.mark.parametrize("reply", INVALID)
def test_the_envelope_refuses_malformed_replies(reply: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(reply, envelope_schema(SPECS))


def test_without_text_the_reply_must_be_a_call() -> None:
    schema = envelope_schema(SPECS, allow_text=False)
    jsonschema.validate(_tool("list_dir"), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"type": "text", "text": "no"}, schema)


def test_the_schema_follows_the_tools_own_argument_schemas() -> None:
    schema = envelope_schema(SPECS)
    tools = {o["properties"]["name"]["const"]: o for o in schema["anyOf"][1:]}
    assert list(tools) == NAMES
    for spec in SPECS:
        arguments = tools[spec.name]["properties"]["arguments"]
        assert arguments["properties"] == spec.parameters["properties"]
        assert arguments["required"] == spec.parameters["required"]
        assert arguments["additionalProperties"] is False
    # "type" comes first, so a grammar decides text-or-tool before anything else.
    assert all(next(iter(o["properties"])) == "type" for o in schema["anyOf"])


def test_building_the_schema_leaves_the_tools_untouched() -> None:
    before = copy.deepcopy([s.parameters for s in SPECS])
    schema = envelope_schema(SPECS)
    schema["anyOf"][1]["properties"]["arguments"]["properties"]["path"]["type"] = "integer"
    assert [s.parameters for s in SPECS] == before
    assert envelope_schema(SPECS) == envelope_schema(SPECS)


def test_edge_cases_of_the_tool_list() -> None:
    assert envelope_schema([]) == envelope_schema([], allow_text=True)
    jsonschema.validate({"type": "text", "text": "x"}, envelope_schema([]))
    with pytest.raises(ValueError, match="at least one tool"):
        envelope_schema([], allow_text=False)
    single = envelope_schema(SPECS[:1], allow_text=False)
    assert "anyOf" not in single
    jsonschema.validate(_tool("read_file", path="x"), single)


# -- the parser -----------------------------------------------------------------------------
@given(name=st.sampled_from(NAMES), arguments=st.dictionaries(st.text(max_size=10), json_values))
def test_a_tool_envelope_round_trips(name: str, arguments: dict[str, Any]) -> None:
    reply = parse_envelope(json.dumps(_tool(name, **arguments)), NAMES)
    assert reply is not None and reply.text == ""
    [call] = reply.calls
    assert (call.name, call.arguments) == (name, arguments)


@given(text=st.text())
def test_a_text_envelope_round_trips(text: str) -> None:
    reply = parse_envelope(json.dumps({"type": "text", "text": text}), NAMES)
    assert reply is not None and reply.text == text and reply.calls == []


@given(text=st.text())
def test_the_parser_never_raises(text: str) -> None:
    reply = parse_envelope(text, NAMES)
    assert reply is None or not (reply.calls and reply.text)


@given(
    reply=st.sampled_from(VALID),
    data=st.data(),
)
def test_a_reply_cut_short_is_not_an_envelope(reply: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(reply)
    cut = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    assert parse_envelope(text[:cut], NAMES) is None


@given(other=json_values)
def test_other_json_is_not_an_envelope(other: Any) -> None:
    if isinstance(other, dict) and other.get("type") == "text":
        return
    assert parse_envelope(json.dumps(other), NAMES) is None


def test_parser_details() -> None:
    assert parse_envelope('{"type": "tool", "name": "nope", "arguments": {}}', NAMES) is None
    assert parse_envelope('{"type": "tool", "name": "list_dir", "arguments": []}', NAMES) is None
    assert parse_envelope('{"type": "text", "text": 5}', NAMES) is None
    bare = parse_envelope('{"name": "list_dir", "arguments": {"path": "."}}', NAMES)
    assert bare is not None and bare.calls[0].arguments == {"path": "."}
    # A raw control character inside a string: llama.cpp's grammar lets byte tokens through.
    cr = '{"type": "tool", "name": "read_file", "arguments": {"path": "a\rb"}}'
    raw = parse_envelope(cr, NAMES)
    assert raw is not None and raw.calls[0].arguments == {"path": "a\rb"}
    assert parse_envelope('  {"type": "text", "text": "ok"}\n ', NAMES).text == "ok"  # type: ignore[union-attr]


# -- the prompt -----------------------------------------------------------------------------
def test_the_prompt_names_every_tool_and_argument() -> None:
    prompt = envelope_prompt(SPECS)
    for spec in SPECS:
        assert f"- {spec.name}: " in prompt
        for arg in spec.parameters["properties"]:
            need = "required" if arg in spec.parameters["required"] else "optional"
            assert f"    {arg} (" in prompt and need in prompt
    assert '"type": "text"' in prompt
    assert '"type": "text"' not in envelope_prompt(SPECS, allow_text=False)


def test_the_prompt_goes_into_a_copy_of_the_system_message() -> None:
    messages = [Message("system", "You are helpful."), Message("user", "hi")]
    prompted = with_envelope_prompt(messages, SPECS)
    assert messages[0].content == "You are helpful."
    assert prompted[0].content.startswith("You are helpful.\n\n# Reply format")
    assert prompted[1] is messages[1]
    bare = with_envelope_prompt([Message("user", "hi")], SPECS)
    assert [m.role for m in bare] == ["system", "user"]


# -- the switch -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "backend", "every_call"),
    [
        ("auto", "llamacpp", False),
        ("auto", "ollama", False),
        ("auto", "openai", False),
        ("always", "ollama", True),
        ("always", "openai", True),
        ("never", "llamacpp", False),
        ("never", "ollama", False),
    ],
)
def test_which_calls_are_constrained(mode: str, backend: str, every_call: bool) -> None:
    assert constrain_every_call(mode, backend) is every_call


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="constrained_tool_calls"):
        constrain_every_call("sometimes", "ollama")


# -- the loop with each mode, against the fake servers ---------------------------------------
def _agent(backend: Backend, root: Path, mode: str, events: list[Event]) -> Agent:
    return Agent(
        backend=backend,
        model=MODEL,
        tools=ToolRegistry(builtin_tools()),
        ctx=ToolContext(root=root),
        on_event=events.append,
        max_steps=6,
        constrained_tool_calls=mode,
    )


@pytest.fixture
def opened() -> Iterator[list[Backend]]:
    """Backends a test made, closed after it (their HTTP clients hold sockets)."""
    backends: list[Backend] = []
    yield backends
    for backend in backends:
        backend.close()


def _ollama(server: FakeModelServer, opened: list[Backend]) -> OllamaBackend:
    backend = OllamaBackend(host=server.url, retries=0)
    opened.append(backend)
    return backend


def _openai(server: FakeModelServer, opened: list[Backend]) -> OpenAICompatBackend:
    backend = OpenAICompatBackend(base_url=server.openai_url, retries=0)
    opened.append(backend)
    return backend


def _write_then_answer(server: FakeModelServer) -> None:
    call = _tool("write_file", path="hello.py", content="print('hi')\n")
    server.enqueue(json.dumps(call), json.dumps({"type": "text", "text": "Wrote hello.py."}))


@pytest.mark.parametrize("make", [_ollama, _openai])
def test_always_constrains_every_call(
    fake_server: FakeModelServer, tmp_path: Path, make: Any, opened: list[Backend]
) -> None:
    _write_then_answer(fake_server)
    events: list[Event] = []
    messages = [Message("system", "You write code."), Message("user", "write hello.py")]
    transcript = _agent(make(fake_server, opened), tmp_path, "always", events).run(messages)

    assert (tmp_path / "hello.py").read_text() == "print('hi')\n"
    assert transcript.final_text == "Wrote hello.py."
    assert transcript.tool_calls == 1 and transcript.recoveries.total() == 0
    # The task's first reply must be a call; once it acted, a text answer is allowed.
    schemas = [envelope_schema(SPECS, allow_text=False), envelope_schema(SPECS)]
    assert len(fake_server.chat_requests) == 2
    for request, schema in zip(fake_server.chat_requests, schemas, strict=True):
        body = request["body"]
        sent = body.get("format") or body["response_format"]["json_schema"]["schema"]
        assert sent == schema
        assert not body.get("tools")
        assert "# Reply format" in body["messages"][0]["content"]
    assert messages[0].content == "You write code."  # the instructions are per call only
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert tokens == ["Wrote hello.py."]  # the JSON itself is never streamed to the user


def test_auto_on_a_server_sends_native_tools(
    fake_server: FakeModelServer, tmp_path: Path, opened: list[Backend]
) -> None:
    fake_server.enqueue(
        {"tool_calls": [{"name": "list_dir", "arguments": {"path": "."}}]}, "Nothing here."
    )
    transcript = _agent(_ollama(fake_server, opened), tmp_path, "auto", []).run(
        [Message("user", "what is here?")]
    )
    assert transcript.final_text == "Nothing here."
    for request in fake_server.chat_requests:
        assert "format" not in request["body"]
        assert [t["function"]["name"] for t in request["body"]["tools"]] == NAMES


CODE_REPLY = "Here you go:\n```python\nprint('hi')\n```"


def test_auto_constrains_only_to_recover(
    fake_server: FakeModelServer, tmp_path: Path, opened: list[Backend]
) -> None:
    call = _tool("write_file", path="hello.py", content="print('hi')\n")
    fake_server.enqueue(CODE_REPLY, CODE_REPLY, json.dumps(call), "Done.")
    transcript = _agent(_ollama(fake_server, opened), tmp_path, "auto", []).run(
        [Message("user", "write hello.py")]
    )
    assert (tmp_path / "hello.py").read_text() == "print('hi')\n"
    assert transcript.recoveries.constrained_retries == 1
    assert transcript.final_text == "Done."
    formats = [r["body"].get("format") for r in fake_server.chat_requests]
    assert formats == [None, None, envelope_schema(SPECS, allow_text=False), None]


def test_never_skips_the_constrained_recovery(
    fake_server: FakeModelServer, tmp_path: Path, opened: list[Backend]
) -> None:
    fake_server.enqueue(CODE_REPLY, CODE_REPLY)
    transcript = _agent(_ollama(fake_server, opened), tmp_path, "never", []).run(
        [Message("user", "write hello.py")]
    )
    assert transcript.stop_reason == "no_action"
    assert transcript.recoveries.constrained_retries == 0
    assert len(fake_server.chat_requests) == 2
    assert all("format" not in r["body"] for r in fake_server.chat_requests)


def test_an_envelope_cut_short_falls_back_to_text(
    fake_server: FakeModelServer, tmp_path: Path, opened: list[Backend]
) -> None:
    fake_server.enqueue('{"type": "text", "text": "I was cut sh')
    transcript = _agent(_ollama(fake_server, opened), tmp_path, "always", []).run(
        [Message("user", "hello")]
    )
    assert transcript.stop_reason == "done"
    assert transcript.final_text == '{"type": "text", "text": "I was cut sh'
