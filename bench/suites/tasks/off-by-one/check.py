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
pagination = load(ws, "pagination")
page = attr(pagination, "page")
items = list(range(1, 11))
for number, want in ((1, [1, 2, 3]), (2, [4, 5, 6]), (4, [10]), (5, [])):
    got = call(page, items, number, 3)
    expect(got == want, f"page(1..10, {number}, 3) returned {got!r}, expected {want!r}")
expect(call(attr(pagination, "page_count"), 10, 3) == 4, "page_count() is gone or broken")
passed()
