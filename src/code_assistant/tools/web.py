"""The web tools offered to the model: fetch_url always, web_search when it is turned on."""

from __future__ import annotations

from code_assistant.config import Config
from code_assistant.tools.registry import Tool, ToolContext, tool
from code_assistant.tools.web_fetch import fetch_markdown
from code_assistant.tools.web_search import SearchResult, format_results, search_web

__all__ = [
    "SearchResult",
    "fetch_markdown",
    "fetch_url",
    "format_results",
    "search_web",
    "web_search",
    "web_tools",
]


@tool(kind="network")
def fetch_url(ctx: ToolContext, url: str) -> str:
    """Read a web page: HTML comes back as markdown of its main content, JSON pretty-printed,
    plain text as it is. Use it for a library's docs, an issue or an answer you need;
    long pages are cut to their start. PDFs and binary files are not read.

    Args:
        url: The full http(s) address, e.g. https://docs.python.org/3/library/json.html
    """
    return fetch_markdown(url, _config(ctx), ctx.web_cache, resolver=ctx.web_resolver)


@tool(name="web_search", kind="network")
def web_search(ctx: ToolContext, query: str, max_results: int = 5) -> str:
    """Search the web; returns titles, addresses and snippets. Then call fetch_url on the
    most promising address to read it.

    Args:
        query: A few keywords, e.g. "httpx stream response max size"
        max_results: How many results to return (1 to 10)
    """
    results = search_web(query, _config(ctx), max_results, client=ctx.web_search_client)
    text = format_results(results)
    return text + "\n\nCall fetch_url with one of these addresses to read it." if results else text


def _config(ctx: ToolContext) -> Config:
    return ctx.config if ctx.config is not None else Config()  # a bare context: the defaults


def web_tools(config: Config) -> list[Tool]:
    """[fetch_url], plus web_search when config.web_search_enabled."""
    return [fetch_url, web_search] if config.web_search_enabled else [fetch_url]
