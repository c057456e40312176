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
scratch = copy_with(ws, {"test.js": starter(__file__, "test.js")})
result = run(["node", "test.js"], scratch)
expect(result.returncode == 0, "node test.js (the original tests) fails:\n" + result.stdout[-600:])
hidden = (
    "const {titleCase} = require('./titlecase.js'); const a = require('node:assert');"
    "a.strictEqual(titleCase('a tale of two'), 'A Tale Of Two');"
)
result = run(["node", "-e", hidden], ws)
expect(result.returncode == 0, "titleCase fails a hidden case:\n" + result.stderr[-400:])
passed()
