"""Games with words."""


def reverse_words(sentence: str) -> str:
    """The words of sentence in reverse order."""
    return " ".join(reversed(sentence.split()))


def vowel_count(word: str) -> int:
    return sum(1 for ch in word.lower() if ch in "aeiou")


def is_palindrome(text: str) -> bool:
    """True when text reads the same backwards, ignoring case, spaces and punctuation."""
    letters = [ch.lower() for ch in text if ch.isalnum()]
    return letters == letters[::-1]
