"""The fake model server speaks real Ollama and OpenAI wire formats to the official clients."""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import (
    Script,
    embed_text,
    is_zero_keep_alive,
    prompt_tokens,
    split_fragments,
    split_text,
)
from tests.helpers import run_ca

REPO = Path(__file__).resolve().parents[1]
CODER = "qwen2.5-coder:7b"
BIG = "qwen2.5-coder:14b"
EMBED = "nomic-embed-text"
USER = [{"role": "user", "content": "hello"}]
LONG_TEXT = "The quick brown fox jumps over the lazy dog and keeps running far away."


def ollama_client(server: FakeModelServer) -> ollama.Client:
    return ollama.Client(host=server.url)


def openai_client(server: FakeModelServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_url, api_key="x", max_retries=0, **kwargs)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


# --- Ollama ---------------------------------------------------------------------------------


def test_ollama_chat_without_streaming(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"text": "hi there", "model": CODER})
    with ollama_client(fake_server) as client:
        reply = client.chat(model=CODER, messages=USER, stream=False, options={"num_ctx": 8192})
    assert reply.message.content == "hi there"
    assert reply.message.role == "assistant"
    assert reply.done is True and reply.done_reason == "stop"
    assert reply.prompt_eval_count == 2  # "hello": 5 chars / 4, rounded up
    assert reply.eval_count == 2
    for stat in ("total_duration", "load_duration", "eval_duration", "prompt_eval_duration"):
        assert isinstance(reply[stat], int) and reply[stat] > 0
    assert fake_server.remaining == 0


def test_ollama_chat_streams_several_chunks_that_join_to_the_text(
    fake_server: FakeModelServer,
) -> None:
    fake_server.enqueue(LONG_TEXT)
    with ollama_client(fake_server) as client:
        parts = list(client.chat(model=CODER, messages=USER, stream=True))
    contents = [p.message.content for p in parts if not p.done]
    assert len(contents) >= 10
    assert "".join(contents) == LONG_TEXT
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].done_reason == "stop" and parts[-1].eval_count == math.ceil(len(LONG_TEXT) / 4)


def test_ollama_streams_by_default_when_stream_is_absent(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("one two three")
    response = httpx.post(fake_server.url + "/api/chat", json={"model": CODER, "messages": USER})
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 4
    assert "".join(line["message"]["content"] for line in lines) == "one two three"
    assert lines[-1]["done"] is True


def test_ollama_tool_calls_streamed_and_not(fake_server: FakeModelServer) -> None:
    call = {"name": "read_file", "arguments": {"path": "src/app.py", "limit": 20}}
    fake_server.enqueue({"tool_calls": [call]}, {"text": "Reading.", "tool_calls": [call]})
    with ollama_client(fake_server) as client:
        plain = client.chat(model=CODER, messages=USER, stream=False, tools=[])
        streamed = list(client.chat(model=CODER, messages=USER, stream=True))
    (got,) = plain.message.tool_calls or []
    assert got.function.name == "read_file"
    assert dict(got.function.arguments) == {"path": "src/app.py", "limit": 20}
    calls = [c for p in streamed for c in (p.message.tool_calls or [])]
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ("read_file", {"path": "src/app.py", "limit": 20})
    ]
    assert "".join(p.message.content or "" for p in streamed) == "Reading."


def test_ollama_embed_single_and_list(fake_server: FakeModelServer) -> None:
    with ollama_client(fake_server) as client:
        one = client.embed(model=EMBED, input="parse the config")
        many = client.embed(model=EMBED, input=["parse the config", "open a socket"])
    assert len(one.embeddings) == 1 and len(one.embeddings[0]) == 64
    assert len(many.embeddings) == 2
    assert list(one.embeddings[0]) == list(many.embeddings[0])
    assert math.isclose(math.hypot(*many.embeddings[1]), 1.0)
    assert fake_server.remaining == 0  # embeddings never consume scripted replies


def test_ollama_listing_show_and_version(fake_server: FakeModelServer) -> None:
    with ollama_client(fake_server) as client:
        names = [m.model for m in client.list().models]
        shown = client.show(CODER)
        version = httpx.get(fake_server.url + "/api/version").json()["version"]
    assert CODER in names and BIG in names
    assert "nomic-embed-text:latest" in names  # Ollama lists a bare name with its tag
    assert "tools" in (shown.capabilities or [])
    assert shown.details and shown.details.parameter_size == "7B"
    assert version.count(".") == 2


def test_unknown_model_is_404_with_ollamas_message(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("never used")
    with ollama_client(fake_server) as client:
        with pytest.raises(ollama.ResponseError) as chat_error:
            client.chat(model="ghost:1b", messages=USER)
        with pytest.raises(ollama.ResponseError) as embed_error:
            client.embed(model="ghost:1b", input="x")
    assert chat_error.value.status_code == 404
    assert chat_error.value.error == 'model "ghost:1b" not found, try pulling it first'
    assert embed_error.value.status_code == 404
    raw = httpx.post(fake_server.url + "/api/show", json={"model": "ghost"})
    assert raw.status_code == 404
    assert raw.json() == {"error": 'model "ghost" not found, try pulling it first'}
    assert fake_server.remaining == 1


def test_ps_and_unload_through_generate_keep_alive_zero(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("a", "b")
    with ollama_client(fake_server) as client:
        client.chat(model=CODER, messages=USER, stream=False)
        client.embed(model=EMBED, input="x")
        assert sorted(m.model for m in client.ps().models) == [
            "nomic-embed-text:latest", CODER,
        ]
        unloaded = client.generate(model=CODER, keep_alive=0)
        assert unloaded.done_reason == "unload"
        assert [m.model for m in client.ps().models] == ["nomic-embed-text:latest"]
        client.chat(model=BIG, messages=USER, stream=False)
    assert [(e["event"], e["model"]) for e in fake_server.events] == [
        ("load", CODER), ("load", "nomic-embed-text:latest"), ("unload", CODER), ("load", BIG),
    ]
    assert fake_server.max_loaded == 2
    assert fake_server.loaded == ["nomic-embed-text:latest", BIG]


@pytest.mark.parametrize("keep_alive", [0, "0", "0s"])
def test_keep_alive_zero_unloads_after_the_answer(
    fake_server: FakeModelServer, keep_alive: Any
) -> None:
    fake_server.enqueue("first", "second")
    with ollama_client(fake_server) as client:
        client.chat(model=CODER, messages=USER, stream=False, keep_alive=keep_alive)
        list(client.chat(model=BIG, messages=USER, stream=True, keep_alive=keep_alive))
    assert [(e["event"], e["model"]) for e in fake_server.events] == [
        ("load", CODER), ("unload", CODER), ("load", BIG), ("unload", BIG),
    ]
    assert fake_server.max_loaded == 1 and fake_server.loaded == []


def test_generate_without_prompt_loads_and_with_prompt_answers(
    fake_server: FakeModelServer,
) -> None:
    fake_server.enqueue("generated words")
    with ollama_client(fake_server) as client:
        assert client.generate(model=CODER).done_reason == "load"
        answer = client.generate(model=CODER, prompt="write", stream=False)
    assert answer.response == "generated words"
    assert [e["event"] for e in fake_server.events] == ["load"]


def test_ollama_default_context_cuts_long_prompts(fake_server: FakeModelServer) -> None:
    long_prompt = [{"role": "user", "content": "x" * 40_000}]  # about 10,000 tokens
    fake_server.enqueue("cut", "whole")
    with ollama_client(fake_server) as client:
        cut = client.chat(model=CODER, messages=long_prompt, stream=False)
        whole = client.chat(
            model=CODER, messages=long_prompt, stream=False, options={"num_ctx": 16384}
        )
    assert cut.prompt_eval_count == 2048
    assert whole.prompt_eval_count == 10_000
    assert [r["num_ctx"] for r in fake_server.chat_requests] == [None, 16384]


def test_ollama_scripted_error_and_usage_override(fake_server: FakeModelServer) -> None:
    fake_server.enqueue(
        {"error": {"status": 503, "message": "server busy"}},
        {"text": "ok", "usage": {"prompt_tokens": 7, "completion_tokens": 9}},
    )
    with ollama_client(fake_server) as client:
        with pytest.raises(ollama.ResponseError) as failure:
            client.chat(model=CODER, messages=USER, stream=False)
        reply = client.chat(model=CODER, messages=USER, stream=False)
    assert (failure.value.status_code, failure.value.error) == (503, "server busy")
    assert (reply.prompt_eval_count, reply.eval_count) == (7, 9)
    assert [e["event"] for e in fake_server.events] == ["load"]  # the error loaded nothing


# --- OpenAI ---------------------------------------------------------------------------------


def test_openai_chat_with_tool_calls_and_usage(fake_server: FakeModelServer) -> None:
    fake_server.enqueue(
        "plain answer",
        {"tool_calls": [{"name": "run_shell", "arguments": {"command": "pytest -q"}}]},
    )
    with openai_client(fake_server) as client:
        plain = client.chat.completions.create(model=CODER, messages=USER)
        tools = client.chat.completions.create(model=CODER, messages=USER)
    assert plain.choices[0].message.content == "plain answer"
    assert plain.choices[0].finish_reason == "stop"
    assert plain.usage and plain.usage.prompt_tokens == 2 and plain.usage.completion_tokens == 3
    (call,) = tools.choices[0].message.tool_calls or []
    assert call.id and call.type == "function" and call.function.name == "run_shell"
    assert json.loads(call.function.arguments) == {"command": "pytest -q"}
    assert tools.choices[0].finish_reason == "tool_calls"


def test_openai_streaming_tool_call_deltas_reassemble(fake_server: FakeModelServer) -> None:
    arguments = {"path": "src/app.py", "content": "print('hello world')\n" * 3}
    fake_server.enqueue(
        {"text": "Writing the file now.", "tool_calls": [
            {"name": "write_file", "arguments": arguments},
            {"name": "read_file", "arguments": {"path": "README.md"}},
        ]}
    )
    with openai_client(fake_server) as client:
        chunks = list(client.chat.completions.create(
            model=CODER, messages=USER, stream=True, stream_options={"include_usage": True}
        ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    calls: dict[int, dict[str, str]] = {}
    fragments = 0
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            slot = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] += delta.id or ""
            slot["name"] += (delta.function and delta.function.name) or ""
            slot["arguments"] += (delta.function and delta.function.arguments) or ""
            fragments += 1
    assert text == "Writing the file now."
    assert [c["name"] for c in calls.values()] == ["write_file", "read_file"]
    assert json.loads(calls[0]["arguments"]) == arguments
    assert json.loads(calls[1]["arguments"]) == {"path": "README.md"}
    assert calls[0]["id"] != calls[1]["id"]
    assert fragments > 4  # arguments really arrive in pieces
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.total_tokens > 0


def test_openai_stream_has_no_usage_unless_asked(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("a b c")
    response = httpx.post(
        fake_server.openai_url + "/chat/completions",
        json={"model": CODER, "messages": USER, "stream": True},
    )
    events = [line for line in response.text.splitlines() if line]
    assert response.headers["content-type"] == "text/event-stream"
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert all("usage" not in p for p in payloads)


def test_openai_embeddings_float_and_base64_agree(fake_server: FakeModelServer) -> None:
    with openai_client(fake_server) as client:
        sdk = client.embeddings.create(model=EMBED, input=["read a file", "x"])  # base64 wire
        floats = client.embeddings.create(model=EMBED, input="read a file", encoding_format="float")
    with ollama_client(fake_server) as native:
        same = native.embed(model=EMBED, input="read a file").embeddings[0]
    assert len(sdk.data) == 2 and sdk.data[1].index == 1
    assert floats.data[0].embedding == pytest.approx(list(same))
    assert sdk.data[0].embedding == pytest.approx(list(same), abs=1e-6)
    raw = httpx.post(
        fake_server.openai_url + "/embeddings",
        json={"model": EMBED, "input": "x", "encoding_format": "base64", "dimensions": 8},
    ).json()
    decoded = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))
    assert decoded == pytest.approx(embed_text("x", 8), abs=1e-6)


def test_openai_errors_have_openais_shape(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"error": {"status": 429, "message": "slow down", "code": "rate_limit"}})
    with openai_client(fake_server) as client:
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model=CODER, messages=USER)
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model="ghost", messages=USER)
        with pytest.raises(openai.APIStatusError) as missing_embed:
            client.embeddings.create(model="ghost", input="x")
    assert limited.value.status_code == 429
    assert limited.value.body == {
        "message": "slow down", "type": "server_error", "param": None, "code": "rate_limit",
    }
    assert missing.value.status_code == 404 and "ghost" in missing.value.message
    assert missing_embed.value.status_code == 404


def test_openai_lists_models(fake_server: FakeModelServer) -> None:
    with openai_client(fake_server) as client:
        ids = [m.id for m in client.models.list()]
    assert CODER in ids and "nomic-embed-text:latest" in ids


# --- scripting ------------------------------------------------------------------------------


def test_script_model_mismatch_is_loud(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"text": "x", "model": BIG}, {"text": "y", "model": BIG})
    with ollama_client(fake_server) as client, pytest.raises(ollama.ResponseError) as native:
        client.chat(model=CODER, messages=USER, stream=False)
    with openai_client(fake_server) as compat_client, pytest.raises(
        openai.InternalServerError
    ) as compat:
        compat_client.chat.completions.create(model=CODER, messages=USER)
    expected = f"fake server: expected model {BIG}, got {CODER}"
    assert native.value.status_code == 500 and native.value.error == expected
    assert expected in compat.value.message


def test_exhausted_script_answers_500_and_default_is_reused(fake_server: FakeModelServer) -> None:
    with ollama_client(fake_server) as client:
        with pytest.raises(ollama.ResponseError) as exhausted:
            client.chat(model=CODER, messages=USER, stream=False)
        assert exhausted.value.status_code == 500
        assert exhausted.value.error == "fake server: script exhausted"
        fake_server.set_script(Script(replies=["first"], default="again"))
        answers = [
            client.chat(model=CODER, messages=USER, stream=False).message.content
            for _ in range(3)
        ]
    assert answers == ["first", "again", "again"]


def test_reply_functions_see_the_request(fake_server: FakeModelServer) -> None:
    def echo(request: dict[str, Any]) -> dict[str, Any]:
        last = request["body"]["messages"][-1]["content"]
        return {"text": f"{request['path']} got {last}"}

    fake_server.enqueue(echo, echo)
    with ollama_client(fake_server) as client:
        native = client.chat(model=CODER, messages=USER, stream=False).message.content
    with openai_client(fake_server) as client:
        compat = client.chat.completions.create(model=CODER, messages=USER)
    assert native == "/api/chat got hello"
    assert compat.choices[0].message.content == "/v1/chat/completions got hello"


def test_a_failing_reply_function_is_a_500_not_a_hang(fake_server: FakeModelServer) -> None:
    def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("oops")

    fake_server.enqueue(broken, lambda request: {"bogus": 1})
    with ollama_client(fake_server) as client:
        for expected in ("handler error: KeyError", "bad reply: unknown reply key 'bogus'"):
            with pytest.raises(ollama.ResponseError) as failure:
                client.chat(model=CODER, messages=USER, stream=False)
            assert failure.value.status_code == 500 and expected in failure.value.error


def test_delay_and_chunk_delay(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"text": "late", "delay": 0.3}, {"text": "a b c d", "chunk_delay": 0.1})
    with ollama_client(fake_server) as client:
        started = time.monotonic()
        client.chat(model=CODER, messages=USER, stream=False)
        assert time.monotonic() - started >= 0.3
        arrivals = [time.monotonic() for _ in client.chat(model=CODER, messages=USER, stream=True)]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(gaps) == 4 and min(gaps) >= 0.08


def test_delay_longer_than_the_client_timeout(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"text": "too late", "delay": 0.5})
    with openai_client(fake_server, timeout=0.1) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=CODER, messages=USER)


def test_disconnect_closes_without_an_answer(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"disconnect": True}, {"disconnect": True})
    with ollama_client(fake_server) as client, pytest.raises(httpx.RemoteProtocolError):
        client.chat(model=CODER, messages=USER, stream=False)
    with openai_client(fake_server) as client, pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=CODER, messages=USER)
    assert fake_server.events == []  # nothing was loaded for a dropped request


def test_requests_are_served_concurrently(fake_server: FakeModelServer) -> None:
    fake_server.set_script(Script(default={"text": "ok", "delay": 0.4}))
    with ollama_client(fake_server) as client:
        threads = [
            threading.Thread(target=client.chat, args=(m, USER), kwargs={"stream": False})
            for m in (CODER, BIG)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert time.monotonic() - started < 0.75
    assert fake_server.max_loaded == 2


def test_recording_keeps_every_request_in_order(fake_server: FakeModelServer) -> None:
    fake_server.enqueue("a", "b")
    with ollama_client(fake_server) as client:
        client.chat(model=CODER, messages=USER, stream=False, options={"num_ctx": 4096})
        client.ps()
    with openai_client(fake_server) as client:
        client.chat.completions.create(model=BIG, messages=USER, temperature=0.1)
    paths = [(r["method"], r["path"]) for r in fake_server.requests]
    assert paths == [("POST", "/api/chat"), ("GET", "/api/ps"), ("POST", "/v1/chat/completions")]
    first, _, last = fake_server.requests
    assert first["body"]["messages"] == USER and first["model"] == CODER
    assert first["num_ctx"] == 4096
    assert first["headers"]["user-agent"].startswith("ollama-python/")
    assert last["body"]["temperature"] == 0.1 and last["headers"]["authorization"] == "Bearer x"
    assert first["time"] <= last["time"]
    assert [r["model"] for r in fake_server.chat_requests] == [CODER, BIG]


def test_bad_json_and_unknown_paths(fake_server: FakeModelServer) -> None:
    bad_native = httpx.post(fake_server.url + "/api/chat", content=b"{nope")
    bad_compat = httpx.post(fake_server.openai_url + "/chat/completions", content=b"[1]")
    missing = httpx.get(fake_server.url + "/api/nothing")
    assert bad_native.status_code == 400 and "error" in bad_native.json()
    assert bad_compat.status_code == 400 and bad_compat.json()["error"]["message"]
    assert missing.status_code == 404
    assert len(fake_server.requests) == 3


def test_control_endpoints(fake_server: FakeModelServer) -> None:
    script = {"models": ["tiny:1b"], "replies": [{"text": "from control"}]}
    assert httpx.post(fake_server.url + "/_fake/script", json=script).json() == {"ok": True}
    with ollama_client(fake_server) as client:
        assert client.chat(model="tiny:1b", messages=USER, stream=False).message.content == (
            "from control"
        )
    state = httpx.get(fake_server.url + "/_fake/state").json()
    assert state["loaded"] == ["tiny:1b"] and state["max_loaded"] == 1
    assert state["remaining"] == 0 and state["events"][0]["event"] == "load"
    recorded = httpx.get(fake_server.url + "/_fake/requests").json()
    assert [r["path"] for r in recorded] == ["/api/chat"]  # control calls are not recorded
    httpx.post(fake_server.url + "/_fake/enqueue", json=["queued"])
    assert fake_server.remaining == 1
    httpx.post(fake_server.url + "/_fake/reset")
    assert fake_server.requests == [] and fake_server.loaded == [] and fake_server.max_loaded == 0
    bad = httpx.post(fake_server.url + "/_fake/script", json={"replies": [{"txt": "typo"}]})
    assert bad.status_code == 400 and "txt" in bad.json()["error"]


def test_script_validation_and_json_loading(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"replies": ["hi", {"text": "x"}], "embedding_dim": 16}))
    script = Script.load(path)
    assert script.replies == [{"text": "hi"}, {"text": "x"}] and script.embedding_dim == 16
    assert "qwen2.5-coder:7b" in script.models
    with pytest.raises(ValueError, match="unknown reply key 'txt'"):
        Script(replies=[{"txt": "typo"}])
    with pytest.raises(ValueError, match="needs a 'name'"):
        Script(replies=[{"tool_calls": [{"arguments": {}}]}])
    with pytest.raises(ValueError, match="unknown script key"):
        Script.from_dict({"reply": []})


def test_stop_is_quick_with_an_idle_keep_alive_connection() -> None:
    server = FakeModelServer().start()
    client = httpx.Client(base_url=server.url)
    assert client.get("/api/version").status_code == 200  # leaves a pooled connection open
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    client.close()
    with pytest.raises(RuntimeError):
        _ = server.url


# --- embeddings and helpers -----------------------------------------------------------------


def test_embeddings_put_similar_texts_closer() -> None:
    query = embed_text("read the configuration file from disk", 64)
    near = embed_text("read_config_file reads the configuration", 64)
    far = embed_text("bananas grow in tropical weather", 64)
    assert cosine(query, near) > cosine(query, far) + 0.3
    assert cosine(embed_text("parseConfigFile", 64), embed_text("parse_config_file", 64)) > 0.7
    assert embed_text("Same Words", 64) == embed_text("same words", 64)


@given(st.text(max_size=200), st.integers(min_value=1, max_value=256))
def test_embeddings_are_unit_length_and_sized(text: str, dim: int) -> None:
    vector = embed_text(text, dim)
    assert len(vector) == dim and math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-9)


@given(st.text(max_size=300))
def test_stream_pieces_join_back_to_the_text(text: str) -> None:
    assert "".join(split_text(text)) == text
    assert "".join(split_fragments(text)) == text


def test_prompt_tokens_and_keep_alive_parsing() -> None:
    messages = [{"role": "system", "content": "a" * 10}, {"role": "user", "content": "b" * 7}]
    assert prompt_tokens(messages) == 5  # 17 characters
    assert [is_zero_keep_alive(v) for v in (0, 0.0, "0", "0s", "0m", " 0 ")] == [True] * 6
    assert [is_zero_keep_alive(v) for v in (None, "5m", -1, "10", False, "0.5s")] == [False] * 6


# --- command line ---------------------------------------------------------------------------


def _first_line(process: subprocess.Popen[str], timeout: float = 20) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("the fake server printed nothing")
    return process.stdout.readline()


def test_command_line_server_serves_records_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": [{"text": "from a subprocess"}]}))
    record = tmp_path / "requests.jsonl"
    command = [sys.executable, "-m", "tests.fakes.model_server", "--script", str(script),
               "--port", "0", "--record", str(record)]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            line = _first_line(process)
            assert line.startswith("listening on http://127.0.0.1:")
            url = line.split()[-1]
            with ollama.Client(host=url) as client:
                reply = client.chat(model=CODER, messages=USER, stream=False)
            assert reply.message.content == "from a subprocess"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            assert process.stderr is not None and process.stderr.read() == ""
        finally:
            if process.poll() is None:
                process.kill()
    (entry,) = [json.loads(line) for line in record.read_text().splitlines()]
    assert entry["path"] == "/api/chat" and entry["body"]["model"] == CODER


def test_command_line_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text('{"replies": [{"txt": 1}]}')
    result = subprocess.run(
        [sys.executable, "-m", "tests.fakes.model_server", "--script", str(script)],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("fake server: bad script")
    assert len(result.stderr.splitlines()) == 1


def test_ca_env_isolates_and_points_at_the_fake(
    ca_env: dict[str, str], fake_server: FakeModelServer, tmp_path: Path
) -> None:
    assert ca_env["CA_OLLAMA_HOST"] == fake_server.url
    assert ca_env["CA_OPENAI_BASE_URL"] == fake_server.openai_url
    assert Path(ca_env["HOME"]).is_dir() and Path(ca_env["CA_HOME"]).is_relative_to(tmp_path)
    assert ca_env["NO_COLOR"] == "1" and ca_env["CA_MAX_RETRIES"] == "0"
    assert ca_env["PATH"] == os.environ["PATH"]
    leaked = [k for k in ca_env if k.startswith(("OLLAMA_", "OPENAI_"))]
    assert leaked == []
    result = run_ca(["--version"], ca_env, tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("ca ")
