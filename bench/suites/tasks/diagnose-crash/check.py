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
expect(
    (ws / "timesheet.csv").read_text() == starter(__file__, "timesheet.csv"),
    "timesheet.csv was changed; the program must cope with the data as it is",
)
result = python(ws, "report.py")
expect(result.returncode == 0, "python report.py still fails:\n" + result.stderr[-600:])
lines = result.stdout.strip().splitlines()
expect(
    lines == ["jonas: 12.2", "mira: 9.5"] or lines == ["jonas: 12.3", "mira: 9.5"],
    f"report.py printed {lines!r}, expected jonas: 12.2 and mira: 9.5",
)
passed()
