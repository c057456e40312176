"""Games with words."""


def reverse_words(sentence: str) -> str:
    """The words of sentence in reverse order."""
    return " ".join(reversed(sentence.split()))


def vowel_count(word: str) -> int:
    return sum(1 for ch in word.lower() if ch in "aeiou")
