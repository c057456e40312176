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
stats = load(ws, "stats")
got = call(attr(stats, "variance"), [1, 2, 3, 4])
expect(abs(got - 1.25) < 1e-9, f"variance([1, 2, 3, 4]) returned {got!r}, expected 1.25")
got = call(attr(stats, "variance"), [5, 5, 5])
expect(abs(got) < 1e-9, f"variance([5, 5, 5]) returned {got!r}, expected 0")
expect(call(attr(stats, "mean"), [2, 4]) == 3, "mean() is gone or broken")
expect(call(attr(stats, "median"), [3, 1, 2, 10]) == 2.5, "median() is gone or broken")
passed()
