import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from checklib import (  # noqa: F401
    attr,
    call,
    copy_with,
    expect,
    fail,
    load,
    passed,
    python,
    run,
    starter,
    workspace,
)

ws = workspace()
wordplay = load(ws, "wordplay")
is_palindrome = attr(wordplay, "is_palindrome")
expect((is_palindrome.__doc__ or "").strip(), "is_palindrome has no docstring")
for text, want in (
    ("A man, a plan, a canal: Panama", True),
    ("Never odd or even", True),
    ("kayak", True),
    ("palindrome", False),
    ("ab", False),
):
    got = call(is_palindrome, text)
    expect(got is want or got == want, f"is_palindrome({text!r}) returned {got!r}, expected {want}")
expect(call(attr(wordplay, "reverse_words"), "a b c") == "c b a", "reverse_words() is gone")
expect(call(attr(wordplay, "vowel_count"), "Queue") == 4, "vowel_count() is gone")
passed()
