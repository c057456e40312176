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
for path in sorted(ws.rglob("*.py")):
    if ".git" in path.parts or ".ca" in path.parts:
        continue
    expect("calc_total" not in path.read_text(), f"{path.relative_to(ws)} still says calc_total")
orders = load(ws, "orders")
expect(call(attr(orders, "order_total"), [(2, 1.5)]) == 3.0, "order_total() is wrong")
expect(call(attr(orders, "line_count"), [(2, 1.5), (3, 1.0)]) == 5, "line_count() is gone")
result = python(ws, "invoice.py")
expect(
    result.stdout.split() == ["items:", "7", "total:", "18.00"],
    f"python invoice.py printed {result.stdout!r} {result.stderr[-400:]!r}",
)
tests = python(ws, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
expect(tests.returncode == 0, "the tests fail:\n" + tests.stdout[-600:])
expect("order_total" in (ws / "tests" / "test_orders.py").read_text(), "the test was removed")
passed()
