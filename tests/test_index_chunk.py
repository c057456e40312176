"""Symbol-aligned chunking and code-aware search terms."""

from __future__ import annotations

import itertools
import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.index.chunk import make_chunks
from code_assistant.index.parse import parse_source
from code_assistant.index.terms import (
    compounds,
    expansion,
    fts_query,
    identifiers,
    name_terms,
    query_terms,
    split_identifier,
)


def chunk_python(source: str, max_chars: int = 1500, overlap: int = 200) -> list[tuple]:
    source = textwrap.dedent(source).lstrip("\n")
    parsed = parse_source(source.encode(), "python")
    return [
        (c.start_line, c.end_line, c.symbol, c.kind)
        for c in make_chunks(source, parsed.symbols, max_chars, overlap)
    ]


def test_small_definitions_are_one_chunk_each_and_glue_is_kept() -> None:
    source = """
    import os

    LIMIT = 3


    def one():
        return 1


    class Two:
        def method(self):
            return 2
    """
    assert chunk_python(source) == [
        (1, 1, "", "module"),
        (3, 3, "LIMIT", "constant"),
        (6, 7, "one", "function"),
        (10, 12, "Two", "class"),
    ]


def test_a_big_class_is_split_into_its_members() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(8))
    methods = "\n\n".join(f"    def m{i}(self):\n{body}" for i in range(3))
    source = f"class Big:\n    '''Doc.'''\n\n{methods}\n"
    chunks = chunk_python(source, max_chars=300)
    assert chunks == [
        (1, 2, "Big", "class"),
        (4, 12, "Big.m0", "method"),
        (14, 22, "Big.m1", "method"),
        (24, 32, "Big.m2", "method"),
    ]


def test_a_long_body_is_cut_into_overlapping_windows() -> None:
    lines = "\n".join(f"    value_{i} = compute({i})" for i in range(60))
    source = f"def long():\n{lines}\n"
    text = source
    parsed = parse_source(text.encode(), "python")
    chunks = make_chunks(text, parsed.symbols, max_chars=400, overlap=100)
    assert len(chunks) > 3
    assert all(c.symbol == "long" and c.kind == "function" for c in chunks)
    assert chunks[0].start_line == 1
    assert chunks[-1].end_line == 61
    for before, after in itertools.pairwise(chunks):
        assert after.start_line <= before.end_line  # overlap
        assert after.start_line > before.start_line  # progress
        assert len(before.text) <= 400


def test_one_enormous_line_is_one_capped_chunk() -> None:
    source = "DATA = [" + ", ".join(str(i) for i in range(5000)) + "]\n"
    parsed = parse_source(source.encode(), "python")
    chunks = make_chunks(source, parsed.symbols, max_chars=500)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 1)]
    assert len(chunks[0].text) == 1000


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["def f():", "    return 1", "class C:", "    def m(self):", "        pass", "",
             "x = 1", "    # comment " + "y" * 120, "@decorator", "MAX = 2"]
        ),
        max_size=80,
    ),
    st.integers(min_value=60, max_value=600),
)  # fmt: skip
def test_chunks_cover_every_non_blank_line(lines: list[str], max_chars: int) -> None:
    source = "\n".join(lines)
    parsed = parse_source(source.encode(), "python")
    chunks = make_chunks(source, parsed.symbols, max_chars, overlap=max_chars // 4)
    covered = set()
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= max(1, len(lines))
        assert (
            chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])[: 2 * max_chars]
        )
        if chunk.start_line != chunk.end_line:
            assert len(chunk.text) <= max_chars
        covered.update(range(chunk.start_line, chunk.end_line + 1))
    wanted = {i + 1 for i, line in enumerate(lines) if line.strip()}
    assert wanted <= covered


def test_split_identifier() -> None:
    assert split_identifier("parseHTTPResponse_v2") == ["parse", "http", "response", "v2"]
    assert split_identifier("TerminalState") == ["terminal", "state"]
    assert split_identifier("get_user_name") == ["get", "user", "name"]
    assert split_identifier("MAX_SIZE") == ["max", "size"]
    assert split_identifier("__init__") == ["init"]


def test_expansion_adds_the_parts_of_compound_names_only() -> None:
    text = "def getUserName(self, user_id): return HTTPServer.plain + Plain + ALLCAPS"
    words = set(identifiers(text))
    parts = set(expansion(words, compounds(words)).split())
    assert parts == {"get", "user", "name", "id", "http", "server"}


def test_name_terms_and_query_terms() -> None:
    assert name_terms("TerminalState.new") == "TerminalState new state terminal"
    assert query_terms("Return the number of items in the LRUCache") == [
        "number", "items", "lrucache", "lru", "cache",
    ]  # fmt: skip
    assert query_terms('"; DROP TABLE x --') == ["drop", "table"]


@given(st.text(max_size=60))
def test_fts_query_is_always_a_valid_match_expression(text: str) -> None:
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize=\"porter unicode61 tokenchars '_'\")")
    db.execute("INSERT INTO t VALUES ('some text here')")
    terms = query_terms(text)
    if terms:
        db.execute("SELECT * FROM t WHERE t MATCH ?", (fts_query(terms),)).fetchall()


def test_a_long_function_splits_at_its_nested_functions() -> None:
    outer = "\n".join(f"    x{i} = {i}" for i in range(10))
    inner = "\n".join(f"        y{i} = {i}" for i in range(10))
    source = f"def outer():\n{outer}\n\n    def inner():\n{inner}\n\n    return inner\n"
    assert chunk_python(source, max_chars=200) == [
        (1, 11, "outer", "function"),
        (13, 23, "outer.inner", "function"),
        (25, 25, "outer", "function"),
    ]


def test_javascript_member_functions_are_their_own_named_chunks() -> None:
    source = textwrap.dedent(
        """
        var res = Object.create(http.ServerResponse.prototype);

        res.status = function status(code) {
          this.statusCode = code;
          return this;
        };

        res.send = function send(body) {
          return this.end(body);
        };
        """
    ).lstrip("\n")
    parsed = parse_source(source.encode(), "javascript")
    chunks = [(c.start_line, c.end_line, c.symbol) for c in make_chunks(source, parsed.symbols)]
    assert chunks == [(1, 1, ""), (3, 6, "res.status"), (8, 10, "res.send")]
