"""What fetch_url does with a body: classify it, decode it, HTML to markdown, fit a token budget."""

from __future__ import annotations

import codecs
import json
import re
from typing import TYPE_CHECKING, Literal

from code_assistant.backends.base import estimate_tokens
from code_assistant.errors import ToolError

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

Kind = Literal["html", "json", "text", "pdf", "binary"]

_TEXT_TYPES = {
    "application/xml", "application/javascript", "application/x-javascript",
    "application/ecmascript", "application/yaml", "application/x-yaml", "application/toml",
    "application/x-sh", "application/sql", "application/graphql", "application/x-ndjson",
    "application/x-python", "application/x-httpd-php", "application/rss+xml",
    "application/atom+xml",
}


def classify(media_type: str, head: bytes = b"") -> Kind:
    """What to do with a body: by its Content-Type, or by sniffing when there is none."""
    if media_type in ("text/html", "application/xhtml+xml"):
        return "html"
    if media_type in ("application/json", "text/json") or media_type.endswith("+json"):
        return "json"
    if media_type == "application/pdf":
        return "pdf"
    if media_type.startswith("text/") or media_type in _TEXT_TYPES:
        return "text"
    if media_type.endswith(("+xml", "+yaml")):
        return "text"
    if media_type:
        return "binary"
    start = head.lstrip()[:512].lower()
    if start.startswith(b"%pdf"):
        return "pdf"
    if b"\x00" in head[:1024]:
        return "binary"
    if start.startswith((b"<!doctype html", b"<html")) or b"<body" in start:
        return "html"
    if start.startswith((b"{", b"[")):
        return "json"
    return "text"


def refusal(kind: Kind, url: str, media_type: str) -> ToolError:
    """The error for a body fetch_url will not read, with what to fetch instead."""
    if kind == "pdf":
        return ToolError(
            f"{url} is a PDF document, which fetch_url cannot read; "
            "look for an HTML version of the same content (docs page, abstract page)"
        )
    return ToolError(
        f"{url} is binary content ({media_type or 'unknown type'}), which fetch_url does not "
        "read; fetch an HTML or text page instead"
    )


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    # As browsers do: pages labelled latin-1 or ASCII are really windows-1252.
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _strict(body: bytes, codec: str, final: bool) -> str | None:
    # Incremental and not final when the body was cut: a character split by the cap is
    # dropped instead of failing the whole decode.
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(body, final=final)
    except (UnicodeError, LookupError):  # UTF-16 without a BOM raises plain UnicodeError
        return None


def decode_body(body: bytes, declared: str | None, *, html: bool = False, cut: bool = False) -> str:
    """Decode a body: BOM, then valid UTF-8, then the declared or <meta> charset, then cp1252.

    Valid UTF-8 wins over a declared single-byte charset because servers often label
    UTF-8 pages latin-1; bytes that are not UTF-8 fall back to the label, and a wrong
    label (say utf-8 on a windows-1252 page) to windows-1252, the web's legacy default.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace")
    labels = [_codec(declared)]
    if html:
        match = _META_CHARSET.search(body[:4096])
        labels.append(_codec(match.group(1).decode("ascii")) if match else None)
    wide = any(label and label.startswith(("utf-16", "utf-32")) for label in labels)
    candidates = ([] if wide else ["utf-8"]) + [label for label in labels if label]
    for codec in candidates:
        text = _strict(body, codec, final=not cut)
        if text is not None:
            return text
    return body.decode("cp1252", errors="replace")


# Below this much visible text a page is all "main content"; trafilatura's boilerplate
# detection is built for long pages and flattens the formatting of short ones.
_SHORT_PAGE_CHARS = 1500
_DROP_ALWAYS = ["script", "style", "noscript", "template", "iframe", "svg", "canvas", "object"]
_DROP_CHROME = ["nav", "header", "footer", "aside", "form", "button"]


def html_to_markdown(html: str, base_url: str) -> tuple[str, str]:
    """(title, markdown of the main content) of an HTML page; links made absolute."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup(_DROP_ALWAYS):
        tag.decompose()
    for name, attr in (("a", "href"), ("img", "src")):
        for node in soup.find_all(name, attrs={attr: True}):
            node[attr] = _join(base_url, str(node[attr]))
    markdown = ""
    if len(soup.get_text(" ", strip=True)) >= _SHORT_PAGE_CHARS:
        import trafilatura

        markdown = trafilatura.extract(
            str(soup), url=base_url, output_format="markdown", include_links=True,
            include_formatting=True, include_tables=True, include_images=False,
            include_comments=False,
        ) or ""
    if not markdown.strip():
        markdown = _markdownify_main(soup)
    return title, _tidy(markdown)


def _join(base: str, link: str) -> str:
    from urllib.parse import urljoin

    try:
        return urljoin(base, link)
    except ValueError:
        return link


def _markdownify_main(soup: BeautifulSoup) -> str:
    from markdownify import markdownify

    for tag in soup(_DROP_CHROME):
        tag.decompose()
    main = soup.find("main") or soup.find("article") or soup.body or soup
    return markdownify(str(main), heading_style="ATX", bullets="-", code_language="")


def _tidy(markdown: str) -> str:
    lines = [line.rstrip() for line in markdown.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def render(kind: Kind, text: str) -> str:
    """JSON pretty-printed when it parses (a cut body may not); text as it is."""
    if kind == "json":
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def fit_tokens(text: str, max_tokens: int) -> str:
    """Keep the start of text within max_tokens (the marker included), cut at a line end."""
    total = estimate_tokens(text)
    if total <= max_tokens:
        return text
    marker = (
        f"\n\n[... cut: the page is about {total} tokens and only its start is shown. "
        "For more, fetch a more specific address (a section anchor or a sub-page).]"
    )
    budget = max(0, max_tokens * 4 - len(marker) - 3)
    head = text[:budget]
    newline = head.rfind("\n")
    if newline > budget * 0.8:
        head = head[:newline]
    return head.rstrip() + marker
