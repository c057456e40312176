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
slugify = attr(load(ws, "textutil"), "slugify")
cases = {
    "Hello, World!": "hello-world",
    "  Multiple   spaces ": "multiple-spaces",
    "--Already-Slugged--": "already-slugged",
    "Rust & Go 2024": "rust-go-2024",
    "": "",
}
for given, want in cases.items():
    got = call(slugify, given)
    expect(got == want, f"slugify({given!r}) returned {got!r}, expected {want!r}")
expect(starter(__file__, "publish.py") == (ws / "publish.py").read_text(), "publish.py was changed")
passed()
