"""The embedded default on a real model: Qwen2.5-Coder-0.5B in ca's llama.cpp worker, no server.

No backend is configured and nothing answers at Ollama's address, so `ca` picks the embedded
backend by itself, as on a new user's machine. Bounded: small context, few steps.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from code_assistant.agent.grammar import envelope_schema, parse_envelope
from code_assistant.backends.base import ChatOptions, Message
from code_assistant.backends.llamacpp import LlamaCppBackend, WorkerProcess
from code_assistant.tools.builtin import builtin_tools
from tests.helpers import run_ca

pytest.importorskip("llama_cpp", reason="the embedded backend needs llama-cpp-python")
pytestmark = pytest.mark.realmodel

_LEAKY_PREFIXES = ("CA_", "OLLAMA_", "OPENAI_", "ANTHROPIC_")


def embedded_env(gguf: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    home, ca_home = tmp_path / "home", tmp_path / "ca-home"
    home.mkdir(exist_ok=True)
    ca_home.mkdir(exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env.update(
        HOME=str(home), CA_HOME=str(ca_home), NO_COLOR="1",
        CA_OLLAMA_HOST=f"http://127.0.0.1:{dead}", CA_LLAMACPP_MODEL_PATH=str(gguf),
        CA_NUM_CTX="4096", CA_MAX_RETRIES="0", CA_REQUEST_TIMEOUT="300",
        CA_MAX_OUTPUT_TOKENS="2048",
        GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull,
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    env.update(extra)
    return env


def test_quick_question_on_the_embedded_default(qwen05_gguf: Path, tmp_path: Path) -> None:
    result = run_ca(["-q", "what does git reflog do?"], embedded_env(qwen05_gguf, tmp_path),
                    tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "using embedded llama.cpp with qwen2.5-coder-0.5b" in result.stderr
    assert "reflog" in result.stdout.lower() or "ref" in result.stdout.lower(), result.stdout


def test_tool_calls_under_the_grammar_parse(qwen05_gguf: Path) -> None:
    specs = [t.spec for t in builtin_tools()]
    schema = envelope_schema(specs, allow_text=False)
    backend = LlamaCppBackend(str(qwen05_gguf), n_ctx=2048, worker=WorkerProcess())
    prompt = [
        Message("system", "You work in a project through tools. Reply with one tool call."),
        Message("user", "Show me what is in the file notes.txt"),
    ]
    try:
        result = backend.chat("m", prompt, options=ChatOptions(format=schema, max_tokens=96,
                                                               temperature=0.0))
    finally:
        backend.worker.stop()
    reply = parse_envelope(result.text, [s.name for s in specs])
    assert reply is not None and len(reply.calls) == 1, result.text
    [call] = reply.calls
    # Which tool a 0.5B model picks is its business; that the call is well formed is ours.
    jsonschema.validate(call.arguments, next(s for s in specs if s.name == call.name).parameters)
    assert "notes.txt" in json.dumps(call.arguments), result.text


@pytest.mark.timeout(900)
def test_one_shot_task_writes_a_file_that_runs(qwen05_gguf: Path, tmp_path: Path) -> None:
    """Two tries of at most six model calls each: the 0.5B model is not always right."""
    outputs = []
    for attempt in range(2):
        project = tmp_path / f"try{attempt}"
        project.mkdir()
        env = embedded_env(qwen05_gguf, tmp_path, CA_MAX_STEPS="6")
        result = run_ca(["--yes", "Create hello.py that prints exactly: hello world"],
                        env, project, timeout=400)
        assert "Traceback" not in result.stderr
        script = project / "hello.py"
        if script.is_file():
            ran = subprocess.run([sys.executable, "hello.py"], cwd=project, capture_output=True,
                                 text=True, timeout=30, check=False)
            if ran.stdout.strip().lower() == "hello world":
                return
            outputs.append(ran.stdout + ran.stderr)
        else:
            outputs.append(result.stdout[-1500:] + result.stderr[-500:])
    pytest.fail("no working hello.py in two tries:\n" + "\n---\n".join(outputs))


REQUIREMENT = """\
# Shout

Write a Python module `shout.py` with a function `shout(text)` that returns the text in upper
case followed by "!", and a pytest test for it in `test_shout.py`.
"""


@pytest.mark.timeout(1800)
def test_pipeline_completes_with_one_model_in_memory(qwen05_gguf: Path, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "req.md").write_text(REQUIREMENT, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})
    # 8192: a first reply that shows code instead of acting fills most of a 4096 context.
    env = embedded_env(qwen05_gguf, tmp_path, CA_MAX_STEPS="8", CA_TEST_ROUNDS="1",
                       CA_NUM_CTX="8192")
    result = run_ca(["--yes", "run", "req.md"], env, project, timeout=1700)
    assert "Traceback" not in result.stderr, result.stderr
    [run] = [p for p in (project / ".ca" / "runs").iterdir() if p.is_dir()]
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    phases = {p["name"]: p["status"] for p in report["phases"]}
    assert list(phases) == ["architect", "implement", "review", "fix", "test", "docs"]
    assert all(s in ("done", "skipped") for s in phases.values()), (phases, result.stdout)
    assert phases["architect"] == "done" and phases["implement"] == "done"
    # Every persona runs the one GGUF: it is loaded once and never swapped.
    assert report["totals"]["model_calls"] >= 4
    assert report["model_switches"] == []
