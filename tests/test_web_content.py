"""fetch_url's body handling as pure functions: sniffing, decoding, markdown, the token cut."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from code_assistant.backends.base import estimate_tokens
from code_assistant.tools.web_content import (
    classify,
    decode_body,
    fit_tokens,
    html_to_markdown,
    render,
)

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@given(_TEXT, st.sampled_from([None, "utf-8", "iso-8859-1", "x-unknown", "windows-1251"]))
def test_utf8_text_always_round_trips_whatever_the_label(text: str, label: str | None) -> None:
    assert decode_body(text.encode(), label) == text


@given(st.binary(max_size=400), st.sampled_from([None, "utf-8", "utf-16", "shift_jis", "bogus"]),
       st.booleans(), st.booleans())
def test_any_bytes_decode_to_text_without_raising(
    body: bytes, label: str | None, html: bool, cut: bool
) -> None:
    assert isinstance(decode_body(body, label, html=html, cut=cut), str)


@given(_TEXT, st.integers(min_value=1, max_value=len("é") * 50))
def test_a_cut_utf8_body_decodes_to_a_prefix(text: str, cap: int) -> None:
    data = text.encode()
    decoded = decode_body(data[:cap], "utf-8", cut=True)
    assert text.startswith(decoded)


@given(_TEXT, st.integers(min_value=60, max_value=400))
def test_fit_tokens_keeps_the_start_and_the_budget(text: str, budget: int) -> None:
    out = fit_tokens(text, budget)
    assert estimate_tokens(out) <= budget
    if out != text:
        kept = out.split("\n\n[... cut: ")[0]
        assert text.startswith(kept)


def test_classify_by_type_and_by_sniffing() -> None:
    assert classify("text/html") == "html"
    assert classify("application/xhtml+xml") == "html"
    assert classify("application/vnd.api+json") == "json"
    assert classify("text/markdown") == "text"
    assert classify("application/x-yaml") == "text"
    assert classify("image/svg+xml") == "text"
    assert classify("application/zip") == "binary"
    assert classify("application/pdf") == "pdf"
    assert classify("", b"  <!DOCTYPE html><html>") == "html"
    assert classify("", b'{"a": 1}') == "json"
    assert classify("", b"%PDF-1.7") == "pdf"
    assert classify("", b"\x7fELF\x00\x00") == "binary"
    assert classify("", b"just words") == "text"


def test_invalid_json_is_returned_as_it_came() -> None:
    assert render("json", '{"cut": [1, 2') == '{"cut": [1, 2'
    assert render("json", json.dumps([1])) == "[\n  1\n]"
    assert render("text", "  as is ") == "  as is "


def test_html_without_title_or_body_still_gives_text() -> None:
    title, text = html_to_markdown("plain words, no tags", "https://example.com/")
    assert (title, text) == ("", "plain words, no tags")
    title, text = html_to_markdown("<title> A \n  page </title><p>x <a href='#s'>y</a></p>",
                                   "https://example.com/doc")
    assert title == "A page"
    assert "[y](https://example.com/doc#s)" in text
