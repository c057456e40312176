"""The file tools on real files: exact outputs, confinement, atomic writes, edit recovery."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from code_assistant.backends.base import ToolCall
from code_assistant.errors import ToolError
from code_assistant.tools.approval import Approver
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.edits import apply_edit
from code_assistant.tools.files import edit_file, read_file, write_file
from code_assistant.tools.listing import glob_files, list_dir
from code_assistant.tools.registry import ToolContext, ToolRegistry
from code_assistant.tools.textfile import unified_diff

CODE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "calc.py").write_text(CODE)
    (tmp_path / "outside.txt").write_text("outside\n")
    return project


@pytest.fixture
def ctx(root: Path) -> ToolContext:
    return ToolContext(root=root)


class Recorder:
    """An ask() for the real Approver that records what it was shown and answers as told."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, tool: str, summary: str, detail: str) -> str:
        self.seen.append((tool, summary, detail))
        return self.answer


def asking(root: Path, answer: str) -> tuple[ToolContext, Recorder]:
    recorder = Recorder(answer)
    return ToolContext(root=root, approver=Approver(policy="ask", ask=recorder)), recorder


# --- read_file -------------------------------------------------------------------------------


def test_read_file_numbers_lines(ctx: ToolContext) -> None:
    assert read_file(ctx, "src/calc.py") == (
        "    1 | def add(a, b):\n"
        "    2 |     return a + b\n"
        "    3 | \n"
        "    4 | \n"
        "    5 | def sub(a, b):\n"
        "    6 |     return a - b"
    )


def test_read_file_range(ctx: ToolContext) -> None:
    assert read_file(ctx, "src/calc.py", start_line=5, end_line=6) == (
        "    5 | def sub(a, b):\n    6 |     return a - b"
    )
    assert read_file(ctx, "src/calc.py", start_line=6) == "    6 |     return a - b"


def test_read_file_range_errors(ctx: ToolContext) -> None:
    past_end = re.escape("start_line 40 is past the end of src/calc.py (6 lines)")
    with pytest.raises(ToolError, match=past_end):
        read_file(ctx, "src/calc.py", start_line=40)
    with pytest.raises(ToolError, match="must not be before"):
        read_file(ctx, "src/calc.py", start_line=4, end_line=2)
    with pytest.raises(ToolError, match="1 or more"):
        read_file(ctx, "src/calc.py", start_line=0)


def test_read_file_crlf_and_missing_final_newline(root: Path, ctx: ToolContext) -> None:
    (root / "win.txt").write_bytes(b"one\r\ntwo\r\nthree")
    assert read_file(ctx, "win.txt") == "    1 | one\n    2 | two\n    3 | three"


def test_read_empty_file_and_directory(root: Path, ctx: ToolContext) -> None:
    (root / "empty.txt").write_text("")
    assert read_file(ctx, "empty.txt") == "(empty.txt is empty)"
    with pytest.raises(ToolError, match="src is a directory; use list_dir"):
        read_file(ctx, "src")


def test_read_fifo_is_refused_without_blocking(root: Path, ctx: ToolContext) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolError, match="pipe is not a regular file"):
        read_file(ctx, "pipe")
    with pytest.raises(ToolError, match="pipe is not a regular file"):
        edit_file(ctx, "pipe", "a", "b")


def test_read_binary_file_is_refused(root: Path, ctx: ToolContext) -> None:
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8")
    with pytest.raises(ToolError, match=r"logo.png is a binary file \(not UTF-8 text\)"):
        read_file(ctx, "logo.png")


def test_read_latin1_text_with_note(root: Path, ctx: ToolContext) -> None:
    (root / "old.c").write_bytes("/* caf\xe9 */\nint x;\n".encode("latin-1"))
    assert read_file(ctx, "old.c") == (
        "note: old.c is not UTF-8; shown as Latin-1\n    1 | /* café */\n    2 | int x;"
    )


def test_read_cuts_very_long_lines(root: Path, ctx: ToolContext) -> None:
    (root / "min.js").write_text("é" * 1_000_000 + "\nnext\n")
    out = read_file(ctx, "min.js")
    first, second = out.split("\n")
    assert first == "    1 | " + "é" * 2000 + " [... long line cut ...]"
    assert second == "    2 | next"


def test_read_huge_file_is_bounded_and_fast(root: Path, ctx: ToolContext) -> None:
    line = b"x" * 79 + b"\n"
    with (root / "big.log").open("wb") as out:
        out.write(line * (50 * 1024 * 1024 // len(line)))
    assert (root / "big.log").stat().st_size >= 50 * 1024 * 1024 - 80
    tracemalloc.start()
    started = time.monotonic()
    try:
        out = read_file(ctx, "big.log")
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    lines = out.split("\n")
    assert len(lines) == 2001
    assert lines[1999] == " 2000 | " + "x" * 79
    assert lines[-1] == (
        "[big.log continues: this shows lines 1-2000 of 655,360 lines, 50.0 MB; read_file "
        "returns at most 2000 lines or 256 KB at a time. Call read_file again with "
        "start_line=2001 to read on, or use start_line/end_line for the part you need.]"
    )
    assert elapsed < 2.0
    assert peak < 8 * 1024 * 1024  # never the whole 50 MB in memory
    deep = read_file(ctx, "big.log", start_line=600_000, end_line=600_001)
    assert deep == f"600000 | {'x' * 79}\n600001 | {'x' * 79}"


def test_read_byte_cap_pages_by_size(root: Path, ctx: ToolContext) -> None:
    (root / "wide.txt").write_text(("y" * 999 + "\n") * 1000)
    out = read_file(ctx, "wide.txt")
    assert "this shows lines 1-263 of 1,000 lines" in out
    assert "start_line=264" in out


def test_read_missing_file_suggests(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=re.escape("did you mean src/calc.py")):
        read_file(ctx, "calc.py")


def test_read_with_wrong_cwd_says_so(ctx: ToolContext) -> None:
    out = read_file(ctx, "proj/src/calc.py", end_line=1)
    assert out.splitlines() == [
        f"note: 'proj/src/calc.py' was taken as 'src/calc.py': paths are relative to the "
        f"project root {ctx.root.resolve()}",
        "    1 | def add(a, b):",
    ]


# --- confinement -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "link/outside.txt", "evil"])
def test_every_file_tool_refuses_escapes(root: Path, ctx: ToolContext, path: str) -> None:
    (root / "link").symlink_to(root.parent)
    (root / "evil").symlink_to(root.parent / "outside.txt")
    outside = root.parent / "outside.txt"
    before = outside.read_bytes()
    with pytest.raises(ToolError, match="outside the project root"):
        read_file(ctx, path)
    with pytest.raises(ToolError, match="outside the project root"):
        write_file(ctx, path, "pwned\n")
    with pytest.raises(ToolError, match="outside the project root"):
        edit_file(ctx, path, "outside", "pwned")
    assert outside.read_bytes() == before
    assert ctx.changes == []
    assert sorted(p.name for p in root.parent.iterdir()) == ["outside.txt", "proj"]


def test_list_dir_refuses_escape(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="outside the project root"):
        list_dir(ctx, "..")


# --- write_file ------------------------------------------------------------------------------


def test_write_new_file_creates_directories(root: Path, ctx: ToolContext) -> None:
    assert write_file(ctx, "pkg/sub/mod.py", "x = 1\ny = 2\n") == (
        "wrote pkg/sub/mod.py (2 lines, +2 -0)"
    )
    assert (root / "pkg" / "sub" / "mod.py").read_text() == "x = 1\ny = 2\n"
    assert [(c.path, c.before, c.after) for c in ctx.changes] == [
        ("pkg/sub/mod.py", None, b"x = 1\ny = 2\n")
    ]
    assert (root / "pkg" / "sub" / "mod.py").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return 0o022


def test_overwrite_shows_diff_to_approver_and_keeps_mode(root: Path) -> None:
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho old\n")
    script.chmod(0o755)
    ctx, recorder = asking(root, "y")
    read_file(ctx, "run.sh")
    assert write_file(ctx, "run.sh", "#!/bin/sh\necho new\n") == "wrote run.sh (2 lines, +1 -1)"
    assert script.stat().st_mode & 0o777 == 0o755
    assert script.read_text() == "#!/bin/sh\necho new\n"
    assert recorder.seen == [(
        "write_file",
        "run.sh",
        "--- a/run.sh\n+++ b/run.sh\n@@ -1,2 +1,2 @@\n #!/bin/sh\n-echo old\n+echo new",
    )]
    assert ctx.changes[0].before == b"#!/bin/sh\necho old\n"


def test_one_diff_for_the_approver_and_for_what_is_on_disk() -> None:
    before, after = b"one\ntwo\nend", b"one\r\nTWO\r\nend"
    # The approver reads text: only the changed word shows, lines joined by "\n".
    assert unified_diff("f", before.decode(), after.decode()) == (
        "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n end"
    )
    # On disk the line endings changed too; every line of the diff ends in a newline, even
    # the file's last line, which has none.
    assert unified_diff("f", before, after, line_ends=True) == (
        "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-one\n-two\n+one\r\n+TWO\r\n end\n"
    )
    assert unified_diff("f", None, b"x\n", line_ends=True) == (
        "--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+x\n"
    )


def test_overwriting_an_unread_file_is_refused_with_its_content(
    root: Path, ctx: ToolContext
) -> None:
    with pytest.raises(ToolError) as refused:
        write_file(ctx, "src/calc.py", "def mul(a, b):\n    return a * b\n")
    message = str(refused.value)
    assert message.startswith("src/calc.py already exists and you have not read it")
    assert "call edit_file" in message and "read_file on src/calc.py first" in message
    # The current content comes back numbered like read_file, so edit_file's old can be copied.
    assert message.endswith(
        "It now holds 6 lines:\n    1 | def add(a, b):\n    2 |     return a + b\n    3 | \n"
        "    4 | \n    5 | def sub(a, b):\n    6 |     return a - b"
    )
    assert (root / "src" / "calc.py").read_text() == CODE
    assert ctx.changes == []


def test_overwrite_is_allowed_after_read_file_or_an_own_write(
    root: Path, ctx: ToolContext
) -> None:
    read_file(ctx, "src/calc.py", start_line=1, end_line=2)
    assert write_file(ctx, "src/calc.py", CODE.replace("a + b", "b + a")).startswith(
        "wrote src/calc.py")
    assert write_file(ctx, "made.py", "a = 1\n") == "wrote made.py (1 line, +1 -0)"
    assert write_file(ctx, "made.py", "a = 2\n").startswith("wrote made.py")  # its own file
    # A fresh context (the next task) has seen neither file.
    later = ToolContext(root=root)
    for path in ("made.py", "src/calc.py"):
        with pytest.raises(ToolError, match="you have not read it"):
            write_file(later, path, "y = 2\n")


def test_an_edit_with_old_equal_to_new_says_whether_the_change_is_made(
    root: Path, ctx: ToolContext
) -> None:
    # Untouched in this task: the lines are there as they were, so nothing is "made".
    with pytest.raises(ToolError, match=r"holds this text \(lines 2-2\) as it was when the task"
                       ) as unchanged:
        edit_file(ctx, "src/calc.py", "return a + b", "return a + b")
    assert "the change is made" not in str(unchanged.value)
    # 1.5B on diagnose-crash: old == new copied with read_file's unpadded line numbers.
    numbered = "5 | def sub(a, b):\n6 |     return a - b\n"
    with pytest.raises(ToolError, match=r"holds this text \(lines 5-6\)"):
        edit_file(ctx, "src/calc.py", numbered, numbered)
    edit_file(ctx, "src/calc.py", "return a + b", "return b + a")
    with pytest.raises(ToolError, match=r"already holds this text \(lines 2-2\): the change is"):
        edit_file(ctx, "src/calc.py", "return b + a", "return b + a")
    with pytest.raises(ToolError) as missing:
        edit_file(ctx, "src/calc.py", "def mul(a, b):", "def mul(a, b):")
    assert "does not hold this text. Call read_file on it, then set old to the lines" in str(
        missing.value)
    assert "the change is made" not in str(missing.value)


def test_a_rewrite_that_drops_functions_says_so(root: Path, ctx: ToolContext) -> None:
    read_file(ctx, "src/calc.py")
    kept = "def add(a, b):\n    return a + b\n\n\nclass Mul:\n    pass\n"
    out = write_file(ctx, "src/calc.py", kept)
    assert out == (
        "wrote src/calc.py (6 lines, +2 -2). This removed sub from src/calc.py. If the task "
        "did not ask to remove them, put them back with edit_file now."
    )
    again = write_file(ctx, "src/calc.py", CODE + "\n\nclass Mul:\n    pass\n")
    assert again.startswith("wrote src/calc.py") and "removed" not in again


def test_an_empty_file_may_be_filled_without_reading(root: Path, ctx: ToolContext) -> None:
    (root / "empty.py").write_text("")
    assert write_file(ctx, "empty.py", "z = 1\n") == "wrote empty.py (1 line, +1 -0)"


def test_a_long_unread_file_shows_its_head_only(root: Path, ctx: ToolContext) -> None:
    (root / "long.py").write_text("".join(f"v{i} = {i}\n" for i in range(1, 101)))
    with pytest.raises(ToolError) as refused:
        write_file(ctx, "long.py", "gone = True\n")
    message = str(refused.value)
    assert "It now holds 100 lines:" in message and "   40 | v40 = 40" in message
    assert "v41 = 41" not in message
    assert message.endswith("[... 60 more lines: call read_file to see them]")


def test_write_denied_changes_nothing(root: Path) -> None:
    ctx, recorder = asking(root, "n")
    with pytest.raises(ToolError, match=re.escape("the user denied write_file: new/file.py")):
        write_file(ctx, "new/file.py", "data\n")
    assert not (root / "new").exists()
    assert ctx.changes == []
    assert recorder.seen[0][2] == "--- /dev/null\n+++ b/new/file.py\n@@ -0,0 +1 @@\n+data"


def test_write_same_content_is_a_no_op(root: Path, ctx: ToolContext) -> None:
    assert write_file(ctx, "src/calc.py", CODE).startswith(
        "src/calc.py already has exactly this content; nothing written. The file is done"
    )
    assert ctx.changes == []


def test_write_keeps_crlf_line_endings(root: Path, ctx: ToolContext) -> None:
    (root / "win.txt").write_bytes(b"a\r\nb\r\n")
    read_file(ctx, "win.txt")
    write_file(ctx, "win.txt", "a\nc\n")
    assert (root / "win.txt").read_bytes() == b"a\r\nc\r\n"


def test_write_keeps_latin1_unless_it_cannot(root: Path, ctx: ToolContext) -> None:
    (root / "old.c").write_bytes(b"/* caf\xe9 */\n")
    read_file(ctx, "old.c")
    write_file(ctx, "old.c", "/* d\xe9j\xe0 */\n")
    assert (root / "old.c").read_bytes() == b"/* d\xe9j\xe0 */\n"
    write_file(ctx, "old.c", "/* \u2603 */\n")
    assert (root / "old.c").read_bytes() == "/* \u2603 */\n".encode()


def test_write_over_fifo_is_refused(root: Path, ctx: ToolContext) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        write_file(ctx, "pipe", "x")


def test_write_to_directory_or_through_file_fails_cleanly(root: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="src is a directory"):
        write_file(ctx, "src", "x")
    with pytest.raises(ToolError, match=re.escape("could not write src/calc.py/inner.py")):
        write_file(ctx, "src/calc.py/inner.py", "x")
    assert (root / "src" / "calc.py").read_text() == CODE
    assert sorted(p.name for p in (root / "src").iterdir()) == ["calc.py"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_write_into_read_only_directory_leaves_nothing(root: Path, ctx: ToolContext) -> None:
    locked = root / "locked"
    locked.mkdir()
    (locked / "f.txt").write_text("old\n")
    locked.chmod(0o555)
    read_file(ctx, "locked/f.txt")
    try:
        with pytest.raises(ToolError, match=re.escape("could not write locked/f.txt")):
            write_file(ctx, "locked/f.txt", "new\n")
        assert sorted(p.name for p in locked.iterdir()) == ["f.txt"]
        assert (locked / "f.txt").read_text() == "old\n"
    finally:
        locked.chmod(0o755)


_FAILING_WRITE = """
import resource, signal, sys
from pathlib import Path
from code_assistant.errors import ToolError
from code_assistant.tools.files import write_file
from code_assistant.tools.registry import ToolContext
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
ctx = ToolContext(root=Path(sys.argv[1]), seen_files={"keep.txt"})
for target in sys.argv[2:]:
    try:
        print(write_file(ctx, target, "z" * 100_000))
    except ToolError as exc:
        print("ToolError:", exc)
print(len(ctx.changes))
"""


def test_write_failure_midway_leaves_nothing_partial(root: Path) -> None:
    # A file-size limit makes the write itself fail halfway, even for root.
    (root / "keep.txt").write_text("precious\n")
    (root / "keep.txt").chmod(0o640)
    done = subprocess.run(
        [sys.executable, "-c", _FAILING_WRITE, str(root), "keep.txt", "fresh/deep/new.txt"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert done.stdout.splitlines() == [
        "ToolError: could not write keep.txt: File too large; the file was not changed",
        "ToolError: could not write fresh/deep/new.txt: File too large; the file was not changed",
        "0",
    ]
    assert (root / "keep.txt").read_text() == "precious\n"
    assert (root / "keep.txt").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in root.iterdir()) == ["keep.txt", "src"]


# --- edit_file -------------------------------------------------------------------------------


def test_edit_replaces_unique_text(root: Path, ctx: ToolContext) -> None:
    out = edit_file(ctx, "src/calc.py", "return a - b", "return a - b - 0")
    assert out == (
        "edited src/calc.py (+1 -1); lines 4-6 now read:\n"
        "    4 | \n"
        "    5 | def sub(a, b):\n"
        "    6 |     return a - b - 0"
    )
    assert (root / "src" / "calc.py").read_text() == CODE.replace("a - b", "a - b - 0")
    assert ctx.changes[0].before == CODE.encode()


def test_edit_no_match_shows_closest_region(root: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as info:
        edit_file(ctx, "src/calc.py", "def sub(x, y):\n    return x - y\n", "pass\n")
    message = str(info.value)
    assert message.startswith(
        "src/calc.py: old was not found in the file. The most similar part is lines 5-6 ("
    )
    assert message.endswith(
        "alike), shown with context:\n"
        "    3 | \n"
        "    4 | \n"
        "    5 | def sub(a, b):\n"
        "    6 |     return a - b\n"
        "Copy the exact current text (without the line-number prefixes) into old and "
        "call edit_file again."
    )
    assert (root / "src" / "calc.py").read_text() == CODE


BANK = ('"""A tiny bank account."""\n\n\nclass Account:\n    def __init__(self) -> None:\n'
        '        self.balance = 0.0\n\n    def deposit(self, amount: float) -> None:\n'
        '        self.balance += amount\n')


def test_an_old_that_guesses_the_method_to_add_adds_new_to_the_class(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B, "add a withdraw method": old was a made-up withdraw, new the one it meant,
    # both indented 8 spaces; it sent that edit three times and got stuck.
    (root / "bank.py").write_text(BANK)
    guess = "        def withdraw(self, amount):\n           self.balance += amount"
    meant = ("\n        def withdraw(self, amount):\n            if amount > self.balance:\n"
             "                raise ValueError('too much')\n            self.balance -= amount")
    out = edit_file(ctx, "bank.py", guess, meant)
    assert out.startswith(
        "note: old is not in bank.py and both old and new define withdraw, which bank.py does "
        "not have yet, so new was added as new code; new was added at the end of class "
        "Account\nedited bank.py (+5 -0); lines 9-14 now read:")
    assert (root / "bank.py").read_text() == BANK + (
        "\n    def withdraw(self, amount):\n        if amount > self.balance:\n"
        "            raise ValueError('too much')\n        self.balance -= amount\n")


def test_an_old_that_defines_what_the_file_has_is_still_not_found(
    root: Path, ctx: ToolContext
) -> None:
    (root / "bank.py").write_text(BANK)
    with pytest.raises(ToolError, match="old was not found"):
        edit_file(ctx, "bank.py", "    def deposit(self, x):\n        pass",
                  "    def deposit(self, x):\n        self.balance += x")
    assert (root / "bank.py").read_text() == BANK


def test_an_indented_def_added_with_an_empty_old_goes_into_the_only_class(
    root: Path, ctx: ToolContext
) -> None:
    (root / "bank.py").write_text(BANK + "\n\nif __name__ == '__main__':\n    Account()\n")
    edit_file(ctx, "bank.py", "", "  def reset(self):\n      self.balance = 0.0\n")
    assert (root / "bank.py").read_text() == BANK + (
        "\n    def reset(self):\n        self.balance = 0.0\n"
        "\n\nif __name__ == '__main__':\n    Account()\n")


def test_edit_nothing_similar(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="no part of it is similar"):
        edit_file(ctx, "src/calc.py", "zzzzzzzzzzzzzzzzzzzzzzzzzz", "q")


def test_edit_multiple_matches_reports_count_and_lines(root: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as info:
        edit_file(ctx, "src/calc.py", "(a, b):", "(a, b, c):")
    assert str(info.value) == (
        "src/calc.py: old matches exactly 2 places (starting at lines 1, 5); add more "
        "surrounding lines to old so that it matches only the place you mean"
    )
    assert (root / "src" / "calc.py").read_text() == CODE


def test_edit_tolerates_indentation_and_reindents(root: Path, ctx: ToolContext) -> None:
    old = "    def sub(a, b):\n        return a - b\n"
    new = "    def sub(a, b):\n        c = a - b\n        return c\n"
    out = edit_file(ctx, "src/calc.py", old, new)
    assert out.splitlines()[0] == (
        "note: old matched lines 5-6 only after ignoring whitespace differences (indentation "
        "or trailing spaces); new was re-indented to match the file"
    )
    assert (root / "src" / "calc.py").read_text() == CODE.replace(
        "    return a - b", "    c = a - b\n    return c"
    )


def test_edit_adds_missing_indentation(root: Path, ctx: ToolContext) -> None:
    (root / "k.py").write_text("class K:\n    def f(self):\n        return 1\n")
    edit_file(ctx, "k.py", "def f(self):\n    return 1", "def f(self):\n    return 2")
    assert (root / "k.py").read_text() == "class K:\n    def f(self):\n        return 2\n"


def test_edit_refuses_inconsistent_indentation(root: Path, ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as info:
        edit_file(ctx, "src/calc.py", "def add(a, b):\n        return a + b\n\n\n"
                  "def sub(a, b):\n  return a - b", "def sub(a, b):\nreturn b")
    assert str(info.value) == (
        "src/calc.py: old matches lines 1-6 only when indentation is ignored, and its "
        "indentation differs from the file's in different ways line by line. Copy these "
        "lines exactly:\n    1 | def add(a, b):\n    2 |     return a + b\n    3 | \n    4 | \n"
        "    5 | def sub(a, b):\n    6 |     return a - b"
    )
    assert (root / "src" / "calc.py").read_text() == CODE


PAGES = ('def page(items, number, size):\n    """Page `number`."""\n'
         '    start = (number - 1) * size + 1\n    return items[start:start + size - 1]\n')


def test_edit_with_some_lines_numbered_and_each_indented_its_own_way(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on off-by-one (s26a), three times, then stuck: the def flush left, its
    # docstring 8 spaces in, the body with read_file's prefixes.
    (root / "p.py").write_text(PAGES)
    old = ('def page(items, number, size):\n        """Page `number`."""\n'
           '       3 |     start = (number - 1) * size + 1\n'
           '       4 |     return items[start:start + size - 1]')
    new = old.replace("start + size - 1]", "start + size]").replace(" + 1\n", "\n")
    out = edit_file(ctx, "p.py", old, new)
    assert out.startswith("note: removed read_file line-number prefixes from old; old matched "
                          "lines 1-4 only after ignoring whitespace differences (indentation "
                          "or trailing spaces); new was re-indented line by line")
    assert (root / "p.py").read_text() == PAGES.replace(" + 1\n", "\n").replace(
        "start + size - 1]", "start + size]")


def test_a_line_by_line_reindent_that_breaks_python_is_refused(
    root: Path, ctx: ToolContext
) -> None:
    (root / "p.py").write_text(PAGES)
    old = '  def page(items, number, size):\n        """Page `number`."""'
    new = '  def page(items, number, size):\n  """Page."""'  # the docstring would end at column 0
    with pytest.raises(ToolError, match="its indentation differs from the file's"):
        edit_file(ctx, "p.py", old, new)
    assert (root / "p.py").read_text() == PAGES


def test_edit_tolerates_trailing_spaces(root: Path, ctx: ToolContext) -> None:
    (root / "t.py").write_text("x = 1   \ny = 2\n")
    out = edit_file(ctx, "t.py", "x = 1\ny = 2\n", "x = 3\ny = 2\n")
    assert "after ignoring whitespace differences" in out
    assert "re-indented" not in out
    assert (root / "t.py").read_text() == "x = 3\ny = 2\n"


def test_edit_whitespace_match_must_be_unique(root: Path, ctx: ToolContext) -> None:
    (root / "t.py").write_text("if a:\n    go()\nif b:\n  go()\n")
    pattern = r"old matches \(ignoring whitespace\) 2 places .*lines 2, 4"
    with pytest.raises(ToolError, match=pattern):
        edit_file(ctx, "t.py", "\tgo()\n", "stop()\n")


def test_edit_strips_copied_line_numbers(root: Path, ctx: ToolContext) -> None:
    out = edit_file(ctx, "src/calc.py", "    2 |     return a + b\n", "    2 |     return b + a\n")
    assert out.startswith("note: removed read_file line-number prefixes from old\n")
    assert (root / "src" / "calc.py").read_text() == CODE.replace("a + b", "b + a")


def test_edit_crlf_file_with_lf_old(root: Path, ctx: ToolContext) -> None:
    (root / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    edit_file(ctx, "w.txt", "one\ntwo\n", "one\n2\n")
    assert (root / "w.txt").read_bytes() == b"one\r\n2\r\nthree\r\n"


def test_edit_latin1_file_round_trips(root: Path, ctx: ToolContext) -> None:
    (root / "old.c").write_bytes(b"/* caf\xe9 */\nint x;\n")
    edit_file(ctx, "old.c", "int x;", "int y;")
    assert (root / "old.c").read_bytes() == b"/* caf\xe9 */\nint y;\n"
    with pytest.raises(ToolError, match="Latin-1 cannot hold"):
        edit_file(ctx, "old.c", "int y;", "int \u2603;")


def test_edit_binary_and_bad_arguments(root: Path, ctx: ToolContext) -> None:
    (root / "b.bin").write_bytes(b"\x00\x01abc")
    with pytest.raises(ToolError, match="binary file"):
        edit_file(ctx, "b.bin", "abc", "def")
    with pytest.raises(ToolError, match="old and new are both empty"):
        edit_file(ctx, "src/calc.py", "", " \n")
    with pytest.raises(ToolError, match="the same"):
        edit_file(ctx, "src/calc.py", "add", "add")
    assert ctx.changes == []


def test_edit_denied_changes_nothing(root: Path) -> None:
    ctx, recorder = asking(root, "n")
    with pytest.raises(ToolError, match=re.escape("the user denied edit_file: src/calc.py")):
        edit_file(ctx, "src/calc.py", "a + b", "a * b")
    assert (root / "src" / "calc.py").read_text() == CODE
    assert "-    return a + b\n+    return a * b" in recorder.seen[0][2]


def test_edit_keeps_mode(root: Path, ctx: ToolContext) -> None:
    (root / "src" / "calc.py").chmod(0o700)
    edit_file(ctx, "src/calc.py", "a + b", "a * b")
    assert (root / "src" / "calc.py").stat().st_mode & 0o777 == 0o700


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab \t(){}", max_size=8), min_size=1, max_size=12),
    span=st.tuples(st.integers(0, 11), st.integers(1, 4)),
    new=st.text(alphabet="xy \n", max_size=10),
)
def test_unique_exact_edit_is_plain_replacement(
    lines: list[str], span: tuple[int, int], new: str
) -> None:
    text = "\n".join(lines) + "\n"
    first = min(span[0], len(lines) - 1)
    old = "\n".join(lines[first : first + span[1]])
    assume(old and text.count(old) == 1)
    edit = apply_edit(text, old, new)
    assert edit.text == text.replace(old, new)
    assert edit.first_line == text[: text.index(old)].count("\n") + 1
    assert edit.note == ""


# --- list_dir and glob_files ------------------------------------------------------------------


def test_list_dir(root: Path, ctx: ToolContext) -> None:
    (root / ".git").mkdir()
    (root / "docs").mkdir()
    (root / "README.md").write_text("x" * 1500)
    (root / "link").symlink_to("README.md")
    assert list_dir(ctx) == (
        "./ (4 entries)\ndocs/\nsrc/\nREADME.md  (1.5 KB)\nlink -> README.md"
    )
    assert list_dir(ctx, "src") == "src/ (1 entry)\ncalc.py  (66 B)"
    assert list_dir(ctx, "docs") == "docs/ is empty"


def test_list_dir_caps_entries(root: Path, ctx: ToolContext) -> None:
    many = root / "many"
    many.mkdir()
    for i in range(250):
        (many / f"f{i:03}").write_text("")
    lines = list_dir(ctx, "many").splitlines()
    assert lines[0] == "many/ (250 entries)"
    assert len(lines) == 202
    assert lines[-1] == "[... 50 more entries not shown; use glob_files to find files]"


def test_list_dir_errors(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="is a file, not a directory"):
        list_dir(ctx, "src/calc.py")
    with pytest.raises(ToolError, match="did you mean src/"):
        list_dir(ctx, "srcs")


def test_glob_files(root: Path, ctx: ToolContext) -> None:
    for name in ["src/pkg/deep.py", "tests/test_calc.py", "build/gen.py", ".git/hook.py",
                 "notes.txt"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    (root / ".gitignore").write_text("build/\n")
    assert glob_files(ctx, "*.py") == "src/calc.py\nsrc/pkg/deep.py\ntests/test_calc.py"
    assert glob_files(ctx, "**/*.py") == "src/calc.py\nsrc/pkg/deep.py\ntests/test_calc.py"
    assert glob_files(ctx, "src/*.py") == "src/calc.py"
    assert glob_files(ctx, "./tests/test_*.py") == "tests/test_calc.py"
    assert glob_files(ctx, f"{root}/src/*.py") == "src/calc.py"
    assert glob_files(ctx, "*.rs") == (
        "no files match '*.rs' (patterns are relative to the project root; ignored files "
        "are skipped)"
    )
    with pytest.raises(ToolError, match=re.escape("remove '..'")):
        glob_files(ctx, "../*.txt")
    with pytest.raises(ToolError, match="give a file name pattern"):
        glob_files(ctx, "  ")


def test_glob_caps_results(root: Path, ctx: ToolContext) -> None:
    for i in range(230):
        (root / "src" / f"m{i:03}.py").write_text("")
    lines = glob_files(ctx, "src/m*.py").splitlines()
    assert len(lines) == 201
    assert lines[0] == "src/m000.py"
    assert lines[-1] == "[... 30 more matches not shown; use a narrower pattern]"


# --- through the registry ---------------------------------------------------------------------


def test_builtin_tools_dispatch_through_registry(root: Path, ctx: ToolContext) -> None:
    registry = ToolRegistry(builtin_tools())
    assert registry.names == [
        "read_file", "write_file", "edit_file", "list_dir", "glob_files", "run_shell"
    ]
    assert [t.kind for t in registry] == ["read", "write", "write", "read", "read", "exec"]
    out = registry.dispatch(ToolCall("read_file", {"path": "src/calc.py", "start_line": "6"}), ctx)
    assert out.text == "    6 |     return a - b" and not out.failed
    registry.dispatch(ToolCall("write_file", {"path": "n.txt", "content": "hi\n"}), ctx)
    assert (root / "n.txt").read_text() == "hi\n"


# --- small-model edit shapes seen on real Qwen2.5-Coder runs ---------------------------------


def test_lines_after_the_first_indented_by_the_json_around_them_are_fixed(
    root: Path, ctx: ToolContext
) -> None:
    # 1.5B writes old/new inside a pretty-printed JSON block: every line after the first gets
    # the block's four spaces on top of its own.
    old = "def add(a, b):\n        return a + b\n    "
    new = "def add(a, b):\n        return a + b\n\n\ndef neg(a):\n        return -a\n    "
    assert "re-indented" in edit_file(ctx, "src/calc.py", old, new)
    assert (root / "src" / "calc.py").read_text() == CODE.replace(
        "\n\n\ndef sub", "\n\n\ndef neg(a):\n    return -a\n\n\ndef sub")


def test_an_empty_old_adds_new_at_the_end_or_before_the_main_block(
    root: Path, ctx: ToolContext
) -> None:
    out = edit_file(ctx, "src/calc.py", "", "def mul(a, b):\n    return a * b\n")
    assert "added at the end of the file" in out and "9 | def mul(a, b):" in out
    assert (root / "src" / "calc.py").read_text() == CODE + "\n\ndef mul(a, b):\n    return a * b\n"
    script = "def main():\n    print(1)\n\n\nif __name__ == '__main__':\n    main()\n"
    (root / "run.py").write_text(script)
    edit_file(ctx, "run.py", "", "\ndef helper():\n    return 2\n\n")
    text = (root / "run.py").read_text()
    assert text == script.replace("\n\n\nif", "\n\n\ndef helper():\n    return 2\n\n\nif")
    compile(text, "run.py", "exec")


def test_a_whole_file_write_that_guts_the_file_is_refused_but_a_rename_is_not(
    root: Path, ctx: ToolContext
) -> None:
    read_file(ctx, "src/calc.py")
    gutted = r"would delete add, sub from src/calc.py \(4 lines of code down"
    with pytest.raises(ToolError, match=gutted):
        write_file(ctx, "src/calc.py", "print('Hello, world!')\n")
    # constrained output from 1.5B on two-file-feature: numbers and blank lines
    with pytest.raises(ToolError, match="would delete add, sub"):
        write_file(ctx, "src/calc.py", "    23 \n\n    24 \n\n\n\n\n")
    assert (root / "src" / "calc.py").read_text() == CODE
    renamed = CODE.replace("def add", "def plus")
    assert write_file(ctx, "src/calc.py", renamed).startswith("wrote src/calc.py")
    assert (root / "src" / "calc.py").read_text() == renamed


def test_a_leading_blank_line_and_lost_indentation_still_match(
    root: Path, ctx: ToolContext
) -> None:
    # 1.5B writing tests: old "\nassert ...\nassert ...\n" for two indented lines of a test.
    (root / "test_w.py").write_text(
        "def test_top():\n    assert f(1) == [1]\n    assert f(2) == [2]\n")
    out = edit_file(ctx, "test_w.py", "\nassert f(1) == [1]\nassert f(2) == [2]\n",
                    "\nassert f(1) == [1]\nassert f(2) == [4]\n")
    assert "re-indented" in out
    assert (root / "test_w.py").read_text() == (
        "def test_top():\n    assert f(1) == [1]\n    assert f(2) == [4]\n")


def test_old_with_one_blank_line_where_the_file_has_two_still_matches(
    root: Path, ctx: ToolContext
) -> None:
    # 1.5B adding a function: old copied mean and sub with one blank line between them (and
    # the JSON block's indentation on every line).
    old = "\n        def add(a, b):\n            return a + b\n        \n        def sub(a, b):\n"
    new = old + "            return a - b\n\n        def neg(a):\n            return -a\n"
    old += "            return a - b\n"
    out = edit_file(ctx, "src/calc.py", old, new)
    assert "only after ignoring blank lines and indentation" in out
    text = (root / "src" / "calc.py").read_text()
    assert "def neg(a):\n    return -a\n" in text and "def sub(a, b):\n    return a - b\n" in text
    compile(text, "calc.py", "exec")


def test_blank_line_tolerance_still_refuses_two_places(root: Path, ctx: ToolContext) -> None:
    (root / "two.py").write_text("x = 1\n\ny = 2\n\n\nx = 1\n\n\ny = 2\n")
    with pytest.raises(ToolError, match="ignoring blank lines and indentation"):
        edit_file(ctx, "two.py", "  x = 1\n  y = 2", "x = 3\ny = 4")


def test_error_marker_lines_copied_from_a_traceback_are_dropped_from_old(
    root: Path, ctx: ToolContext
) -> None:
    # 1.5B fixing a crash: old was the traceback's code line and its ^^^^ line under it.
    out = edit_file(ctx, "src/calc.py", "return a + b\n             ^^^^^", "return b + a")
    assert out.startswith("note: removed the error-marker lines (^^^) from old")
    assert "return b + a" in (root / "src" / "calc.py").read_text()
    with pytest.raises(ToolError, match="old was not found"):
        edit_file(ctx, "src/calc.py", "^^^^\nreturn a * b", "x")


def test_an_append_that_defines_an_existing_function_again_is_refused(
    root: Path, ctx: ToolContext
) -> None:
    with pytest.raises(ToolError, match=r"already defines sub \(line 5\)"):
        edit_file(ctx, "src/calc.py", "", "def sub(a, b):\n    return b - a\n")
    assert (root / "src" / "calc.py").read_text() == CODE


def test_python_written_with_literal_backslash_n_is_unescaped_only_when_that_compiles(
    root: Path, ctx: ToolContext
) -> None:
    # Real 0.5B on llama_cpp.server: content "print('hello world')\\n" (a SyntaxError).
    write_file(ctx, "hello.py", "print('hello world')\\n")
    assert (root / "hello.py").read_text() == "print('hello world')\n"
    write_file(ctx, "esc.py", "print('a\\nb')\n")  # valid as written: kept
    assert (root / "esc.py").read_text() == "print('a\\nb')\n"
    write_file(ctx, "notes.txt", "x\\n")
    assert (root / "notes.txt").read_text() == "x\\n"


def test_python_indented_as_a_whole_is_dedented_only_when_that_compiles(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on add-method: bank.py rewritten 8 spaces in (its JSON block's indentation).
    indented = ('\n        """A bank."""\n\n        class Account:\n            def f(self):\n'
                '                return 1\n    ')
    write_file(ctx, "bank.py", indented)
    assert (root / "bank.py").read_text() == (
        '"""A bank."""\n\nclass Account:\n    def f(self):\n        return 1\n')
    body = "    x = 1\n    y = 2\n"  # not Python: as sent
    write_file(ctx, "notes.txt", body)
    assert (root / "notes.txt").read_text() == body
    broken = "    def f(:\n        pass\n"  # dedenting does not make it compile: kept as sent
    reply = write_file(ctx, "broken.py", broken)
    assert (root / "broken.py").read_text() == broken and "not valid Python" in reply


def test_ca_s_own_answer_written_back_as_code_is_refused(root: Path, ctx: ToolContext) -> None:
    # Real 0.5B on llama_cpp.server: write_file(hello.py, "wrote hello.py (1 line, +1 -0)").
    reply = write_file(ctx, "hello.py", "print('hi')\n")
    with pytest.raises(ToolError, match=r"answer to your last call, not code for hello\.py"):
        write_file(ctx, "hello.py", reply)
    with pytest.raises(ToolError, match=r"not code for src/calc\.py"):
        edit_file(ctx, "src/calc.py", "", "edited src/calc.py (+2 -0); lines 1-3 now read:")
    assert (root / "hello.py").read_text() == "print('hi')\n"
    assert (root / "src" / "calc.py").read_text() == CODE


def test_a_change_that_breaks_python_says_so_and_a_file_broken_before_does_not(
    root: Path, ctx: ToolContext
) -> None:
    # Real 0.5B: "Create hello.py that prints exactly: hello world" -> hello.py = "hello world".
    said = write_file(ctx, "hello.py", "hello world")
    assert "Warning: hello.py is not valid Python now (line 1: invalid syntax: hello world)" in said
    assert "Warning" not in write_file(ctx, "ok.py", "print('hello world')\n")
    read_file(ctx, "src/calc.py")
    said = edit_file(ctx, "src/calc.py", "def sub(a, b):", "def sub(a, b)")
    assert "Warning: src/calc.py is not valid Python now (line 5: expected ':'" in said
    said = edit_file(ctx, "src/calc.py", "return a - b", "return b - a")  # still broken
    assert "Warning" not in said
    assert "Warning" not in write_file(ctx, "notes.txt", "hello world")


def test_old_copied_from_a_traceback_with_a_trailing_indent_line_still_matches(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on "python report.py crashes": old = "\n  <line, half its indent>\n ^^^^\n    ".
    old = "\n  return a - b\n ^^^^^^^^^^\n    "
    said = edit_file(ctx, "src/calc.py", old, "\n  return b - a\n    ")
    assert "re-indented" in said
    assert (root / "src" / "calc.py").read_text() == CODE.replace("a - b", "b - a")


def test_line_numbers_of_blank_lines_copied_without_their_bar_are_stripped_too(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B: old = the whole file as read_file showed it, its blank lines as "        6 ".
    old = "".join(
        f"{n:>9} | {line}\n" if line else f"{n:>9} \n"
        for n, line in enumerate(CODE.splitlines(), 1)
    )
    new = old + "        7 \n        8 | def mul(a, b):\n        9 |     return a * b\n"
    out = edit_file(ctx, "src/calc.py", old, new)
    assert out.startswith("note: removed read_file line-number prefixes from old")
    assert (root / "src" / "calc.py").read_text() == CODE + "\ndef mul(a, b):\n    return a * b\n"
    (root / "nums.txt").write_text("1\n2\n3\n")
    edit_file(ctx, "nums.txt", "2\n", "20\n")  # bare numbers alone are content, not prefixes
    assert (root / "nums.txt").read_text() == "1\n20\n3\n"


def test_old_indented_by_the_json_from_its_first_spaced_blank_line_on_still_matches(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B: "def add...\n    return a + b\n    \n    def sub(a, b):\n        return a - b"
    old = "def add(a, b):\n    return a + b\n    \n    def sub(a, b):\n        return a - b"
    new = old + "\n    \n    def mul(a, b):\n        return a * b"
    said = edit_file(ctx, "src/calc.py", old, new)
    assert "re-indented" in said
    assert (root / "src" / "calc.py").read_text() == (
        "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n\n"
        "def mul(a, b):\n    return a * b\n"
    )


def test_a_continuation_indent_with_a_leading_blank_line_only_in_new_keeps_the_body(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on cli-flag: old "def f():\n        return ..." (JSON indent after the first
    # line), new "\ndef f():\n    return ...": the body lost its indentation.
    old = "def sub(a, b):\n        return a - b\n    "
    new = "\ndef sub(a, b):\n        return b - a\n    "
    said = edit_file(ctx, "src/calc.py", old, new)
    assert "Warning" not in said
    # new's leading blank line lands after the file's blank lines: the spacing stays as it was
    assert (root / "src" / "calc.py").read_text() == CODE.replace("a - b", "b - a")


def test_an_edit_repeated_after_it_was_made_says_the_change_is_made(
    root: Path, ctx: ToolContext
) -> None:
    edit_file(ctx, "src/calc.py", "return a - b", "return b - a")
    with pytest.raises(ToolError, match=r"already holds new at line 6, so this change is made"):
        edit_file(ctx, "src/calc.py", "return a - b", "return b - a")
    with pytest.raises(ToolError, match="old was not found"):  # new not there: the usual
        edit_file(ctx, "src/calc.py", "return a * b", "return a / b")
    # Real 1.5B on rust-fix-test: old = a line of the file plus pasted test output, new = that
    # line alone. That is no repeat of a made change: the usual not-found answer.
    with pytest.raises(ToolError, match="old was not found"):
        edit_file(ctx, "src/calc.py", "return b - a\nright: 32.0\nstack backtrace:",
                  "return b - a\n")
    # Real 1.5B on off-by-one: the same edit again, old and new in its JSON block's indent.
    edit_file(ctx, "src/calc.py", "\n        return a + b\n    ", "\n        return a + 1\n    ")
    with pytest.raises(ToolError, match=r"already holds new at line 2, so this change is made"):
        edit_file(ctx, "src/calc.py", "\n        return a + b\n    ",
                  "\n        return a + 1\n    ")


def test_an_append_holding_the_whole_file_again_replaces_it_once_the_file_was_seen(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on write-tests: its own test file again, now with `import wordcount`, as an
    # append (old empty): refused as duplicates, retried until stuck.
    whole = "import math\n\n\n" + CODE
    with pytest.raises(ToolError, match="already defines"):  # not read yet: no replacement
        edit_file(ctx, "src/calc.py", "", whole)
    read_file(ctx, "src/calc.py")
    with pytest.raises(ToolError, match=r"already defines sub \(line 5\)"):  # one, not all
        edit_file(ctx, "src/calc.py", "", "def sub(a, b):\n    return b - a\n")
    said = edit_file(ctx, "src/calc.py", "", "\n" + whole)
    assert said.startswith("note: new defines everything src/calc.py defines, so it replaced")
    assert (root / "src" / "calc.py").read_text() == whole


def test_an_append_with_every_definition_but_little_else_is_not_a_whole_file(
    root: Path, ctx: ToolContext
) -> None:
    script = CODE + "\n\nif __name__ == '__main__':\n    import sys\n    a, b = sys.argv[1:3]\n" \
        "    print(add(int(a), int(b)))\n    print(sub(int(a), int(b)))\n    print('done')\n"
    (root / "tool.py").write_text(script)
    read_file(ctx, "tool.py")
    short = "def add(a, b):\n    return a + b\ndef sub(a, b):\n    return a - b\n"
    with pytest.raises(ToolError, match="already defines"):  # would drop the main block
        edit_file(ctx, "tool.py", "", short)
    assert (root / "tool.py").read_text() == script


def test_invented_flag_arguments_are_dropped_but_unknown_text_is_refused(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B: edit_file(..., ignore_whitespace=true) resent until stuck.
    registry = ToolRegistry(builtin_tools())
    call = ToolCall("edit_file", {"path": "src/calc.py", "old": "a - b", "new": "b - a",
                                  "ignore_whitespace": True, "timeout": None})
    assert registry.dispatch(call, ctx).text.startswith("edited src/calc.py")
    # 1.5B on parse-config: edit_file(..., start_line=1, end_line=8), resent until stuck.
    numbers = ToolCall("edit_file", {"path": "src/calc.py", "old": "b - a", "new": "a - b",
                                     "start_line": 1, "end_line": 8.0})
    assert registry.dispatch(numbers, ctx).text.startswith("edited src/calc.py")
    with pytest.raises(ToolError, match="has no argument 'start_line'"):
        registry.dispatch(ToolCall("edit_file", {"path": "src/calc.py", "old": "a - b",
                                                 "new": "b - a", "start_line": "6"}), ctx)


def test_new_without_the_json_indent_of_old_is_not_re_indented_into_broken_python(
    root: Path, ctx: ToolContext
) -> None:
    # 1.5B on cli-flag: old carries the JSON block's indent after its first line, new (after a
    # leading newline) is indented as the file is. Shifting new by old's shift left `return`
    # at column 0, and the leading newline added a blank line on every repeat.
    greet = (
        '"""Greet."""\n\nimport argparse\n\n\ndef greeting(name: str) -> str:\n'
        '    return f"Hello, {name}!"\n\n\ndef main() -> None:\n    print(greeting("x"))\n'
    )
    (root / "greet.py").write_text(greet)
    old = 'def greeting(name: str) -> str:\n        return f"Hello, {name}!"\n    '
    new = '\ndef greeting(name: str) -> str:\n    return f"{name.upper()}!"\n    '
    out = edit_file(ctx, "greet.py", old, new)
    text = (root / "greet.py").read_text()
    assert text == greet.replace('f"Hello, {name}!"', 'f"{name.upper()}!"')
    assert "not valid Python" not in out
    # the same call again now finds nothing to change: the old text is gone
    with pytest.raises(ToolError):
        edit_file(ctx, "greet.py", old, new)


def test_re_indenting_still_applies_when_new_shares_old_json_indent(
    root: Path, ctx: ToolContext
) -> None:
    old = "def add(a, b):\n        return a + b\n    "
    new = "def add(a, b):\n        return a + b + 0\n    "
    assert "re-indented" in edit_file(ctx, "src/calc.py", old, new)
    assert "def add(a, b):\n    return a + b + 0\n" in (root / "src" / "calc.py").read_text()


def test_new_ending_with_the_closing_line_that_follows_old_does_not_double_it(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on js-fix-test: old stopped before the function's `}`, new ended with it.
    js = ("function titleCase(text) {\n  return text\n    .split(' ')\n"
          "    .map((w) => w.slice(2))\n    .join(' ');\n}\n\nmodule.exports = { titleCase };\n")
    (root / "t.js").write_text(js)
    old = "  return text\n    .split(' ')\n    .map((w) => w.slice(2))\n    .join(' ');"
    out = edit_file(ctx, "t.js", old, old.replace("slice(2)", "slice(1)") + "\n}")
    assert "new's last line `}` is already the line after old" in out
    assert (root / "t.js").read_text() == js.replace("slice(2)", "slice(1)")
    # the same shape matched only after ignoring indentation
    loose = "return text\n  .split(' ')\n  .map((w) => w.slice(1))\n  .join(' ');"
    out = edit_file(ctx, "t.js", loose, loose.replace("slice(1)", "slice(0)") + "\n}")
    assert "new's last line `}` is already the line after old" in out
    assert (root / "t.js").read_text() == js.replace("slice(2)", "slice(0)")
    # a closing line that is new code is kept: the brackets say so
    (root / "u.js").write_text("if (a) {\n  f();\n}\n")
    edit_file(ctx, "u.js", "  f();", "  f();\n  if (b) {\n    g();\n  }")
    assert (root / "u.js").read_text() == "if (a) {\n  f();\n  if (b) {\n    g();\n  }\n}\n"


def test_a_whole_file_old_whose_docstring_lost_its_quotes_still_matches(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on output-format: the whole file as old and new inside `"""..."""` JSON
    # values, the module docstring's own quotes gone, blank lines halved and indented.
    script = ('"""Print the table."""\n\nSCORES = {"ines": 42}\n\n\ndef main() -> None:\n'
              '    for name in SCORES:\n        print(name)\n\n\nif __name__ == "__main__":\n'
              '    main()\n')
    (root / "scores.py").write_text(script)
    old = ('Print the table.\n    \nSCORES = {"ines": 42}\n    \ndef main() -> None:\n'
           '    for name in SCORES:\n        print(name)\n    \nif __name__ == "__main__":\n'
           '    main()\n')
    out = edit_file(ctx, "scores.py", old, old.replace("print(name)", 'print(f"{name},")'))
    assert out.startswith("note: old's first line is the file's docstring without its quotes; "
                          "old matched lines 1-12 only after ignoring blank lines")
    text = (root / "scores.py").read_text()
    assert text.startswith('"""Print the table."""\n') and 'print(f"{name},")' in text
    compile(text, "scores.py", "exec")
    # a first line that is not the docstring's text is not matched this way
    with pytest.raises(ToolError, match="old was not found"):
        edit_file(ctx, "scores.py", "Print a table.\nSCORES = {}\n", "x = 1\n")


def test_replace_all_changes_every_place_and_only_when_asked(
    root: Path, ctx: ToolContext
) -> None:
    (root / "m.py").write_text("x = f(1)\ny = f(2)\n")
    with pytest.raises(ToolError, match="old matches exactly 2 places"):
        edit_file(ctx, "m.py", "f(", "g(")
    out = edit_file(ctx, "m.py", "f(", "g(", replace_all=True)
    assert out.startswith("note: replaced all 2 places\nedited m.py (+2 -2); lines 1-2 now read:")
    assert (root / "m.py").read_text() == "x = g(1)\ny = g(2)\n"
    edit_file(ctx, "m.py", "g(1)", "h(1)", replace_all=True)  # one place: an ordinary edit
    assert (root / "m.py").read_text() == "x = h(1)\ny = g(2)\n"
    with pytest.raises(ToolError, match="old was not found"):
        edit_file(ctx, "m.py", "zz(", "q(", replace_all=True)


def test_write_file_content_with_read_file_line_numbers_loses_them(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on docstring-function: write_file content "\n    4 | \n    6 | def ..." made
    # the module invalid Python, and every edit after it failed.
    numbered_text = "    1 | def f():\n    2 |     return 1\n    3 | \n   10 | x = f()\n"
    out = write_file(ctx, "new.py", numbered_text)
    assert out.startswith("wrote new.py")
    assert (root / "new.py").read_text() == "def f():\n    return 1\n\nx = f()\n"
    write_file(ctx, "notes.md", "1 | one\nplain line\n")  # not every line numbered: kept
    assert (root / "notes.md").read_text() == "1 | one\nplain line\n"


PRICING = ('def apply_discount(price, percent):\n    """Take percent off."""\n'
           "    return round(price - price * percent, 2)\n")


def test_old_and_new_apart_from_blank_lines_at_their_edges_are_the_same_edit(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on fix-failing-test (s27b): new was "\n" + old, both with read_file's prefixes.
    (root / "pricing.py").write_text(PRICING)
    old = ('    1 | def apply_discount(price, percent):\n    2 |     """Take percent off."""\n'
           "    3 |     return round(price - price * percent, 2)\n    ")
    with pytest.raises(ToolError, match=r"old and new are the same, so nothing was changed: "
                                        r"pricing\.py holds this text \(lines 1-3\) as it was"):
        edit_file(ctx, "pricing.py", old, "\n" + old)
    assert (root / "pricing.py").read_text() == PRICING


def test_an_edit_that_only_reindents_is_not_taken_as_made(root: Path, ctx: ToolContext) -> None:
    (root / "m.py").write_text("def f():\n        return 1\n")
    edit_file(ctx, "m.py", "        return 1\n", "    return 1\n")
    assert (root / "m.py").read_text() == "def f():\n    return 1\n"


def test_an_edit_that_leaves_the_file_as_it_was_is_refused_not_reported_as_made(
    root: Path, ctx: ToolContext
) -> None:
    # Real 1.5B on cli-flag (s27b): old and new differed only in their line-number prefixes;
    # ca answered "edited greet.py (+0 -0)" and the model sent it again.
    code = "import argparse\nparser = argparse.ArgumentParser()\n"
    (root / "greet.py").write_text(code)
    with pytest.raises(ToolError, match="old and new are the same, so nothing was changed"):
        edit_file(ctx, "greet.py", "   2 | parser = argparse.ArgumentParser()\n",
                  "   3 | parser = argparse.ArgumentParser()\n")
    assert (root / "greet.py").read_text() == code


def test_a_method_sent_unindented_goes_into_the_class(root: Path, ctx: ToolContext) -> None:
    # Real 0.5B (s29c add-method): old a line bank.py lacks, new the method at column 0.
    (root / "bank.py").write_text(BANK)
    line = "def withdraw(self, amount: float) -> float:"
    out = edit_file(ctx, "bank.py", line, line + "\n    self.balance -= amount\n"
                    "    return self.balance")
    assert "new was added at the end of class Account" in out.splitlines()[0]
    assert (root / "bank.py").read_text() == BANK + (
        "\n    def withdraw(self, amount: float) -> float:\n        self.balance -= amount\n"
        "        return self.balance\n")


def test_a_function_without_self_stays_a_module_function(root: Path, ctx: ToolContext) -> None:
    (root / "bank.py").write_text(BANK)
    out = edit_file(ctx, "bank.py", "", "def fee(amount: float) -> float:\n    return 1.0")
    assert "at the end of the file" in out.splitlines()[0]
    assert (root / "bank.py").read_text().endswith(
        "\n\n\ndef fee(amount: float) -> float:\n    return 1.0\n")
