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
    (ws / "wordcount.py").read_text() == starter(__file__, "wordcount.py"),
    "wordcount.py was changed",
)
expect((ws / "test_wordcount.py").is_file(), "test_wordcount.py is missing")
good = python(ws, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_wordcount.py")
expect(good.returncode == 0, "the tests do not pass on wordcount.py:\n" + good.stdout[-600:])
expect(" passed" in good.stdout, "no test ran")
mutant = (Path(__file__).parent / "mutant.py").read_text()
bad = python(
    copy_with(ws, {"wordcount.py": mutant}),
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "test_wordcount.py",
)
expect(bad.returncode != 0, "the tests also pass on a broken wordcount.py; they check nothing")
passed()
