"""The embedded llama.cpp backend on a real (random-weights) GGUF: grammar, streaming, unload.

Everything but the context-size test goes through the worker process, as `ca` does."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

pytest.importorskip(
    "llama_cpp", reason="the [llamacpp] extra is not installed: pip install '.[llamacpp]'"
)

from code_assistant.agent.grammar import envelope_schema, parse_envelope
from code_assistant.agent.loop import Agent
from code_assistant.backends import get_backend
from code_assistant.backends.base import ChatOptions, Message, ToolCall, ToolSpec
from code_assistant.backends.llamacpp import LlamaCppBackend, WorkerProcess
from code_assistant.backends.llamacpp_engine import LlamaCppEngine, ModelCache
from code_assistant.config import Config
from code_assistant.errors import BackendError, ModelNotFound
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry, tool
from tests.helpers import run_ca

GGUF = Path(
    os.environ.get("CA_TEST_GGUF")
    or Path(__file__).resolve().parents[2] / "shared" / "models" / "llama-2-tiny-random.gguf"
)
# Bounded strings: random weights never choose to close a string, the grammar must.
READ = ToolSpec(
    "read_lines",
    "Show lines of a file.",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string", "maxLength": 8},
            "start": {"type": "integer"},
            "mode": {"type": "string", "enum": ["text", "hex"]},
        },
        "required": ["path", "start"],
    },
)
GREP = ToolSpec(
    "grep",
    "Search for a pattern.",
    {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "maxLength": 6},
            "ignore_case": {"type": "boolean"},
        },
        "required": ["pattern"],
    },
)
SPECS = {spec.name: spec for spec in (READ, GREP)}
PROMPT = [Message("system", "You are a coding assistant."), Message("user", "Show me main.py")]


@pytest.fixture(scope="module")
def gguf() -> Path:
    assert GGUF.is_file(), f"test model missing at {GGUF}: set CA_TEST_GGUF to a small GGUF"
    return GGUF


@pytest.fixture(scope="module")
def backend(gguf: Path) -> Iterator[LlamaCppBackend]:
    """One load for the module, in a worker of its own so other tests see nothing loaded."""
    backend = LlamaCppBackend(str(gguf), n_ctx=1024, worker=WorkerProcess())
    yield backend
    backend.worker.stop()


def test_constrained_tool_calls_parse_and_validate_for_20_seeds(
    backend: LlamaCppBackend,
) -> None:
    schema = envelope_schema([READ, GREP], allow_text=False)
    texts = set()
    for seed in range(20):
        options = ChatOptions(seed=seed, temperature=1.0, format=schema, max_tokens=256)
        result = backend.chat("tiny", PROMPT, options=options)
        reply = parse_envelope(result.text, SPECS)
        assert reply is not None, f"seed {seed}: not a complete envelope: {result.text!r}"
        [call] = reply.calls
        jsonschema.validate(json.loads(result.text, strict=False), schema)
        jsonschema.validate(call.arguments, SPECS[call.name].parameters)
        texts.add(result.text)
    assert len(texts) > 10  # the seeds really sample different calls


def test_without_the_grammar_the_same_model_writes_no_call(backend: LlamaCppBackend) -> None:
    replies = [
        backend.chat("tiny", PROMPT, options=ChatOptions(seed=seed, max_tokens=40)).text
        for seed in range(5)
    ]
    assert all(parse_envelope(text, SPECS) is None for text in replies)


def test_grammar_compiles_for_the_real_tools(backend: LlamaCppBackend) -> None:
    schema = envelope_schema([t.spec for t in builtin_tools()])
    result = backend.chat("tiny", PROMPT, options=ChatOptions(seed=1, format=schema, max_tokens=8))
    assert result.text.startswith("{")
    assert result.usage.completion_tokens == 8


def test_streaming_matches_the_whole_reply(backend: LlamaCppBackend) -> None:
    tokens: list[str] = []
    options = ChatOptions(seed=7, temperature=0.8, max_tokens=24)
    streamed = backend.chat("tiny", PROMPT, options=options, on_token=tokens.append)
    whole = backend.chat("tiny", PROMPT, options=options)
    assert len(tokens) == 24 == streamed.usage.completion_tokens
    assert "".join(tokens) == streamed.text == whole.text
    assert streamed.usage == whole.usage


def test_streaming_a_constrained_reply(backend: LlamaCppBackend) -> None:
    tokens: list[str] = []
    schema = envelope_schema([READ], allow_text=False)
    options = ChatOptions(seed=3, temperature=1.0, format=schema, max_tokens=256)
    streamed = backend.chat("tiny", PROMPT, options=options, on_token=tokens.append)
    whole = backend.chat("tiny", PROMPT, options=options)
    assert "".join(tokens) == streamed.text == whole.text
    assert streamed.usage == whole.usage  # the usage a stream does not report is rebuilt
    assert parse_envelope(streamed.text, SPECS) is not None


def test_tools_without_a_grammar_are_described_in_the_prompt(backend: LlamaCppBackend) -> None:
    options = ChatOptions(seed=1, max_tokens=4)
    plain = backend.chat("tiny", PROMPT, options=options)
    with_tools = backend.chat("tiny", PROMPT, tools=[READ, GREP], options=options)
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens + 20


def test_history_with_tool_calls_and_results(backend: LlamaCppBackend) -> None:
    history = [
        *PROMPT,
        Message("assistant", "", tool_calls=[ToolCall("read_lines", {"path": "a", "start": 1})]),
        Message("tool", "1: print('hi')", tool_call_id="call_0", name="read_lines"),
        Message("tool", "second result", tool_call_id="call_1", name="grep"),
    ]
    result = backend.chat("tiny", history, options=ChatOptions(seed=1, max_tokens=4))
    assert result.usage.prompt_tokens > 40
    assert result.usage.completion_tokens == 4


def test_embeddings(backend: LlamaCppBackend) -> None:
    texts = ["def main():", "a longer text here", "def main():"]
    with pytest.raises(ModelNotFound, match="not a GGUF file"):  # never the chat model's vectors
        backend.embed("nomic-embed-text", texts)
    first, second, again = backend.embed(backend.model_path, texts)
    assert len(first) == len(second) > 0
    assert all(math.isfinite(x) for x in first + second)
    assert first == again
    assert first != second


def test_unload_frees_the_model(gguf: Path) -> None:
    backend = LlamaCppBackend(str(gguf), n_ctx=256, worker=WorkerProcess())
    first = backend.chat("tiny", PROMPT, options=ChatOptions(max_tokens=2))
    assert first.load_seconds > 0
    assert backend.loaded_models() == [str(gguf.resolve())]
    backend.unload("tiny")
    # Nothing left loaded: the worker itself is gone, and its memory with it.
    assert not backend.worker.running
    assert backend.loaded_models() == []
    again = backend.chat("tiny", PROMPT, options=ChatOptions(max_tokens=2))
    assert again.load_seconds > 0
    backend.unload(str(gguf))
    assert backend.loaded_models() == []


def test_one_load_per_process_shared_by_every_backend(gguf: Path) -> None:
    config = Config(backend="llamacpp", implementer_model=str(gguf), num_ctx=512)
    first, second = get_backend(config), get_backend(config)
    assert first is not second
    try:
        assert first.chat(str(gguf), PROMPT, options=ChatOptions(max_tokens=2)).load_seconds > 0
        reply = second.chat("any-name", PROMPT, options=ChatOptions(max_tokens=2))
        assert reply.load_seconds == 0  # `--model x.gguf` became the default model path
        assert isinstance(first, LlamaCppBackend) and isinstance(second, LlamaCppBackend)
        assert first.worker is second.worker and first.worker.running
        assert first.loaded_models() == [str(gguf.resolve())]
    finally:
        second.unload(str(gguf))
    assert first.loaded_models() == []


def test_a_new_context_size_reloads(gguf: Path) -> None:
    cache = ModelCache()  # in this process: the engine the worker runs
    small = LlamaCppEngine(str(gguf), n_ctx=256, cache=cache)
    large = LlamaCppEngine(str(gguf), n_ctx=512, cache=cache)
    try:
        assert small.llama("x").n_ctx() == 256
        assert large.llama("x").n_ctx() == 512
        assert len(cache.paths()) == 1
    finally:
        large.unload("x")


def test_prompt_longer_than_the_context_is_a_clear_error(gguf: Path) -> None:
    backend = LlamaCppBackend(str(gguf), n_ctx=256, worker=WorkerProcess())
    try:
        with pytest.raises(BackendError, match="does not fit the context"):
            backend.chat("x", [Message("user", "word " * 400)], options=ChatOptions(max_tokens=4))
        # The worker survives an error it reported: the next call needs no reload.
        assert backend.chat("x", PROMPT, options=ChatOptions(max_tokens=1)).load_seconds == 0
    finally:
        backend.worker.stop()


def test_missing_and_unusable_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match=r"--model PATH\.gguf"):
        LlamaCppBackend("").chat("qwen2.5-coder:7b", PROMPT)
    with pytest.raises(ModelNotFound, match="no GGUF file at"):
        LlamaCppBackend("").chat(str(tmp_path / "absent.gguf"), PROMPT)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    worker = WorkerProcess()
    try:
        with pytest.raises(BackendError, match="could not load"):
            LlamaCppBackend(str(junk), worker=worker).chat("x", PROMPT)
    finally:
        worker.stop()


def test_agent_on_llamacpp_constrains_every_call(gguf: Path, tmp_path: Path) -> None:
    """Under "always" the loop constrains each call here: every call it makes is well formed."""
    made: list[dict[str, object]] = []

    @tool
    def grep(ctx: ToolContext, pattern: str, ignore_case: bool = False) -> str:
        """Search for a pattern."""
        made.append({"pattern": pattern, "ignore_case": ignore_case})
        return "no matches"

    grep.parameters["properties"]["pattern"]["maxLength"] = 8
    backend = LlamaCppBackend(str(gguf), n_ctx=1024, worker=WorkerProcess())
    transcripts = []
    try:
        for seed in range(8):
            agent = Agent(
                backend=backend,
                model="tiny",
                tools=ToolRegistry([grep]),
                ctx=ToolContext(root=tmp_path),
                options=ChatOptions(seed=seed, temperature=1.0, max_tokens=96),
                max_steps=2,
                needs_action=False,
                constrained_tool_calls="always",
            )
            transcripts.append(agent.run([Message("user", "find TODO")]))
            if made:  # random weights pick text or a call per seed; one call is enough
                break
    finally:
        backend.worker.stop()
    calls = sum(t.tool_calls for t in transcripts)
    assert calls > 0 and len(made) == calls
    assert sum(t.recoveries.tool_errors for t in transcripts) == 0
    for arguments in made:
        jsonschema.validate(arguments, grep.parameters)


def test_cli_quick_mode_with_a_gguf(gguf: Path, tmp_path: Path, ca_env: dict[str, str]) -> None:
    result = run_ca(
        ["-q", "hello", "--backend", "llamacpp", "--model", str(gguf), "--num-ctx", "128"],
        ca_env,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    missing = run_ca(
        ["-q", "hello", "--backend", "llamacpp", "--model", str(tmp_path / "no.gguf")],
        ca_env,
        tmp_path,
    )
    assert missing.returncode == ModelNotFound.exit_code
    assert "no GGUF file at" in missing.stderr
    assert "Traceback" not in missing.stderr
