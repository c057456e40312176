"""MCP server definitions in the config (Codex / Claude Code key names, masking) and the
hook that adds MCP tools to every tool-using agent's registry."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest
import tomlkit

from code_assistant.agent.personas import IMPLEMENTER
from code_assistant.backends.base import ToolCall
from code_assistant.config import effective_values, load_config
from code_assistant.mcp_client import manager_for, mcp_tools
from code_assistant.tools.registry import ToolContext
from code_assistant.workspace import build_registry
from tests.mcp_servers import DEMO


def write_machine_config(home: Path, servers: dict[str, dict[str, object]]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(tomlkit.dumps({"mcp": {"servers": servers}}))


def test_a_codex_block_can_be_copied_under_mcp_servers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_machine_config(
        home,
        {
            "docs": {
                "url": "https://example.org/mcp",
                "http_headers": {"X-Api-Key": "k-123456789"},
                "bearer_token_env_var": "DOCS_TOKEN",
                "enabled_tools": ["search*"],
                "disabled_tools": ["delete"],
                "startup_timeout_sec": 20,
                "tool_timeout_sec": 90,
            },
            "claude_style": {"type": "http", "url": "https://example.org/mcp"},
            "typo": {"comand": "server"},
        },
    )
    loaded = load_config(tmp_path, env={"CA_HOME": str(home)})
    docs = loaded.config.mcp.servers["docs"]
    assert docs.headers == {"X-Api-Key": "k-123456789"}
    assert (docs.tools, docs.deny) == (["search*"], ["delete"])
    assert (docs.timeout, docs.tool_timeout) == (20, 90)
    assert docs.bearer_token_env_var == "DOCS_TOKEN"
    assert loaded.config.mcp.servers["claude_style"].type == "http"
    assert loaded.config.mcp.servers["typo"].model_extra == {"comand": "server"}


def test_config_show_masks_env_and_header_values(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_machine_config(
        home,
        {"gh": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": "ghp_abc"}, "headers": {"A": "b"}}},
    )
    loaded = load_config(tmp_path, env={"CA_HOME": str(home)})
    shown = {key: value for key, value, _ in effective_values(loaded)}["mcp"]
    assert shown["servers"]["gh"]["env"] == {"GITHUB_TOKEN": "***"}
    assert shown["servers"]["gh"]["headers"] == {"A": "***"}
    assert loaded.config.mcp.servers["gh"].env == {"GITHUB_TOKEN": "ghp_abc"}  # still usable


def test_a_project_config_cannot_define_servers(tmp_path: Path) -> None:
    (tmp_path / "ca.config").write_text('[mcp.servers.evil]\ncommand = "sh"\n')
    loaded = load_config(tmp_path, env={"CA_HOME": str(tmp_path / "home")})
    assert loaded.config.mcp.servers == {}
    assert any("ignored 'mcp'" in warning for warning in loaded.warnings)


def test_the_app_makes_one_mcp_manager_on_first_use(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_machine_config(home, {"demo": {"command": sys.executable, "args": [str(DEMO)]}})
    app = load_config(tmp_path, env={"CA_HOME": str(home)})
    manager = app.mcp
    assert app.mcp is manager and list(manager.connections) == ["demo"]
    try:
        assert manager_for(app) is manager  # started now, and still the one manager
        manager.wait()
        assert [status.state for status in manager.status()] == ["ready"]
    finally:
        manager.close()
    assert dataclasses.replace(app, root=tmp_path / "copy").mcp is manager  # a step's copy
    assert load_config(tmp_path, env={"CA_HOME": str(home)}).mcp is not manager  # per App


def test_every_tool_using_agent_gets_the_mcp_tools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    write_machine_config(
        home,
        {
            "demo": {"command": sys.executable, "args": [str(DEMO)], "deny": ["secret"]},
            "crash": {"command": sys.executable, "args": [str(DEMO), "--crash"]},
        },
    )
    loaded = load_config(tmp_path, env={"CA_HOME": str(home)})
    try:
        implementer = build_registry(loaded, IMPLEMENTER.tools)
        assert "demo__add" in implementer and "read_file" in implementer
        assert "demo__secret" not in implementer and "demo__secret" in implementer.refused
        assert not [name for name in implementer.names if name.startswith("crash")]
        assert "demo__add" not in build_registry(loaded, ())  # a persona without tools
        assert "demo__add" in build_registry(loaded)  # one manager serves every agent
        reports: list[str] = []
        assert mcp_tools(loaded, report=reports.append)  # already reported: not again
        assert reports == []
        pid = int(implementer.dispatch(ToolCall("demo__pid", {}), ToolContext(root=tmp_path)).text)
    finally:
        manager_for(loaded).close()
    with pytest.raises(ProcessLookupError):  # closing stopped (and reaped) the server
        os.kill(pid, 0)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("ca: warning: MCP server 'crash' failed")
    assert (home / "logs" / "mcp-crash.log").exists()
