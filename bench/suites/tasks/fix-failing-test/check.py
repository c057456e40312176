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
scratch = copy_with(ws, {"test_pricing.py": starter(__file__, "test_pricing.py")})
result = python(scratch, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pricing.py")
expect(result.returncode == 0, "the original tests still fail:\n" + result.stdout[-800:])
pricing = load(ws, "pricing")
got = call(attr(pricing, "apply_discount"), 80.0, 25)
expect(got == 60.0, f"apply_discount(80, 25) returned {got!r}, expected 60.0")
expect(call(attr(pricing, "total"), [0.1, 0.2]) == 0.3, "total() changed behaviour")
passed()
