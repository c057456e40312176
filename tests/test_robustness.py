"""No traceback: bad tool arguments, odd file names and odd input come back as one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from code_assistant.backends.base import ToolCall
from code_assistant.errors import ToolError
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.fixture
def project(tmp_path: Path) -> tuple[ToolRegistry, ToolContext]:
    (tmp_path / "x.txt").write_text("a\nb\nc\n", encoding="utf-8")
    return ToolRegistry(builtin_tools()), ToolContext(root=tmp_path)


BAD_CALLS = [
    ("read_file", {"path": "x.txt", "start_line": "nan"}, "finite number"),
    ("read_file", {"path": "x.txt", "start_line": 2.5}, "whole number"),
    ("read_file", {"path": "x.txt", "start_line": "1e999"}, "finite number"),
    ("read_file", {"path": "x.txt", "start_line": float("inf")}, "finite number"),
    ("read_file", {"path": "x.txt", "start_line": True}, "got a boolean"),
    ("read_file", "x.txt", "must be a JSON object, got str"),
    ("read_file", ["x.txt"], "must be a JSON object, got list"),
    ("read_file", None, "must be a JSON object, got NoneType"),
    ("read_file", {"path": deep(100_000)}, "must be a string, got dict"),
    ("edit_file", {"path": "x.txt", "old": "a", "new": deep(100_000)}, "must be a string"),
    ("glob_files", {"pattern": "[z-a]"}, "not a valid pattern"),
    ("glob_files", {"pattern": "\\"}, "not a valid pattern"),
    ("read_file", {"path": "n" * 300}, "at most 255 bytes"),
    ("write_file", {"path": "n" * 300, "content": "x"}, "at most 255 bytes"),
    ("write_file", {"path": "d/" * 3000 + "f", "content": "x"}, "at most 4095 bytes"),
    ("write_file", {"path": "bad\udcff.txt", "content": "x"}, "not valid text"),
    ("list_dir", {"path": "\udcff"}, "not valid text"),
]


@pytest.mark.parametrize(("name", "arguments", "message"), BAD_CALLS)
def test_bad_arguments_are_a_tool_error_for_the_model(
    project: tuple[ToolRegistry, ToolContext], name: str, arguments: Any, message: str
) -> None:
    registry, ctx = project
    with pytest.raises(ToolError, match=message):
        registry.dispatch(ToolCall(name=name, arguments=arguments), ctx)
    assert sorted(p.name for p in ctx.root.iterdir()) == ["x.txt"]  # nothing was written


def test_whole_numbers_in_any_spelling_still_work(
    project: tuple[ToolRegistry, ToolContext],
) -> None:
    registry, ctx = project
    for start in (2, 2.0, "2", " 2 ", "2.0"):
        out = registry.dispatch(
            ToolCall(name="read_file", arguments={"path": "x.txt", "start_line": start}), ctx
        ).text
        assert out.splitlines()[0].endswith("| b"), start


def test_a_file_name_that_is_not_utf8_is_listed_safely(
    project: tuple[ToolRegistry, ToolContext],
) -> None:
    registry, ctx = project
    with open(os.fsencode(ctx.root) + b"/bad\xff.txt", "wb") as handle:
        handle.write(b"x")
    out = registry.dispatch(ToolCall(name="list_dir", arguments={"path": "."}), ctx).text
    assert "bad\ufffd.txt" in out
    out.encode("utf-8")  # what goes to the model (and the sessions DB) encodes


def test_an_os_error_becomes_a_tool_error(project: tuple[ToolRegistry, ToolContext]) -> None:
    registry, ctx = project
    locked = ctx.root / "locked"
    locked.mkdir()
    (locked / "f.txt").write_text("x")
    locked.chmod(0)
    try:
        if os.access(locked / "f.txt", os.R_OK):
            pytest.skip("running as a user that permissions do not stop (root)")
        with pytest.raises(ToolError, match="failed: Permission denied"):
            registry.dispatch(ToolCall(name="read_file", arguments={"path": "locked/f.txt"}), ctx)
    finally:
        locked.chmod(0o755)


# Those the scripted server can send (finite JSON; deep nesting is in test_ollama_malformed).
CLI_CALLS = [BAD_CALLS[i] for i in (0, 1, 2, 4, 10, 11)]


@pytest.mark.parametrize("backend", ["ollama", "openai"])
@pytest.mark.parametrize(("name", "arguments", "message"), CLI_CALLS)
def test_bad_arguments_through_the_cli_reach_the_model_without_a_traceback(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path,
    name: str, arguments: Any, message: str, backend: str,
) -> None:
    (tmp_path / "x.txt").write_text("a\nb\nc\n", encoding="utf-8")
    fake_server.enqueue({"tool_calls": [{"name": name, "arguments": arguments}]}, "done")
    result = run_ca(["--backend", backend, "--yes", "--json", "do", "probe"], ca_env, tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    tool = [json.loads(line) for line in result.stdout.splitlines()]
    outputs = [e["output"] for e in tool if e["event"] == "tool_result"]
    assert outputs and message in outputs[0]


def test_cwd_that_does_not_exist_is_a_usage_error(ca_env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = run_ca(["--cwd", str(missing), "do", "x"], ca_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"ca: error: --cwd {missing}: no such directory"
    assert not missing.exists()


def test_non_utf8_stdin_for_a_quick_question_is_read_not_a_traceback(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue("an answer")
    result = subprocess.run(
        [sys.executable, "-m", "code_assistant", "-q", "-"], input=b"caf\xe9 \xff what?\n",
        env=ca_env, cwd=tmp_path, capture_output=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"an answer" in result.stdout
    question = fake_server.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert question.startswith("caf\ufffd \ufffd what?")


def test_a_requirement_file_that_is_a_fifo_is_refused(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "REQ.md")
    result = run_ca(["--yes", "run", "REQ.md"], ca_env, tmp_path, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "'REQ.md' is not a regular file" in result.stderr


def test_non_utf8_bytes_in_argv_reach_the_model_as_replacement_characters(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue("an answer")
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"code_assistant", b"-q", b"caf\xe9?"],
        env=ca_env, cwd=tmp_path, capture_output=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    question = fake_server.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert question == "caf\ufffd?"


def test_non_utf8_lines_typed_into_the_repl_are_answered_and_stored(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue({"text": json.dumps({"intent": "conversational", "reason": "t"})}, "ok")
    env = {**ca_env, "PYTHONIOENCODING": "utf-8:surrogateescape"}
    result = subprocess.run(
        [sys.executable, "-m", "code_assistant"], input=b"caf\xe9 latte\n", env=env,
        cwd=tmp_path, capture_output=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr and b"error" not in result.stderr
    question = fake_server.chat_requests[-1]["body"]["messages"][-1]["content"]
    assert question == "caf\ufffd latte"
    listed = run_ca(["sessions", "--json"], ca_env, tmp_path)
    assert json_result(listed.stdout)["sessions"][0]["first_message"] == "caf\ufffd latte"


def test_a_gitignore_with_invalid_patterns_or_that_is_a_fifo_is_survived(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "skip.py").write_text("y = 2\n")
    (tmp_path / ".gitignore").write_text("[z-a]\n\\\nskip.py\n")
    result = run_ca(["index", "--no-embed", "--json"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json_result(result.stdout)["files"] == 1  # the valid line still ignores skip.py
    (tmp_path / ".gitignore").unlink()
    os.mkfifo(tmp_path / ".gitignore")
    result = run_ca(["index", "--no-embed", "--json"], ca_env, tmp_path, timeout=30)
    assert result.returncode == 0, result.stderr


def test_a_config_file_that_is_a_fifo_is_a_usage_error(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "ca.config")
    result = run_ca(["config", "show"], ca_env, tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("ca.config: not a regular file; a config file must "
                                          "be a plain file")
