"""fetch_url against a real HTTP server on 127.0.0.1: conversion, redirects, caps, errors."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from code_assistant.backends.base import ToolCall, estimate_tokens
from code_assistant.config import Config
from code_assistant.errors import ToolError
from code_assistant.tools.registry import ToolContext, ToolRegistry
from code_assistant.tools.web import fetch_markdown, web_tools
from code_assistant.tools.web_fetch import MAX_REDIRECTS, fetch_page
from tests.fakes.web_server import WebServer, _Handler

PARA = (
    "<p>The widget library lets you <b>build</b> sturdy things with care and precision, "
    'as the <a href="/guide/install">install guide</a> explains in detail.</p>'
)
DOCS_PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>Widgets  guide</title>
<script>var tracking = "SCRIPT-NOISE";</script><style>.x {{ color: red }}</style></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/blog">NAV-NOISE blog</a></li></ul></nav>
<main><article><h1>Widgets guide</h1>{PARA * 5}<h2>Install</h2>{PARA * 5}
<pre><code>pip install widget
widget --help</code></pre>
<ul><li>first point</li><li>second point</li></ul>{PARA * 5}
<table><tr><th>option</th><th>default</th></tr><tr><td>size</td><td>10</td></tr></table>
</article></main><footer>FOOTER-NOISE copyright</footer></body></html>"""
SHORT_PAGE = """<html><head><title>Tiny</title></head><body>
<nav><a href="/">NAV-NOISE</a></nav>
<main><h1>Quick start</h1><p>Run <code>widget init</code>, then read
<a href="docs/next.html">the next step</a>.</p><ul><li>alpha</li><li>beta</li></ul></main>
</body></html>"""


def cfg(**overrides: object) -> Config:
    values: dict[str, object] = {"web_allow_private": True, "web_timeout": 5.0}
    values.update(overrides)
    return Config(**values)


@pytest.fixture
def web() -> Iterator[WebServer]:
    with WebServer() as server:
        yield server


def test_docs_page_becomes_markdown_of_its_main_content(web: WebServer) -> None:
    web.page("/docs.html", DOCS_PAGE)
    text = fetch_markdown(web.url("/docs.html"), cfg())
    assert text.startswith(f"URL: {web.url('/docs.html')}\nTitle: Widgets guide\n")
    assert "# Widgets guide" in text and "## Install" in text
    assert "**build**" in text
    assert "```" in text and "pip install widget\nwidget --help" in text
    assert "| option | default |" in text
    # Relative links come back absolute so the model can fetch them next.
    assert f"[install guide]({web.url('/guide/install')})" in text
    for noise in ("SCRIPT-NOISE", "NAV-NOISE", "FOOTER-NOISE", "color: red"):
        assert noise not in text


def test_short_page_keeps_its_formatting(web: WebServer) -> None:
    web.page("/a/tiny.html", SHORT_PAGE)
    text = fetch_markdown(web.url("/a/tiny.html"), cfg())
    assert "Title: Tiny" in text
    assert "# Quick start" in text
    assert "`widget init`" in text
    assert f"[the next step]({web.url('/a/docs/next.html')})" in text
    assert "- alpha\n- beta" in text
    assert "NAV-NOISE" not in text


def test_json_is_pretty_printed_and_text_is_kept_as_is(web: WebServer) -> None:
    web.page("/api.json", json.dumps({"name": "widget", "versions": [1, 2]}),
             "application/json")
    web.page("/notes.txt", "line one\n  indented *not markdown*\n", "text/plain")
    web.page("/problem.json", '{"type": "x"}', "application/problem+json")
    assert fetch_markdown(web.url("/api.json"), cfg()).endswith(
        '{\n  "name": "widget",\n  "versions": [\n    1,\n    2\n  ]\n}'
    )
    text = fetch_markdown(web.url("/notes.txt"), cfg())
    assert "Content-Type: text/plain" in text
    assert text.endswith("line one\n  indented *not markdown*\n")
    assert fetch_markdown(web.url("/problem.json"), cfg()).endswith('{\n  "type": "x"\n}')


def test_redirect_chain_is_followed_to_the_final_page(web: WebServer) -> None:
    web.redirect("/old", "/older", 301)
    web.redirect("/older", web.url("/moved"), 307)
    web.redirect("/moved", "final.html", 302)  # relative to /moved
    web.page("/final.html", SHORT_PAGE)
    text = fetch_markdown(web.url("/old"), cfg())
    assert text.startswith(f"URL: {web.url('/final.html')}\n")
    assert "Quick start" in text
    assert web.stats.paths() == ["/old", "/older", "/moved", "/final.html"]


def test_redirect_loop_stops_at_the_limit(web: WebServer) -> None:
    web.redirect("/loop", "/loop")
    with pytest.raises(ToolError, match=f"redirected more than {MAX_REDIRECTS} times"):
        fetch_markdown(web.url("/loop"), cfg())
    assert len(web.stats.paths()) == MAX_REDIRECTS + 1


def _endless(handler: _Handler) -> None:
    chunk = b"<p>" + b"x" * 65_530 + b"</p>"
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(chunk) * 3000))  # about 200 MB
    handler.end_headers()
    for _ in range(3000):
        handler.write(chunk)


def test_oversize_body_is_cut_without_being_read_into_memory(web: WebServer) -> None:
    web.route("/huge.html", _endless)
    tracemalloc.start()
    started = time.monotonic()
    try:
        page = fetch_page(web.url("/huge.html"), cfg(web_max_bytes=100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert page.cut and len(page.body) == 100_000
    assert peak < 8_000_000, f"peak {peak} bytes while fetching a 200 MB body"
    assert elapsed < 5
    time.sleep(0.2)  # let the server notice the closed connection
    assert web.stats.bytes_sent["/huge.html"] < 50_000_000
    text = fetch_markdown(web.url("/huge.html"), cfg(web_max_bytes=100_000, web_max_tokens=50))
    assert "only the first 100000 bytes were read" in text


def test_gzip_bomb_is_capped_after_decompression(web: WebServer) -> None:
    bomb = gzip.compress(b"a" * 20_000_000, compresslevel=1)
    web.page("/bomb.txt", bomb, "text/plain", headers={"Content-Encoding": "gzip"})
    page = fetch_page(web.url("/bomb.txt"), cfg(web_max_bytes=200_000))
    assert page.cut and len(page.body) == 200_000 and set(page.body) == {ord("a")}


def _slow_headers(handler: _Handler) -> None:
    handler.stopping.wait(3)
    handler.reply(200, b"too late", "text/plain")


def _drip(handler: _Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    while not handler.stopping.wait(0.05):
        handler.write(b"x")


@pytest.mark.parametrize("path, handler", [("/slow", _slow_headers), ("/drip", _drip)])
def test_slow_server_times_out(web: WebServer, path: str, handler: object) -> None:
    web.route(path, handler)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"timed out after 0\.5s fetching .*try again later"):
        fetch_markdown(web.url(path), cfg(web_timeout=0.5))
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    "content_type, body, expected",
    [
        # Labelled UTF-8, really windows-1252.
        ("text/plain; charset=utf-8", "Café déjà vu, naïve façade.".encode("cp1252"),
         "Café déjà vu, naïve façade."),
        # Labelled latin-1, really UTF-8.
        ("text/plain; charset=iso-8859-1", "naïve — “quoted” ✓".encode(), "naïve — “quoted” ✓"),
        # No charset anywhere, UTF-8 bytes.
        ("text/plain", "日本語のテキスト".encode(), "日本語のテキスト"),
        # Only the <meta> tag knows: windows-1251.
        ("text/html", '<html><head><meta charset="windows-1251"></head><body><p>Привет, мир'
         "</p></body></html>".encode("cp1251"), "Привет, мир"),
        # An unknown label falls back to detection.
        ("text/plain; charset=x-bogus", "Grüße".encode(), "Grüße"),
        # A UTF-16 body with its byte order mark.
        ("text/plain", "\ufeffhello wörld".encode("utf-16-le"), "hello wörld"),
    ],
)
def test_charset_is_detected_when_the_label_is_missing_or_wrong(
    web: WebServer, content_type: str, body: bytes, expected: str
) -> None:
    web.page("/enc", body, content_type)
    text = fetch_markdown(web.url("/enc"), cfg())
    assert expected in text
    assert "\ufffd" not in text


def test_a_character_split_by_the_byte_cap_is_dropped_not_garbled(web: WebServer) -> None:
    web.page("/accents.txt", ("é" * 1000).encode(), "text/plain; charset=utf-8")
    text = fetch_markdown(web.url("/accents.txt"), cfg(web_max_bytes=1001))
    assert "é" * 500 in text and "\ufffd" not in text and "Ã" not in text


@pytest.mark.parametrize(
    "status, message",
    [
        (404, r"HTTP 404 Not Found for .*/missing: there is no page at this address; check the "
              r"URL or use web_search"),
        (500, r"HTTP 500 Internal Server Error for .*/missing: the server failed; try again later"),
        (503, r"HTTP 503 Service Unavailable .*the server failed"),
        (403, r"HTTP 403 Forbidden .*refused access"),
        (429, r"HTTP 429 Too Many Requests .*rate limiting"),
        (418, r"HTTP 418 .*rejected the request"),
    ],
)
def test_http_errors_say_what_happened_and_what_to_do(
    web: WebServer, status: int, message: str
) -> None:
    web.page("/missing", "<h1>oops</h1>", status=status)
    with pytest.raises(ToolError, match=message):
        fetch_markdown(web.url("/missing"), cfg())


@pytest.mark.parametrize(
    "path, content_type, body, message",
    [
        ("/paper.pdf", "application/pdf", b"%PDF-1.7 ...", "is a PDF document"),
        ("/logo.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00", r"binary content \(image/png\)"),
        ("/blob", "application/octet-stream", b"\x00\x01", "binary content"),
        ("/untyped-pdf", None, b"%PDF-1.4 untyped", "is a PDF document"),
        ("/untyped-bin", None, b"ELF\x00\x00\x01\x02", r"binary content \(unknown type\)"),
    ],
)
def test_pdfs_and_binaries_are_refused(
    web: WebServer, path: str, content_type: str | None, body: bytes, message: str
) -> None:
    web.page(path, body, content_type)
    with pytest.raises(ToolError, match=message):
        fetch_markdown(web.url(path), cfg())


def test_untyped_html_is_sniffed(web: WebServer) -> None:
    web.page("/untyped", SHORT_PAGE.encode(), None)
    assert "# Quick start" in fetch_markdown(web.url("/untyped"), cfg())


def test_long_page_is_cut_to_the_token_budget_keeping_its_start(web: WebServer) -> None:
    lines = "\n".join(f"line {n:05d} of the changelog" for n in range(5000))
    web.page("/long.txt", "START OF PAGE\n" + lines, "text/plain")
    text = fetch_markdown(web.url("/long.txt"), cfg(web_max_tokens=300))
    assert estimate_tokens(text) <= 300
    assert "START OF PAGE\nline 00000" in text
    assert "line 04999" not in text
    assert text.endswith("only its start is shown. For more, fetch a more specific address "
                         "(a section anchor or a sub-page).]")
    body_lines = text.split("\n\n[... cut")[0].splitlines()
    assert body_lines[-1].startswith("line ") and body_lines[-1].endswith("changelog")


def test_results_are_cached_per_session(web: WebServer) -> None:
    web.page("/once.html", SHORT_PAGE)
    cache: dict[str, str] = {}
    first = fetch_markdown(web.url("/once.html"), cfg(), cache)
    web.page("/once.html", "<p>changed</p>")
    assert fetch_markdown(web.url("/once.html"), cfg(), cache) == first
    assert web.stats.paths() == ["/once.html"]
    assert "changed" in fetch_markdown(web.url("/once.html"), cfg(), {})


def test_fetch_url_tool_uses_the_session_cache_in_ctx(web: WebServer, tmp_path) -> None:
    web.page("/doc.html", SHORT_PAGE)
    registry = ToolRegistry(web_tools(cfg()))
    ctx = ToolContext(root=tmp_path, config=cfg())
    call = ToolCall(id="1", name="fetch_url", arguments={"url": web.url("/doc.html")})
    text = registry.dispatch(call, ctx).text
    assert "# Quick start" in text
    assert registry.dispatch(call, ctx).text == text
    assert web.stats.paths() == ["/doc.html"]
    assert list(ctx.web_cache) == [web.url("/doc.html")]
    assert registry.get("fetch_url").kind == "network"


def test_connection_refused_is_a_clear_error() -> None:
    with WebServer() as gone:
        url = gone.url("/x")
    with pytest.raises(ToolError, match=r"could not connect to .*check the address"):
        fetch_markdown(url, cfg())


def test_errors_are_redacted(web: WebServer) -> None:
    web.page("/private", "no", status=404)
    url = web.url("/private?api_key=SECRETVALUE123456&q=1")
    with pytest.raises(ToolError) as caught:
        fetch_markdown(url, cfg())
    assert "SECRETVALUE123456" not in str(caught.value)
    assert "api_key=***" in str(caught.value)
