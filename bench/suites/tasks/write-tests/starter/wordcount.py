"""Count words in text."""

import re


def words(text: str) -> list[str]:
    """The lowercase words of text (letters and apostrophes)."""
    return re.findall(r"[a-z']+", text.lower())


def top_words(text: str, n: int) -> list[tuple[str, int]]:
    """The n most frequent words with their counts, most frequent first, ties alphabetical."""
    counts: dict[str, int] = {}
    for word in words(text):
        counts[word] = counts.get(word, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
