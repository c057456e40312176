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
mathx = load(ws, "mathx")
average = attr(mathx, "average")
expect(call(average, []) == 0.0, "average([]) is not 0.0")
expect(call(average, [2, 3, 7]) == 4, "average([2, 3, 7]) is not 4")
expect(call(attr(mathx, "clamp"), 12, 0, 10) == 10, "clamp() is gone or broken")
passed()
