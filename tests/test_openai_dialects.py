"""The OpenAI-compatible backend against every local server's dialect, over real HTTP.

Each fake dialect refuses what its real server refuses (status and error body included); the
backend must fall back, remember what worked per server and model, and never fail a call
because of a request shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.agent.loop import Agent
from code_assistant.backends import dialects as learned
from code_assistant.backends.base import ChatOptions, Message, ToolSpec
from code_assistant.backends.openai_compat import OpenAICompatBackend
from code_assistant.errors import BackendServerError
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes import dialects
from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script
from tests.helpers import json_result, run_ca

MODEL = "qwen2.5-coder:7b"
SCHEMA = {
    "type": "object",
    "properties": {"intent": {"type": "string"}},
    "required": ["intent"],
}
WRITE = ToolSpec(
    "write_file",
    "Write a file.",
    {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)
# The structured-output mode each server ends up with.
EXPECTED_MODE = {
    "openai": "json_schema",
    "llama-server": "json_schema",
    "llama-cpp-python": "json_object",
    "vllm": "json_schema",
    "vllm-no-tool-parser": "json_schema",
    "lmstudio": "json_schema",
    "ollama": "json_schema",
    "text-only": "prompt",
}
ALL = sorted(dialects.DIALECTS)


def test_every_dialect_has_an_expected_mode() -> None:
    assert sorted(EXPECTED_MODE) == ALL


@pytest.fixture(autouse=True)
def _forget_servers() -> Iterator[None]:
    """What the backend learned is process-wide: each test starts from nothing."""
    learned.forget()
    yield
    learned.forget()


@pytest.fixture(params=ALL)
def server(request: pytest.FixtureRequest) -> Iterator[FakeModelServer]:
    with FakeModelServer(dialect=request.param) as started:
        yield started


@pytest.fixture
def backend(server: FakeModelServer) -> Iterator[OpenAICompatBackend]:
    made = OpenAICompatBackend(base_url=server.openai_url, timeout=30, retries=0)
    yield made
    made.close()


def sent_format(body: dict[str, object]) -> str:
    """The structured-output mode a request used."""
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        return str(response_format["type"])
    return "prompt" if "JSON schema" in json.dumps(body["messages"]) else "none"


def test_structured_output_falls_back_and_is_remembered(
    server: FakeModelServer, backend: OpenAICompatBackend
) -> None:
    dialect = server.state.dialect
    expected = EXPECTED_MODE[dialect]
    server.enqueue('{"intent": "conversational"}', '{"intent": "implementation"}')
    options = ChatOptions(format=SCHEMA, max_tokens=64)
    first = backend.chat(MODEL, [Message("user", "hi")], options=options)
    tried = [sent_format(r["body"]) for r in server.chat_requests]
    assert first.text == '{"intent": "conversational"}'
    assert tried[-1] == expected
    assert tried == ["json_schema", "json_object", "prompt"][: len(tried)]
    assert bool(first.warnings) == (len(tried) > 1)  # the user is told once what is used

    second = backend.chat(MODEL, [Message("user", "build it")], options=options)
    assert second.text == '{"intent": "implementation"}' and not second.warnings
    assert [sent_format(r["body"]) for r in server.chat_requests[len(tried):]] == [expected]
    assert backend.capabilities(MODEL).structured == expected
    last = server.chat_requests[-1]["body"]
    if expected == "json_object":  # llama-cpp-python builds its grammar from this schema
        assert last["response_format"] == {"type": "json_object", "schema": SCHEMA}
    if expected == "prompt":
        assert json.dumps(SCHEMA) in last["messages"][0]["content"]


def test_a_reply_cap_the_context_cannot_hold_is_dropped_for_that_prompt_only(
    server: FakeModelServer, backend: OpenAICompatBackend
) -> None:
    # vLLM answers 400 when prompt + max_tokens exceed --max-model-len; llama.cpp trims.
    server.enqueue("a long answer", "a short answer")
    long_prompt = [Message("user", "word " * 20000)]
    first = backend.chat(MODEL, long_prompt, options=ChatOptions(max_tokens=4096))
    second = backend.chat(MODEL, [Message("user", "hi")], options=ChatOptions(max_tokens=4096))
    assert (first.text, second.text) == ("a long answer", "a short answer")
    caps = [r["body"].get("max_tokens") for r in server.chat_requests]
    if server.state.dialect.startswith("vllm"):
        assert caps == [4096, None, 4096]  # refused, sent without the cap, the next has it
    else:
        assert caps == [4096, 4096]
    assert not first.warnings


def test_what_was_learned_is_per_server_and_model(backend: OpenAICompatBackend) -> None:
    caps = backend.capabilities(MODEL)
    caps.rejected.add("json_schema")
    assert backend.capabilities(MODEL).modes() == ["json_object", "prompt"]
    assert backend.capabilities("qwen2.5-coder:14b").modes() == list(learned.STRUCTURED_MODES)
    other = OpenAICompatBackend(base_url="http://127.0.0.1:9/v1", retries=0)
    try:
        assert other.capabilities(MODEL).modes() == list(learned.STRUCTURED_MODES)
    finally:
        other.close()


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_tool_calls_native_or_as_text(
    server: FakeModelServer, backend: OpenAICompatBackend, stream: bool
) -> None:
    dialect = dialects.get(server.state.dialect)
    arguments = {"path": "a.py", "content": 'print("hi")\n'}
    server.enqueue({"tool_calls": [{"name": "write_file", "arguments": arguments}]})
    result = backend.chat(
        MODEL, [Message("user", "write it")], tools=[WRITE],
        on_token=(lambda token: None) if stream else None,
    )
    native = dialect.native_tools and dialect.takes_tools
    if native:
        assert [(c.name, c.arguments) for c in result.tool_calls] == [("write_file", arguments)]
        assert backend.capabilities(MODEL).native_tools is True
    else:  # the agent loop reads the call from the text (tests/test_agent_loop.py)
        assert result.tool_calls == [] and "write_file" in result.text
        assert backend.capabilities(MODEL).native_tools is None
    last = server.chat_requests[-1]["body"]
    if dialect.takes_tools:
        assert [t["function"]["name"] for t in last["tools"]] == ["write_file"]
    else:  # refused once with HTTP 400, then described in the prompt
        assert "tools" not in last and "write_file(path, content)" in json.dumps(last)
        assert backend.capabilities(MODEL).tools_rejected
        assert len(server.chat_requests) == 2 and result.warnings


def test_a_stream_always_reports_tokens(
    server: FakeModelServer, backend: OpenAICompatBackend
) -> None:
    """llama-cpp-python sends no usage in streams: the counts are estimated, never zero."""
    server.enqueue({"text": "one two three four five six seven eight nine ten",
                    "usage": {"prompt_tokens": 77, "completion_tokens": 99}})
    result = backend.chat(MODEL, [Message("user", "count to ten, please")],
                          on_token=lambda token: None)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    served = dialects.get(server.state.dialect).stream_usage  # else estimated from the text
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (
        (77, 99) if served else (5, 12)
    )


def make_agent(backend: OpenAICompatBackend, root: Path) -> Agent:
    return Agent(
        backend=backend,
        model=MODEL,
        tools=ToolRegistry(builtin_tools()),
        ctx=ToolContext(root=root, config=None, approver=None),
        options=ChatOptions(num_ctx=4096, max_tokens=256),
        max_steps=8,
    )


def test_constrained_recovery_falls_back_and_the_task_goes_on(
    server: FakeModelServer, backend: OpenAICompatBackend, tmp_path: Path
) -> None:
    envelope = {"type": "tool", "name": "write_file",
                "arguments": {"path": "x.py", "content": "x = 1\n"}}
    server.enqueue(
        {"text": "```python\nx = 1\n```"},
        {"text": "Sure! ```python\nx = 1\n```"},
        {"text": json.dumps(envelope)},
        {"text": "Wrote x.py."},
    )
    messages = [Message("system", "You are a coding agent."), Message("user", "make x.py")]
    transcript = make_agent(backend, tmp_path).run(messages)
    assert (tmp_path / "x.py").read_text() == "x = 1\n"
    assert transcript.recoveries.constrained_retries == 1
    assert transcript.stop_reason != "no_action" and transcript.final_text == "Wrote x.py."
    constrained = [r["body"] for r in server.chat_requests if sent_format(r["body"]) != "none"]
    assert sent_format(constrained[-1]) == EXPECTED_MODE[server.state.dialect]
    assert server.remaining == 0


@pytest.mark.parametrize(
    "raw", [{"id": "x", "choices": []}, {"id": "x"}, "<html>502 Bad Gateway</html>"],
    ids=["no-choices", "no-choices-key", "not-json"],
)
def test_a_malformed_reply_is_a_server_error(
    fake_server: FakeModelServer, raw: object
) -> None:
    fake_server.enqueue({"raw_body": raw})
    backend = OpenAICompatBackend(base_url=fake_server.openai_url, timeout=30, retries=0)
    try:
        with pytest.raises(BackendServerError, match="malformed reply") as caught:
            backend.chat(MODEL, [Message("user", "hi")])
    finally:
        backend.close()
    assert "\n" not in str(caught.value) and caught.value.exit_code == 5


def test_a_stream_cut_short_is_a_server_error(fake_server: FakeModelServer) -> None:
    fake_server.enqueue({"text": "one two three four five six seven eight", "cut_stream": True})
    backend = OpenAICompatBackend(base_url=fake_server.openai_url, timeout=30, retries=0)
    tokens: list[str] = []
    try:
        with pytest.raises(BackendServerError, match="malformed reply"):
            backend.chat(MODEL, [Message("user", "count")], on_token=tokens.append)
    finally:
        backend.close()
    assert tokens  # it did start: a retry now would show the tokens twice


def test_cli_malformed_reply_is_one_line_and_exit_5(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue({"raw_body": {"id": "x", "choices": []}})
    env = {**ca_env, "CA_BACKEND": "openai"}
    result = run_ca(["-q", "what is a closure?"], env, tmp_path)
    assert result.returncode == 5, result.stderr
    assert "Traceback" not in result.stderr
    assert "malformed reply" in result.stderr


HELLO_REQ = """\
# Greeter

Write a Python module `greet.py` with a function `greet()` that returns the string
"hello world", and tests for it.
"""
HELLO_PLAN = {
    "intent": "implementation",
    "summary": "A greet module with one function.",
    "files": [{"path": "greet.py", "purpose": "greet() returns hello world"}],
    "steps": ["Write greet.py"],
    "acceptance_criteria": ['greet() returns "hello world"'],
}
GREET = 'def greet():\n    return "hello world"\n'
GREET_TEST = 'from greet import greet\n\n\ndef test_greet():\n    assert greet() == "hello world"\n'


def _call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def greeter_script(python: str) -> list[dict[str, object]]:
    """architect, implement, review (no findings: fix is skipped), test, docs."""
    return [
        {"text": json.dumps(HELLO_PLAN)},
        _call("write_file", path="greet.py", content=GREET),
        {"text": "Wrote greet.py."},
        {"text": json.dumps({"findings": []})},
        _call("write_file", path="tests/test_greet.py", content=GREET_TEST),
        _call("run_shell", command=f"{python} -m pytest -q"),
        {"text": "Wrote tests/test_greet.py; it passes."},
        _call("write_file", path="README.md", content="# greet\n\n`greet()` says hello.\n"),
        {"text": "Wrote README.md."},
    ]


@pytest.mark.parametrize("dialect", ALL)
def test_ca_run_completes_every_phase_on_each_dialect(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path, dialect: str
) -> None:
    fake_server.set_dialect(dialect)
    fake_server.enqueue(*greeter_script(sys.executable))
    project = tmp_path / "proj"
    project.mkdir()
    (project / "req.md").write_text(HELLO_REQ, encoding="utf-8")
    git_env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q"], cwd=project, check=True, env=git_env)
    env = {**ca_env, "CA_BACKEND": "openai", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_SYSTEM": os.devnull, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = run_ca(["--yes", "run", "req.md"], env, project, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    assert fake_server.remaining == 0
    (run_dir,) = [p for p in (project / ".ca" / "runs").iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "done"
    assert {p["name"]: p["status"] for p in report["phases"]} == {
        "architect": "done", "implement": "done", "review": "done", "fix": "skipped",
        "test": "done", "docs": "done",
    }
    assert (project / "greet.py").read_text(encoding="utf-8") == GREET
    assert report["tests"]["passed"] is True
    # The architect's plan and the review used the mode this server takes.
    structured = [r["body"] for r in fake_server.chat_requests if sent_format(r["body"]) != "none"]
    assert sent_format(structured[-1]) == EXPECTED_MODE[dialect]


@pytest.mark.parametrize("dialect", ALL)
def test_doctor_reports_what_the_server_supports(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path, dialect: str
) -> None:
    fake_server.set_dialect(dialect)
    fake_server.enqueue('{"ok": true}', {"tool_calls": [{"name": "ping", "arguments": {}}]})
    env = {**ca_env, "CA_BACKEND": "openai"}
    result = run_ca(["doctor", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json_result(result.stdout)["checks"]}
    mode = EXPECTED_MODE[dialect]
    structured = checks["structured output"]
    assert structured["status"] == ("warn" if mode == "prompt" else "ok")
    assert (f"response_format {mode}" in structured["detail"]) == (mode != "prompt")
    if mode == "json_object":
        assert "json_schema refused" in structured["detail"]
    feature = dialects.get(dialect)
    tools = checks["native tool calls"]
    assert tools["status"] == ("ok" if feature.native_tools else "warn")
    assert ("refuses" in tools["detail"]) == (not feature.takes_tools)
    assert "qwen2.5-coder:14b" in checks["server models"]["detail"]
    probes = fake_server.chat_requests
    assert all(r["body"]["max_tokens"] <= 48 for r in probes)
    assert fake_server.remaining == 0


def test_doctor_names_the_served_models_when_one_is_missing(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.set_script(Script(models=["qwen2.5-coder-0.5b"]))
    fake_server.enqueue('{"ok": true}', "pong")
    env = {**ca_env, "CA_BACKEND": "openai", "CA_ARCHITECT_MODEL": "qwen2.5-coder-0.5b"}
    result = run_ca(["doctor", "--json"], env, tmp_path)
    assert result.returncode == 1
    checks = {c["name"]: c for c in json_result(result.stdout)["checks"]}
    assert checks["architect_model"]["status"] == "ok"
    detail = checks["implementer_model"]["detail"]
    assert "set CA_IMPLEMENTER_MODEL to one of: qwen2.5-coder-0.5b:latest" in detail
    # The probes went to the one model the server has.
    assert {r["body"]["model"] for r in fake_server.chat_requests} == {"qwen2.5-coder-0.5b:latest"}
