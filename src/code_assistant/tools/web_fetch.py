"""fetch_url's engine: a guarded, capped HTTP GET and its body turned into text for the model."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from code_assistant import __version__
from code_assistant.backends.base import estimate_tokens
from code_assistant.errors import ToolError
from code_assistant.redact import redact
from code_assistant.tools.ssrf import Resolver, Target, check_url, pinned_request, system_resolver
from code_assistant.tools.web_content import (
    Kind,
    classify,
    decode_body,
    fit_tokens,
    html_to_markdown,
    refusal,
    render,
)

if TYPE_CHECKING:
    from code_assistant.config import Config

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
USER_AGENT = f"code-assistant/{__version__} (fetch_url)"
ACCEPT = "text/html,application/xhtml+xml,application/json,text/plain;q=0.9,*/*;q=0.5"

_STATUS_HINTS = {
    401: "the page needs a login; use a public source instead",
    403: "the server refused access (login required or automated clients blocked); "
    "try another source",
    404: "there is no page at this address; check the URL or use web_search to find it",
    410: "the page was removed; use web_search to find where it went",
    429: "the server is rate limiting; wait before retrying or use another source",
}


@dataclass
class Page:
    """A fetched response: final URL, status, media type, declared charset and (capped) body."""

    url: str
    status: int
    kind: Kind
    media_type: str
    charset: str | None
    body: bytes
    cut: bool  # the body was longer than web_max_bytes and was not read past it


def _status_error(status: int, reason: str, url: str) -> ToolError:
    if status in _STATUS_HINTS:
        hint = _STATUS_HINTS[status]
    elif status >= 500:
        hint = "the server failed; try again later or use another source"
    else:
        hint = "the server rejected the request; check the URL or use another source"
    return ToolError(f"HTTP {status} {reason} for {url}: {hint}")


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    """Read at most max_bytes of the (decompressed) body, stopping at the deadline too."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole response took too long", request=response.request)
    return b"".join(chunks), False


@contextmanager
def _open(client: httpx.Client, target: Target) -> Iterator[httpx.Response]:
    """Stream a GET from the first checked address that accepts a connection."""
    error = httpx.ConnectError(f"no address for {target.url.host}")
    for address in target.addresses:
        url, headers, extensions = pinned_request(target, address)
        request = client.build_request("GET", url, headers=headers, extensions=extensions)
        try:
            response = client.send(request, stream=True)
        except httpx.ConnectError as exc:
            error = exc
            continue
        try:
            yield response
        finally:
            response.close()
        return
    raise error


def _follow(client: httpx.Client, url: str, config: Config, resolver: Resolver) -> Page:
    current: str | httpx.URL = url
    for _ in range(MAX_REDIRECTS + 1):
        target = check_url(current, allow_private=config.web_allow_private, resolver=resolver)
        deadline = time.monotonic() + config.web_timeout
        with _open(client, target) as response:
            shown = str(target.url)
            log.debug("fetch %s -> HTTP %s", redact(shown), response.status_code)
            location = response.headers.get("location")
            if response.is_redirect and location:
                try:
                    current = target.url.join(location)
                except httpx.InvalidURL:
                    raise ToolError(f"{shown} redirects to an invalid URL {location!r}") from None
                continue
            if response.status_code >= 300:
                raise _status_error(response.status_code, response.reason_phrase, shown)
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            kind = classify(media_type)
            if kind in ("pdf", "binary"):  # refused before a byte of the body is read
                raise refusal(kind, shown, media_type)
            body, cut = _read_capped(response, config.web_max_bytes, deadline)
            if not media_type:
                kind = classify("", body[:1024])
                if kind in ("pdf", "binary"):
                    raise refusal(kind, shown, media_type)
            return Page(shown, response.status_code, kind, media_type,
                        response.charset_encoding, body, cut)
    raise ToolError(
        f"{url} redirected more than {MAX_REDIRECTS} times; try the final address directly"
    )


def fetch_page(
    url: str, config: Config, *, resolver: Resolver | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Page:
    """GET a URL through the SSRF guard, following redirects by hand and re-checking each hop."""
    timeout = config.web_timeout
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    # trust_env off: a proxy from the environment would bypass the address pinning.
    with httpx.Client(timeout=timeout, headers=headers, follow_redirects=False,
                      trust_env=False, transport=transport) as client:
        try:
            return _follow(client, url, config, resolver or system_resolver)
        except httpx.TimeoutException:
            raise ToolError(
                f"timed out after {timeout:g}s fetching {url}; the server is slow or "
                "unreachable: try again later or use another source"
            ) from None
        except httpx.ConnectError as exc:
            raise ToolError(
                f"could not connect to {url} ({exc}); check the address or try another source"
            ) from None
        except httpx.HTTPError as exc:
            raise ToolError(f"fetching {url} failed: {exc}; try again or another source") from None


def page_text(page: Page, max_tokens: int) -> str:
    """The text the model reads: a short header, the content, cut to the token budget."""
    text = decode_body(page.body, page.charset, html=page.kind == "html", cut=page.cut)
    header = [f"URL: {page.url}"]
    if page.kind == "html":
        title, text = html_to_markdown(text, page.url)
        if title:
            header.append(f"Title: {title}")
    else:
        text = render(page.kind, text)
        header.append(f"Content-Type: {page.media_type or 'unknown'}")
    if page.cut:
        header.append(f"Note: only the first {len(page.body)} bytes were read (web_max_bytes)")
    if not text.strip():
        text = "(the page has no readable text)"
    head = "\n".join(header) + "\n\n"
    return head + fit_tokens(text, max(0, max_tokens - estimate_tokens(head)))


def fetch_markdown(
    url: str, config: Config, cache: MutableMapping[str, str] | None = None, *,
    resolver: Resolver | None = None,
) -> str:
    """A URL's content as text for the model (HTML as markdown), cached per session.

    Raises ToolError with a message for the model; keys and tokens in it are redacted.
    """
    key = url.strip()
    if cache is not None and key in cache:
        return cache[key]
    try:
        text = page_text(fetch_page(key, config, resolver=resolver), config.web_max_tokens)
    except ToolError as exc:
        raise ToolError(redact(str(exc))) from None
    if cache is not None:
        cache[key] = text
    return text
