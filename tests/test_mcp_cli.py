"""MCP through the CLI: one-shot tasks whose model calls MCP tools, `ca mcp list` / `test`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca
from tests.mcp_servers import DEMO, demo_over_http


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with demo_over_http() as url:
        yield url


def stdio(*extra: str, **fields: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(DEMO), *extra], **fields}


def configure(env: dict[str, str], servers: dict[str, dict[str, Any]]) -> None:
    """Write the servers into the machine config ($CA_HOME/config.toml)."""
    path = Path(env["CA_HOME"]) / "config.toml"
    path.write_text(tomlkit.dumps({"mcp": {"servers": servers}}), encoding="utf-8")


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def tool_messages(server: FakeModelServer) -> list[dict[str, Any]]:
    messages = server.chat_requests[-1]["body"]["messages"]
    return [m for m in messages if m["role"] == "tool"]


def offered(server: FakeModelServer) -> dict[str, dict[str, Any]]:
    tools = server.chat_requests[0]["body"]["tools"]
    return {t["function"]["name"]: t["function"] for t in tools}


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_one_shot_task_calls_an_mcp_tool_and_the_result_reaches_the_model(
    fake_server: FakeModelServer,
    ca_env: dict[str, str],
    tmp_path: Path,
    transport: str,
    request: pytest.FixtureRequest,
) -> None:
    server = stdio() if transport == "stdio" else {"url": request.getfixturevalue("http_url")}
    configure(ca_env, {"demo": server})
    fake_server.enqueue(call("demo__add", a=1, b=2), {"text": "1 + 2 = 3"})
    result = run_ca(["--yes", "do", "add 1 and 2 with the demo tool"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    tools = offered(fake_server)
    assert "read_file" in tools and "run_shell" in tools  # the built-in tools are still there
    assert tools["demo__add"]["parameters"]["required"] == ["a", "b"]
    assert [(m["tool_name"], m["content"]) for m in tool_messages(fake_server)] == [
        ("demo__add", "3")
    ]
    assert "demo__add(a=1, b=2)" in result.stdout


def test_failures_give_clear_messages_and_the_session_goes_on(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    configure(
        ca_env,
        {
            "crash": stdio("--crash"),
            "silent": stdio("--silent", timeout=1.5),
            "demo": stdio(deny=["secret"], allow=["add", "fail"]),
        },
    )
    fake_server.enqueue(
        call("demo__secret"),
        call("demo__fail", message="disk full"),
        call("demo__echo", text="needs approval"),
        call("demo__add", a=20, b=22),
        {"text": "done"},
    )
    # No --yes and no terminal: tools outside the allow list are refused, the rest run.
    result = run_ca(["use the demo tools"], ca_env, tmp_path, input="")
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith("ca: warning: MCP server 'crash' failed: the server closed")
    assert "cannot open database /nonexistent/db.sqlite" in warnings[0]
    assert warnings[1] == (
        "ca: warning: MCP server 'silent' failed: no answer within 1.5s at start-up; "
        "continuing without it"
    )
    assert not [name for name in offered(fake_server) if name.startswith(("crash", "silent"))]
    assert "demo__secret" not in offered(fake_server)
    outputs = [m["content"] for m in tool_messages(fake_server)]
    assert "demo__secret is disabled by the user's configuration" in outputs[0]
    assert outputs[1].startswith("error: demo__fail failed: Error executing tool fail")
    assert outputs[2].startswith("error: the user denied demo__echo")
    assert outputs[3] == "42"
    assert "rerun with --yes" in result.stdout


def test_mcp_list_shows_servers_state_and_tools(ca_env: dict[str, str], tmp_path: Path) -> None:
    configure(
        ca_env,
        {
            "demo": stdio(disabled_tools=["secret", "die"], startup_timeout_sec=20),
            "off": stdio(enabled=False),
            "bad": {"url": "ftp://example.org"},
        },
    )
    result = run_ca(["mcp", "list"], ca_env, tmp_path)
    assert result.returncode == 1, result.stderr  # one server is unusable
    lines = result.stdout.splitlines()
    assert lines[0].startswith("demo  stdio  ready  8 tool(s), 2 hidden")
    assert "demo__add" in lines[0]
    assert lines[1].split() == ["off", "stdio", "disabled"]
    assert lines[2].startswith("bad   -      invalid: an http server needs a url")


def test_mcp_test_connects_even_a_disabled_server_and_calls_a_tool(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    configure(ca_env, {"demo": stdio(enabled=False, env={"DEMO_USER": "dora"})})
    result = run_ca(["--json", "mcp", "test", "demo", "--call", "whoami"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    output = json_result(result.stdout)
    assert output["result"] == {"ok": True, "text": "dora"}
    assert output["servers"][0]["state"] == "ready"
    assert "demo__whoami" in output["servers"][0]["tools"]


def test_mcp_test_bad_input_is_one_line(ca_env: dict[str, str], tmp_path: Path) -> None:
    configure(ca_env, {"demo": stdio()})
    result = run_ca(["mcp", "test", "nope"], ca_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("ca: error: no MCP server 'nope' in ")
    assert result.stderr.rstrip().endswith("(configured: demo)")
    result = run_ca(["mcp", "test", "demo", "--call", "add", "--args", "[1"], ca_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("ca: error: --args is not valid JSON")
    assert len(result.stderr.splitlines()) == 1


def test_mcp_list_without_servers_says_where_to_add_them(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "ca.config").write_text('[mcp.servers.evil]\ncommand = "rm"\n')
    result = run_ca(["mcp", "list"], ca_env, tmp_path)
    assert result.returncode == 0
    assert "ignored 'mcp'" in result.stderr and "machine-only" in result.stderr
    assert result.stdout.startswith("no MCP servers configured; add [mcp.servers.NAME] to ")


def test_without_the_sdk_servers_fail_with_how_to_install_it(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    shadow = tmp_path / "shadow" / "mcp"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'mcp'\", name='mcp')\n"
    )
    configure(ca_env, {"demo": stdio()})
    env = {**ca_env, "PYTHONPATH": str(shadow.parent)}
    result = run_ca(["mcp", "list"], env, tmp_path)
    assert result.returncode == 1
    checkout = Path(__file__).resolve().parents[1]
    assert result.stdout.strip() == (
        f"demo  stdio  failed: the MCP SDK is not installed: pip install -e '{checkout}[mcp]'"
    )
