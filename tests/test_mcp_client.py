"""MCP client in process: real MCP servers (stdio and streamable HTTP) written with the SDK."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.backends.base import ToolCall
from code_assistant.config import McpServer
from code_assistant.errors import ToolError
from code_assistant.mcp_client import McpManager, render_result, status_lines, tool_name
from code_assistant.mcp_client.connection import transport_of
from code_assistant.mcp_client.tools import parameters_of
from code_assistant.tools.approval import Approver
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.mcp_servers import DEMO, demo_over_http

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def stdio(*extra: str, **fields: object) -> McpServer:
    return McpServer(command=sys.executable, args=[str(DEMO), *extra], **fields)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with demo_over_http() as url:
        yield url


@pytest.fixture(scope="module")
def manager(http_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpManager]:
    """One stdio and one HTTP server, connected once for the module's tests."""
    root = tmp_path_factory.mktemp("mcp")
    servers = {
        "demo": stdio(deny=["secret"], allow=["add"], env={"DEMO_USER": "alice"}),
        "web": McpServer(url=http_url, headers={"X-Demo-User": "bob"}, tool_timeout=1.0),
    }
    with McpManager(servers, root=root, log_dir=root / "logs") as started:
        started.wait()
        yield started


@pytest.fixture
def tools(manager: McpManager) -> ToolRegistry:
    return ToolRegistry(manager.tools())


def asker(answer: str, asked: list[tuple[str, str]]) -> Approver:
    def ask(tool: str, summary: str, detail: str) -> str:
        asked.append((tool, summary))
        return answer

    return Approver(policy="ask", ask=ask)


def run(registry: ToolRegistry, name: str, ctx: ToolContext, **arguments: object) -> str:
    output = registry.dispatch(ToolCall(name=name, arguments=dict(arguments)), ctx)
    assert not output.failed  # an MCP tool's text is wrapped: only a ToolError is a failure
    return output.text


# -- names, schemas, definitions ----------------------------------------------------------


@given(st.text(max_size=80), st.text(max_size=80))
def test_tool_names_are_always_valid_function_names(server: str, tool: str) -> None:
    name = tool_name(server, tool)
    assert TOOL_NAME.match(name), name
    assert name == tool_name(server, tool)


@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    st.from_regex(r"[a-z]([a-z0-9_-]{0,30}[a-z0-9])?", fullmatch=True),
)
def test_plain_names_are_kept_readable(server: str, tool: str) -> None:
    assert tool_name(server, tool) == f"{server}__{tool}"


def test_long_names_are_cut_with_a_hash_so_they_stay_distinct() -> None:
    first = tool_name("s" * 40, "t" * 40 + "a")
    second = tool_name("s" * 40, "t" * 40 + "b")
    assert len(first) == len(second) == 64 and first != second


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
schemas = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "properties", "required", "title", "a", "b"]), inner, max_size=4
    ), max_leaves=12,
)


@given(schemas)
def test_any_input_schema_becomes_a_checkable_object_schema(schema: object) -> None:
    before = repr(schema)
    result = parameters_of(schema)
    assert result["type"] == "object"
    assert isinstance(result["properties"], dict)
    assert set(result["required"]) <= set(result["properties"])
    assert repr(schema) == before  # the server's listing is not modified


def test_schema_keeps_what_matters_and_drops_pydantic_titles() -> None:
    schema = {
        "title": "addArguments",
        "type": "object",
        "properties": {"title": {"title": "Title", "type": "string"}, "n": {"type": "integer"}},
        "required": ["title", "gone"],
    }
    assert parameters_of(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["title"],
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"command": "srv"}, ("stdio", "")),
        ({"url": "http://127.0.0.1:1/mcp"}, ("http", "")),
        ({"type": "http", "url": "https://x/mcp"}, ("http", "")),
        ({"type": "streamable_http", "url": "https://x/mcp"}, ("http", "")),
        ({"type": "sse", "url": "https://x/sse"}, ("", "SSE transport is not supported")),
        ({"command": "srv", "url": "http://x"}, ("", "not both")),
        ({}, ("", "set command")),
        ({"url": "ftp://x"}, ("", "http:// or https://")),
        ({"type": "stdio"}, ("", "needs a command")),
        ({"type": "websocket", "url": "ws://x"}, ("", "unknown type")),
    ],
)
def test_server_definitions_are_checked(fields: dict[str, str], expected: tuple[str, str]) -> None:
    kind, problem = transport_of(McpServer(**fields))
    assert kind == expected[0]
    assert expected[1] in problem and bool(problem) == bool(expected[1])


# -- a live stdio and HTTP server ---------------------------------------------------------


def test_tools_are_offered_with_prefixed_names_and_their_schemas(manager: McpManager) -> None:
    specs = {spec.name: spec for spec in (t.spec for t in manager.tools())}
    assert "demo__add" in specs and "web__add" in specs
    assert specs["demo__add"].parameters == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert "Add two integers." in specs["demo__add"].description
    assert "demo__secret" not in specs and "web__secret" in specs  # deny is per server


def test_allow_listed_tool_runs_without_asking(tools: ToolRegistry, tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []
    ctx = ToolContext(root=tmp_path, approver=asker("n", asked))
    assert run(tools, "demo__add", ctx, a=2, b="40") == "42"  # "40" coerced by the schema
    assert asked == []


def test_other_tools_ask_first_and_a_refusal_reaches_the_model(
    tools: ToolRegistry, tmp_path: Path
) -> None:
    asked: list[tuple[str, str]] = []
    ctx = ToolContext(root=tmp_path, approver=asker("n", asked))
    with pytest.raises(ToolError, match="the user denied demo__echo"):
        run(tools, "demo__echo", ctx, text="hi")
    assert asked == [("demo__echo", '{"text": "hi"}')]
    ctx = ToolContext(root=tmp_path, approver=asker("y", asked))
    assert run(tools, "demo__echo", ctx, text="hi") == "hi"


def test_policy_deny_refuses_and_auto_allows(tools: ToolRegistry, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="denied"):
        run(tools, "demo__echo", ToolContext(root=tmp_path, approver=Approver("deny")), text="x")
    assert run(tools, "demo__echo", ToolContext(root=tmp_path, approver=Approver("auto")), text="x")


def test_a_denied_tool_is_refused_with_the_reason(manager: McpManager, tmp_path: Path) -> None:
    registry = ToolRegistry(manager.tools())
    registry.refused.update(manager.refusals())
    with pytest.raises(ToolError, match=r"disabled by the user's configuration.*demo\.deny"):
        run(registry, "demo__secret", ToolContext(root=tmp_path))


def test_env_reaches_stdio_servers_and_headers_reach_http_ones(
    tools: ToolRegistry, tmp_path: Path
) -> None:
    ctx = ToolContext(root=tmp_path)
    assert run(tools, "demo__whoami", ctx) == "alice"
    assert run(tools, "web__whoami", ctx) == "bob"


def test_a_tool_that_raises_gives_a_tool_error_and_the_server_stays_up(
    tools: ToolRegistry, tmp_path: Path
) -> None:
    ctx = ToolContext(root=tmp_path)
    with pytest.raises(ToolError, match="demo__fail failed: Error executing tool fail"):
        run(tools, "demo__fail", ctx)
    assert run(tools, "demo__add", ctx, a=1, b=1) == "2"


def test_arguments_are_checked_before_the_server_sees_them(
    tools: ToolRegistry, tmp_path: Path
) -> None:
    ctx = ToolContext(root=tmp_path)
    with pytest.raises(ToolError, match="needs the argument"):
        run(tools, "demo__add", ctx, a=1)
    with pytest.raises(ToolError, match="has no argument 'c'"):
        run(tools, "demo__add", ctx, a=1, b=2, c=3)


def test_long_output_keeps_the_head_and_mostly_the_tail(
    tools: ToolRegistry, tmp_path: Path
) -> None:
    config = type("Config", (), {"tool_output_lines": 40})()
    out = run(tools, "web__lines", ToolContext(root=tmp_path, config=config), count=1000)
    lines = out.splitlines()
    assert lines[0] == "line 1" and lines[-1] == "line 1000"
    assert "[... 960 lines dropped ...]" in out
    assert len(lines) == 41


def test_images_become_a_short_note(tools: ToolRegistry, tmp_path: Path) -> None:
    out = run(tools, "web__picture", ToolContext(root=tmp_path))
    assert out == "a red dot\n[image content: image/png, 48 bytes; not shown]"


def test_a_slow_tool_times_out_and_the_next_call_works(
    tools: ToolRegistry, tmp_path: Path
) -> None:
    ctx = ToolContext(root=tmp_path)
    started = time.perf_counter()
    with pytest.raises(ToolError, match=r"did not answer within 1s and was cancelled"):
        run(tools, "web__sleep", ctx, seconds=5)
    assert time.perf_counter() - started < 4
    assert run(tools, "web__add", ctx, a=2, b=2) == "4"


def test_status_lines_name_servers_state_and_tools(manager: McpManager) -> None:
    lines = status_lines(manager, verbose=True)
    demo = next(line for line in lines if line.startswith("demo "))
    assert "stdio" in demo and "ready" in demo and "9 tool(s), 1 hidden" in demo
    assert any(line.startswith("web ") and "http" in line for line in lines)
    assert "  (secret: hidden by config)" in lines
    assert any(line.strip().startswith("demo__add  Add two integers.") for line in lines)


# -- servers that fail --------------------------------------------------------------------


def test_failing_servers_are_reported_and_do_not_block(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    servers = {
        "crash": stdio("--crash"),
        "silent": stdio("--silent", timeout=1.5),
        "missing": McpServer(command=str(tmp_path / "no-such-server")),
        "bad": McpServer(args=["x"]),
        "off": McpServer(command="never-started", enabled=False),
    }
    manager = McpManager(servers, root=tmp_path, log_dir=tmp_path / "logs")
    started = time.perf_counter()
    with manager:
        assert time.perf_counter() - started < 0.5  # connecting happens in the background
        manager.wait()
        assert time.perf_counter() - started < 1.5 + 2 + 1
        status = {s.name: s for s in manager.status()}
        assert status["crash"].state == "failed"
        assert "cannot open database /nonexistent/db.sqlite" in status["crash"].error
        assert status["silent"].error == "no answer within 1.5s at start-up"
        assert "command not found" in status["missing"].error
        assert status["bad"].state == "invalid" and "set command" in status["bad"].error
        assert status["off"].state == "disabled"
        assert manager.tools() == []
    # The servers' stderr went to their log files, not over our terminal.
    assert "cannot open database" in (tmp_path / "logs" / "mcp-crash.log").read_text()
    assert "cannot open database" not in capfd.readouterr().err


def test_a_server_that_dies_mid_call_and_a_closed_manager_give_tool_errors(
    tmp_path: Path,
) -> None:
    registry = ToolRegistry()
    with McpManager({"dying": stdio()}, root=tmp_path, log_dir=None) as manager:
        manager.wait()
        registry = ToolRegistry(manager.tools())
        ctx = ToolContext(root=tmp_path)
        assert run(registry, "dying__add", ctx, a=1, b=2) == "3"
        with pytest.raises(ToolError, match="MCP server 'dying' stopped while running dying__die"):
            run(registry, "dying__die", ctx)
        with pytest.raises(ToolError, match=r"'dying' is not available.*Do not call its tools"):
            run(registry, "dying__add", ctx, a=1, b=2)
        assert manager.status()[0].state == "failed"
        assert manager.tools() == []  # a new agent is not offered the dead server's tools
    with pytest.raises(ToolError, match="MCP server 'dying'"):
        run(registry, "dying__add", ToolContext(root=tmp_path), a=1, b=2)


# -- results ------------------------------------------------------------------------------


def test_results_render_every_content_kind() -> None:
    from mcp import types

    result = types.CallToolResult(
        content=[
            types.TextContent(text="hello"),
            types.AudioContent(data="AAAA" * 5000, mime_type="audio/wav"),
            types.ResourceLink(name="notes", uri="file:///tmp/notes.md"),
            types.EmbeddedResource(
                resource=types.TextResourceContents(uri="file:///a.txt", text="inside")
            ),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(
                    uri="file:///b.bin", blob="AAAA", mime_type="application/zip"
                )
            ),
        ]
    )
    assert render_result(result).splitlines() == [
        "hello",
        "[audio content: audio/wav, 15 KB; not shown]",
        "[resource link: notes <file:///tmp/notes.md>]",
        "[resource file:///a.txt]",
        "inside",
        "[resource file:///b.bin: application/zip, 3 bytes; not shown]",
    ]
    structured = types.CallToolResult(content=[], structured_content={"n": 1})
    assert render_result(structured) == '{\n "n": 1\n}'
    assert render_result(types.CallToolResult(content=[])) == "(the tool returned no output)"


def test_closing_while_a_server_is_still_connecting_is_quick(tmp_path: Path) -> None:
    manager = McpManager({"slow": stdio("--silent", timeout=30)}, root=tmp_path).start()
    time.sleep(0.3)
    started = time.perf_counter()
    manager.close()
    assert time.perf_counter() - started < 3
    assert manager.status()[0].state == "closed"


class _Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_http_server_that_refuses_is_reported_without_its_token(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/mcp?token=s3cr3t-value-42"
    try:
        with McpManager({"api": McpServer(url=url, timeout=5)}, root=tmp_path) as manager:
            manager.wait()
            error = manager.status()[0].error
    finally:
        server.shutdown()
        server.server_close()
    assert error.startswith(f"http://127.0.0.1:{server.server_address[1]}/mcp?token=***")
    assert error.endswith("answered with an error (Server returned an error response); "
                          "check the url and headers")
    assert "s3cr3t" not in error
