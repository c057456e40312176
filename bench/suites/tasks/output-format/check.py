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
result = python(ws, "scores.py")
lines = [line.strip() for line in result.stdout.strip().splitlines()]
want = ["name,score", "kwame,58", "ines,42", "bo,17"]
expect(
    lines == want, f"python scores.py printed {lines!r}, expected {want!r} {result.stderr[-300:]}"
)
scores = load(ws, "scores")
expect(call(attr(scores, "ranked"), {"a": 1, "b": 2}) == [("b", 2), ("a", 1)], "ranked() is gone")
passed()
