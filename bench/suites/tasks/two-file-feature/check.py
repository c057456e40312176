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
shapes = load(ws, "shapes")
square = call(attr(shapes, "Square"), 3)
expect(call(square.area) == 9, "Square(3).area() is not 9")
for argv, want in (
    (["square", "2.5"], "6.25"),
    (["circle", "1"], "3.14"),
    (["rectangle", "2", "3"], "6.00"),
):
    result = python(ws, "main.py", *argv)
    expect(
        result.returncode == 0 and result.stdout.strip() == want,
        f"python main.py {' '.join(argv)} printed {result.stdout!r}, expected {want} "
        f"{result.stderr[-300:]!r}",
    )
passed()
