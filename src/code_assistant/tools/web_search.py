"""web_search's engine: DuckDuckGo (the `ddgs` library, no key) or Serper (HTTP API, a key)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from code_assistant.errors import ToolError
from code_assistant.redact import redact

if TYPE_CHECKING:
    from code_assistant.config import Config

log = logging.getLogger(__name__)

MAX_RESULTS = 10
SNIPPET_CHARS = 300


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str


class TextSearchClient(Protocol):
    """The part of `ddgs.DDGS` we use: `text(query, max_results=N)` -> [{title, href, body}]."""

    def text(self, query: str, **kwargs: Any) -> list[dict[str, Any]]: ...


# What replaces a provider's own client (tests inject one): DDGS-like, or httpx for Serper.
SearchClient = httpx.Client | TextSearchClient


def _clean(text: Any, limit: int) -> str:
    words = " ".join(str(text or "").split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def _result(title: Any, url: Any, snippet: Any) -> SearchResult | None:
    url = str(url or "").strip()
    if not url.startswith(("http://", "https://")):
        return None
    return SearchResult(_clean(title, 200) or url, url, _clean(snippet, SNIPPET_CHARS))


def search_duckduckgo(
    query: str, max_results: int, timeout: float, client: TextSearchClient | None = None
) -> list[SearchResult]:
    """Search with `ddgs`; a client with the same `text()` can be passed in."""
    from ddgs import DDGS
    from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

    client = client or DDGS(timeout=max(1, round(timeout)))
    try:
        rows = client.text(query, max_results=max_results)
    except RatelimitException:
        raise ToolError(
            "DuckDuckGo is rate limiting this machine; wait a minute before searching again, "
            "or answer from what you already have"
        ) from None
    except TimeoutException:
        raise ToolError(
            "the web search timed out; try again once, or answer from what you already have"
        ) from None
    except DDGSException as exc:
        if "no results" in str(exc).lower():
            return []
        raise ToolError(f"the web search failed ({exc}); try a different query") from None
    results = [_result(r.get("title"), r.get("href"), r.get("body")) for r in rows or []]
    return [r for r in results if r][:max_results]


def search_serper(
    query: str, max_results: int, config: Config, client: httpx.Client | None = None
) -> list[SearchResult]:
    """Search through Serper's Google API; the key comes from machine config or the env."""
    key = config.serper_api_key
    if not key:
        raise ToolError(
            "web search with Serper needs an API key: the user must set serper_api_key in the "
            "machine config (~/.code-assistant/config.toml) or CA_SERPER_API_KEY"
        )
    own = client is None
    http = client or httpx.Client(timeout=config.web_timeout, trust_env=False)
    try:
        response = http.post(
            config.serper_url,
            json={"q": query, "num": max_results},
            headers={"X-API-KEY": key, "Content-Type": "application/json"},
        )
    except httpx.TimeoutException:
        raise ToolError("the web search timed out; try again once") from None
    except httpx.HTTPError as exc:
        raise ToolError(f"could not reach the search service ({exc}); try again later") from None
    finally:
        if own:
            http.close()
    log.debug("serper %r -> HTTP %s", redact(query, (key,)), response.status_code)
    if response.status_code in (401, 403):
        raise ToolError(
            "the Serper API key was refused (HTTP "
            f"{response.status_code}); the user must check serper_api_key"
        )
    if response.status_code == 429:
        raise ToolError("Serper is rate limiting or out of credits; wait before searching again")
    if response.status_code >= 400:
        raise ToolError(
            f"the search service answered HTTP {response.status_code}: "
            f"{response.text[:200]}; try again later"
        )
    try:
        rows = response.json().get("organic") or []
    except (ValueError, AttributeError):
        raise ToolError("the search service answered with something that is not JSON") from None
    results = [_result(r.get("title"), r.get("link"), r.get("snippet")) for r in rows]
    return [r for r in results if r][:max_results]


def search_web(
    query: str, config: Config, max_results: int = 5, client: SearchClient | None = None
) -> list[SearchResult]:
    """Search the web with the configured provider.

    `client` replaces the provider's client: an object with `text()` like `ddgs.DDGS`
    for duckduckgo, an `httpx.Client` for serper. Failures raise ToolError; the Serper
    key never appears in them or in logs.
    """
    if not config.web_search_enabled:
        raise ToolError(
            "web search is off; the user can turn it on with web_search_enabled = true"
        )
    query = " ".join(query.split())
    if not query:
        raise ToolError("the search query is empty; give a few keywords")
    count = max(1, min(int(max_results), MAX_RESULTS))
    try:
        if config.web_search_provider == "serper":
            http = client if isinstance(client, httpx.Client) else None
            return search_serper(query, count, config, http)
        ddg = None if isinstance(client, httpx.Client) else client
        return search_duckduckgo(query, count, config.web_timeout, ddg)
    except ToolError as exc:
        raise ToolError(redact(str(exc), (config.serper_api_key,))) from None


def format_results(results: list[SearchResult]) -> str:
    """Numbered results (title, URL, snippet) as context for the model or the terminal."""
    if not results:
        return "No results. Try fewer or different keywords."
    blocks = []
    for number, result in enumerate(results, 1):
        lines = [f"{number}. {result.title}", f"   {result.url}"]
        if result.snippet:
            lines.append(f"   {result.snippet}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
