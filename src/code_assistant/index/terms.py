"""Code-aware terms for full-text search: camelCase and snake_case names split into words."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_WORD = re.compile(r"\w+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Where camelCase and acronyms change into words: parseHTTPResponse -> parse HTTP Response.
_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# One identifier per line; matched only when it joins words by case change or underscore.
_COMPOUND = re.compile(
    r"^\w*(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z]|[A-Za-z0-9]_[A-Za-z0-9])\w*$", re.M | re.ASCII
)
# Words that match nearly every chunk: they only slow the query and blur the ranking.
_STOP_TEXT = (
    "a an and are as at be by for from has have in into is it its of on or that the this "
    "to was were will with which when what where how why does do use uses used using can "
    "given get gets set sets return returns self cls def class function fn func const let var "
    "import none null true false if else not new one all any"
)
STOPWORDS = frozenset(_STOP_TEXT.split())
MAX_QUERY_TERMS = 24


def split_identifier(name: str) -> list[str]:
    """`parseHTTPResponse_v2` -> ['parse', 'http', 'response', 'v2'] (lower case)."""
    if name.islower() or name.isupper():
        return [part for part in name.lower().split("_") if part]
    return " ".join(_PART.findall(name)).lower().split()


def identifiers(text: str) -> list[str]:
    """Every identifier-like word in `text`, in order, repeats included."""
    return _IDENT.findall(text)


def compounds(words: Iterable[str]) -> dict[str, str]:
    """The compound identifiers (camelCase, snake_case) among `words` -> their parts.

    Done for all of a file's words at once with C-level string operations: this runs on
    every indexed file, and a per-word Python loop dominated the indexing time.
    """
    found = _COMPOUND.findall("\n".join(words))
    if not found:
        return {}
    split = _BOUNDARY.sub(" ", "\n".join(found)).replace("_", " ").lower().split("\n")
    return dict(zip(found, split, strict=True))


def expansion(words: set[str], known: dict[str, str]) -> str:
    """The parts of the compounds among `words` (`known` = compounds() of the whole file)."""
    return " ".join(map(known.__getitem__, known.keys() & words))


def name_terms(name: str) -> str:
    """A symbol or path name with its parts, for the weighted FTS columns."""
    words = _WORD.findall(name)
    parts = {p for word in words for p in split_identifier(word)}
    return " ".join([*words, *sorted(parts - set(words))])


def query_terms(query: str) -> list[str]:
    """The distinct search terms of a query: whole words and their parts, minus stopwords."""
    terms: list[str] = []
    for word in _WORD.findall(query):
        lowered = word.lower()
        candidates = [lowered, *split_identifier(word)] if len(word) > 1 else []
        for term in candidates:
            if term not in STOPWORDS and term not in terms and len(term) > 1:
                terms.append(term)
    return terms[:MAX_QUERY_TERMS]


def fts_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: any of the terms (each quoted, so no operator can leak in)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
