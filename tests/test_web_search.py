"""web_search: Serper against a local fake of its endpoint, DuckDuckGo via an injected client."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from code_assistant.backends.base import ToolCall
from code_assistant.config import Config, load_config
from code_assistant.errors import ToolError
from code_assistant.tools.registry import ToolContext, ToolRegistry
from code_assistant.tools.web import (
    SearchResult,
    format_results,
    search_web,
    web_tools,
)
from tests.fakes.web_server import WebServer, _Handler

# No well-known shape: only redaction of the exact configured value catches it.
KEY = "serper-3f9a1c7e5b2d4f60a8e1"

ORGANIC = {
    "searchParameters": {"q": "httpx streaming"},
    "organic": [
        {"title": "Streaming  Responses - HTTPX", "link": "https://www.python-httpx.org/quickstart/",
         "snippet": "Use client.stream() to\nread large bodies.", "position": 1},
        {"title": "no link here", "snippet": "dropped"},
        {"title": "httpx issue 123", "link": "https://github.com/encode/httpx/issues/123",
         "snippet": "x" * 1000, "position": 2},
    ],
}


class FakeDDGS:
    """Shaped like ddgs.DDGS for text search: `text(query, max_results=N)` -> list of dicts."""

    def __init__(self, rows: list[dict[str, Any]] | None = None,
                 error: Exception | None = None) -> None:
        self.rows = rows or []
        self.error = error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append((query, kwargs))
        if self.error:
            raise self.error
        return self.rows[: kwargs.get("max_results") or None]


DDG_ROWS = [
    {"title": "json — JSON encoder and decoder", "href": "https://docs.python.org/3/library/json.html",
     "body": "Source code: Lib/json/__init__.py. JSON is a lightweight format."},
    {"title": "odd", "href": "javascript:alert(1)", "body": "not a web page"},
    {"title": "", "href": "https://example.org/untitled", "body": ""},
]


@pytest.fixture
def serper() -> Iterator[WebServer]:
    with WebServer() as server:
        server.page("/search", json.dumps(ORGANIC), "application/json")
        yield server


def serper_config(server: WebServer, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "web_search_enabled": True, "web_search_provider": "serper", "serper_api_key": KEY,
        "serper_url": server.url("/search"), "web_timeout": 5.0,
    }
    values.update(overrides)
    return Config(**values)


def test_serper_request_and_results(serper: WebServer) -> None:
    results = search_web("  httpx\n streaming ", serper_config(serper), max_results=3)
    assert results == [
        SearchResult("Streaming Responses - HTTPX", "https://www.python-httpx.org/quickstart/",
                     "Use client.stream() to read large bodies."),
        SearchResult("httpx issue 123", "https://github.com/encode/httpx/issues/123",
                     "x" * 299 + "…"),
    ]
    (seen,) = serper.stats.requests
    assert seen.method == "POST"
    assert seen.headers["X-API-KEY"] == KEY
    assert json.loads(seen.body) == {"q": "httpx streaming", "num": 3}


@pytest.mark.parametrize("asked, sent", [(0, 1), (-4, 1), (3, 3), (50, 10)])
def test_max_results_is_kept_between_1_and_10(serper: WebServer, asked: int, sent: int) -> None:
    search_web("q", serper_config(serper), max_results=asked)
    assert json.loads(serper.stats.requests[0].body)["num"] == sent


def _echo_key(status: int):  # type: ignore[no-untyped-def]
    def handler(h: _Handler) -> None:
        # Some APIs echo the credentials they refuse; ours must not repeat them.
        body = json.dumps({"message": f"Invalid API key {h.headers['X-API-KEY']}"}).encode()
        h.reply(status, body, "application/json")

    return handler


@pytest.mark.parametrize(
    "status, message",
    [
        (403, r"the Serper API key was refused \(HTTP 403\); the user must check serper_api_key"),
        (429, r"rate limiting or out of credits"),
        (500, r"the search service answered HTTP 500: .*Invalid API key \*\*\*"),
        (400, r"the search service answered HTTP 400: .*Invalid API key \*\*\*"),
    ],
)
def test_serper_errors_never_show_the_key(
    serper: WebServer, status: int, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    serper.route("/search", _echo_key(status))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ToolError, match=message) as caught:
        search_web(f"query with {KEY}", serper_config(serper))
    assert KEY not in str(caught.value)
    assert caplog.records, "the request should have been logged at debug level"
    assert KEY not in caplog.text


def test_serper_timeout_and_bad_json(serper: WebServer) -> None:
    serper.route("/search", lambda h: (h.stopping.wait(3), h.reply(200, b"{}"))[1])
    with pytest.raises(ToolError, match="the web search timed out"):
        search_web("q", serper_config(serper, web_timeout=0.3))
    serper.page("/search", "<html>captcha</html>", "text/html")
    with pytest.raises(ToolError, match="not JSON"):
        search_web("q", serper_config(serper))
    serper.page("/search", json.dumps({"organic": []}), "application/json")
    assert search_web("q", serper_config(serper)) == []


def test_serper_without_a_key_says_where_to_put_it(serper: WebServer) -> None:
    with pytest.raises(ToolError, match=r"serper_api_key in the machine config .*CA_SERPER"):
        search_web("q", serper_config(serper, serper_api_key=""))
    assert serper.stats.requests == []


def test_serper_key_comes_from_env_or_machine_config_never_from_the_project(
    tmp_path: Path,
) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / "ca.config").write_text(
        'serper_api_key = "from-project"\nserper_url = "https://evil.example/collect"\n'
    )
    loaded = load_config(root=project, env={"CA_HOME": str(home)})
    assert loaded.config.serper_api_key == ""
    assert loaded.config.serper_url == "https://google.serper.dev/search"
    assert any("serper_api_key" in w for w in loaded.warnings)
    assert any("serper_url" in w for w in loaded.warnings)
    loaded = load_config(root=project, env={"CA_HOME": str(home), "CA_SERPER_API_KEY": KEY})
    assert loaded.config.serper_api_key == KEY
    (home / "config.toml").write_text(f'serper_api_key = "{KEY}"\n')
    assert load_config(root=project, env={"CA_HOME": str(home)}).config.serper_api_key == KEY


def ddg_config(**overrides: Any) -> Config:
    return Config(web_search_enabled=True, web_search_provider="duckduckgo", **overrides)


def test_duckduckgo_results_through_an_injected_client() -> None:
    client = FakeDDGS(DDG_ROWS)
    results = search_web("python json", ddg_config(), max_results=3, client=client)
    assert client.calls == [("python json", {"max_results": 3})]
    assert results == [
        SearchResult("json — JSON encoder and decoder", "https://docs.python.org/3/library/json.html",
                     "Source code: Lib/json/__init__.py. JSON is a lightweight format."),
        SearchResult("https://example.org/untitled", "https://example.org/untitled", ""),
    ]


@pytest.mark.parametrize(
    "error, outcome",
    [
        (RatelimitException("202 Ratelimit"), "rate limiting this machine"),
        (TimeoutException("timed out"), "the web search timed out"),
        (DDGSException("backend broke"), r"the web search failed \(backend broke\)"),
        (DDGSException("No results found."), None),
    ],
)
def test_duckduckgo_failures(error: Exception, outcome: str | None) -> None:
    client = FakeDDGS(error=error)
    if outcome is None:
        assert search_web("zzqx", ddg_config(), client=client) == []
    else:
        with pytest.raises(ToolError, match=outcome):
            search_web("zzqx", ddg_config(), client=client)


def test_search_is_off_unless_enabled() -> None:
    client = FakeDDGS(DDG_ROWS)
    with pytest.raises(ToolError, match=r"web search is off; .*web_search_enabled = true"):
        search_web("q", Config(), client=client)
    assert client.calls == []
    with pytest.raises(ToolError, match="query is empty"):
        search_web(" \n ", ddg_config(), client=client)


def test_web_search_tool_is_offered_only_when_enabled() -> None:
    assert [t.name for t in web_tools(Config())] == ["fetch_url"]
    tools = web_tools(ddg_config())
    assert [t.name for t in tools] == ["fetch_url", "web_search"]
    assert all(t.kind == "network" for t in tools)
    params = tools[1].parameters
    assert params["required"] == ["query"]
    assert params["properties"]["max_results"] == {
        "type": "integer", "description": "How many results to return (1 to 10)", "default": 5,
    }


def test_web_search_tool_output_leads_to_fetch_url(tmp_path: Path) -> None:
    config = ddg_config()
    registry = ToolRegistry(web_tools(config))
    client = FakeDDGS(DDG_ROWS)
    ctx = ToolContext(root=tmp_path, config=config, web_search_client=client)
    text = registry.dispatch(ToolCall("web_search", {"query": "python json",
                                                      "max_results": "2"}), ctx).text
    assert text.startswith("1. json — JSON encoder and decoder\n"
                           "   https://docs.python.org/3/library/json.html\n"
                           "   Source code: Lib/json/__init__.py.")
    assert text.endswith("Call fetch_url with one of these addresses to read it.")
    assert client.calls == [("python json", {"max_results": 2})]


def test_format_results() -> None:
    assert format_results([]) == "No results. Try fewer or different keywords."
    text = format_results([SearchResult("A", "https://a.example/", "about a"),
                           SearchResult("B", "https://b.example/", "")])
    assert text == "1. A\n   https://a.example/\n   about a\n\n2. B\n   https://b.example/"
