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
plain = python(ws, "greet.py", "Priya")
expect(
    plain.returncode == 0 and plain.stdout.strip() == "Hello, Priya!",
    f"python greet.py Priya printed {plain.stdout!r} {plain.stderr[-300:]!r}",
)
loud = python(ws, "greet.py", "--shout", "Priya")
expect(
    loud.returncode == 0 and loud.stdout.strip() == "HELLO, PRIYA!",
    f"python greet.py --shout Priya printed {loud.stdout!r} {loud.stderr[-300:]!r}",
)
after = python(ws, "greet.py", "Omar", "--shout")
expect(after.stdout.strip() == "HELLO, OMAR!", f"flag after the name printed {after.stdout!r}")
passed()
