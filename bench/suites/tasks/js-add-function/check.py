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
script = """
const assert = require('node:assert');
const m = require('./mathlib.js');
assert.strictEqual(typeof m.product, 'function', 'product is not exported');
assert.strictEqual(m.product([2, 3, 4]), 24);
assert.strictEqual(m.product([]), 1);
assert.strictEqual(m.sum([1, 2]), 3, 'sum is gone');
assert.strictEqual(m.max([1, 9, 2]), 9, 'max is gone');
"""
result = run(["node", "-e", script], ws)
expect(result.returncode == 0, "node check failed:\n" + result.stderr[-600:])
passed()
