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
hidden = """use letters::{count_uppercase, count_vowels, reversed};

#[test]
fn hidden_vowels() {
    assert_eq!(count_vowels("Education"), 5);
    assert_eq!(count_vowels("rhythm"), 0);
    assert_eq!(count_vowels("AEIOU aeiou"), 10);
}

#[test]
fn hidden_kept() {
    assert_eq!(count_uppercase("HeLLo"), 3);
    assert_eq!(reversed("abc"), "cba");
}
"""
result = run(
    ["cargo", "test", "--offline", "-q"], copy_with(ws, {"tests/hidden.rs": hidden}), timeout=300
)
expect(result.returncode == 0, "cargo test fails:\n" + (result.stdout + result.stderr)[-800:])
passed()
