from wordcount import top_words, words


def test_words_lowercase():
    assert words("The cat, the HAT") == ["the", "cat", "the", "hat"]


def test_top_words_order():
    assert top_words("b a b c a b", 2) == [("b", 3), ("a", 2)]


def test_top_words_ties():
    assert top_words("y x", 2) == [("x", 1), ("y", 1)]
