"""The one --json contract (docs/json.md): JSON lines, every line an object with an "event"
key, a final `result` or `error` event, errors on stdout too, with the README's exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.model_server import FakeModelServer, Script
from tests.helpers import json_events, json_result, run_ca


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_quick_with_no_server_prints_an_error_event_and_exits_3(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**ca_env, "CA_OLLAMA_HOST": f"http://127.0.0.1:{closed_port()}"}
    result = run_ca(["--backend", "ollama", "--json", "-q", "hi"], env, tmp_path)
    assert result.returncode == 3, result.stderr
    (event,) = json_events(result.stdout)
    assert event["event"] == "error" and event["exit_code"] == 3
    assert event["error"] == "BackendUnavailable" and event["message"]
    assert result.stderr.startswith("ca: error: ")  # the human line stays on stderr


def test_a_usage_error_is_an_error_event_naming_the_subcommand_help(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_ca(["index", "--json", "--frobnicate"], ca_env, tmp_path)
    assert result.returncode == 2
    (event,) = json_events(result.stdout)
    assert event["event"] == "error" and event["exit_code"] == 2
    assert "see `ca index --help`" in result.stderr


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["doctor"], "checks"),
        (["sessions"], "sessions"),
        (["runs"], "runs"),
        (["feedback", "list"], "pairs"),
        (["feedback", "stats"], "total"),
        (["index", "--no-embed"], "files"),
        (["search", "greet"], "hits"),
        (["symbols"], "map"),
        (["models", "list"], "catalogue"),
        (["config", "show"], "settings"),
    ],
)
def test_every_listing_command_ends_with_one_result_line(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path,
    args: list[str], key: str,
) -> None:
    (tmp_path / "greet.py").write_text("def greet():\n    return 'hi'\n")
    fake_server.set_script(Script(models=["qwen2.5-coder:7b", "qwen2.5-coder:14b"]))
    result = run_ca(["--backend", "ollama", "--json", *args], ca_env, tmp_path)
    assert result.returncode in (0, 1), result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # one line, not pretty-printed JSON
    final = json_result(result.stdout)
    assert " ".join(args).startswith(final["command"]), final["command"]
    assert key in final


def test_quick_and_do_stream_events_then_a_result(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue({"text": "An answer."})
    quick = run_ca(["--backend", "ollama", "--json", "-q", "why?"], ca_env, tmp_path)
    assert json_result(quick.stdout)["answer"] == "An answer."
    fake_server.enqueue(
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "x"}}]},
        {"text": "Wrote a.txt."},
    )
    args = ["--backend", "ollama", "--yes", "do", "write a.txt", "--json"]
    do = run_ca(args, ca_env, tmp_path)
    assert do.returncode == 0, do.stderr
    events = json_events(do.stdout)
    assert "tool_call" in [e["event"] for e in events]
    assert events[-1]["event"] == "result" and events[-1]["command"] == "do"
    assert all(json.dumps(e).count("\n") == 0 for e in events)


def test_every_json_flag_is_the_one_option() -> None:
    """Each command's --json is commands.JsonOut: one help text, one meaning (docs/json.md)."""
    import typer.main

    from code_assistant.cli import app

    def walk(command: Any, path: str) -> list[tuple[str, str]]:
        found = [(path, p.help or "") for p in command.params if "--json" in p.opts]
        for name, sub in getattr(command, "commands", {}).items():
            found += walk(sub, f"{path} {name}")
        return found

    flags = walk(typer.main.get_command(app), "ca")
    assert len(flags) >= 15, flags  # the root and every command that prints results
    assert {text for _, text in flags} == {
        "JSON lines, the last a result or an error (docs/json.md)."
    }, flags
