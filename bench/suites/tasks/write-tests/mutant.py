"""A wrong wordcount: tests worth the name must fail against it."""

import re


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text)


def top_words(text: str, n: int) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for word in words(text):
        counts[word] = counts.get(word, 0) + 1
    return sorted(counts.items(), key=lambda item: item[1])[:n]
