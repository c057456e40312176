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
import tempfile  # noqa: E402

settings = load(ws, "settings")
sample = Path(tempfile.mkdtemp()) / "hidden.conf"
sample.write_text("# comment\n\n  user = ana  \nretries=3\n# port=1\ntoken = a=b\n")
got = call(attr(settings, "load_config"), str(sample))
want = {"user": "ana", "retries": "3", "token": "a=b"}
expect(got == want, f"load_config on a hidden file returned {got!r}, expected {want!r}")
expect(
    call(attr(settings, "merged"), {"port": "2525"}) == {"host": "localhost", "port": "2525"},
    "merged() is gone or broken",
)
passed()
