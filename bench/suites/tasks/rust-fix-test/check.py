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
lib = (ws / "src" / "lib.rs").read_text()
expect("fn freezing_point" in lib and "fn boiling_point" in lib, "the original tests were removed")
hidden = """use thermo::{celsius_to_fahrenheit, fahrenheit_to_celsius};

#[test]
fn hidden_body_temperature() {
    assert!((celsius_to_fahrenheit(37.0) - 98.6).abs() < 1e-9);
    assert!((fahrenheit_to_celsius(212.0) - 100.0).abs() < 1e-9);
}
"""
result = run(
    ["cargo", "test", "--offline", "-q"], copy_with(ws, {"tests/hidden.rs": hidden}), timeout=300
)
expect(result.returncode == 0, "cargo test fails:\n" + (result.stdout + result.stderr)[-800:])
passed()
