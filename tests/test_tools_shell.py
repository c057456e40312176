"""run_shell with real subprocesses, and the head+tail output cap it shares with other tools."""

from __future__ import annotations

import os
import re
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from code_assistant.config import Config
from code_assistant.errors import ToolError
from code_assistant.tools.approval import Approver
from code_assistant.tools.output import MAX_LINE_CHARS, HeadTail, default_head, keep_head_tail
from code_assistant.tools.registry import ToolContext, ToolOutput
from code_assistant.tools.shell import ShellResult, run_shell

HEADER = re.compile(
    r"^\$ (?P<cmd>.*)  \(cwd: (?P<cwd>.+?), (?P<status>(?:exit|killed|timed out) .+)\)$"
)


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(root=tmp_path)


def split(result: ToolOutput) -> tuple[re.Match[str], list[str]]:
    first, *rest = result.text.split("\n")
    match = HEADER.match(first)
    assert match, first
    return match, rest


def alive(pid: int) -> bool:
    """Whether pid runs; a zombie waiting for a reaper that never comes counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def wait_dead(pid: int, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


# --- happy paths -------------------------------------------------------------------------------


def test_echo_states_cwd_exit_and_time(ctx: ToolContext) -> None:
    match, lines = split(run_shell(ctx, "echo hello"))
    assert match["cmd"] == "echo hello"
    assert match["cwd"] == str(ctx.root.resolve())
    assert re.fullmatch(r"exit 0, \d+\.\ds", match["status"])
    assert lines == ["hello"]


def test_runs_in_project_root_with_bash(ctx: ToolContext) -> None:
    (ctx.root / "marker.txt").write_text("m")
    _, lines = split(run_shell(ctx, 'pwd; ls; echo "$BASH_VERSION" | grep -c .'))
    assert lines == [str(ctx.root.resolve()), "marker.txt", "1"]


def test_stdout_and_stderr_are_merged_in_order(ctx: ToolContext) -> None:
    _, lines = split(run_shell(ctx, "echo out; echo err >&2; echo out2"))
    assert lines == ["out", "err", "out2"]


def test_no_output_and_empty_stdin(ctx: ToolContext) -> None:
    started = time.monotonic()
    match, lines = split(run_shell(ctx, "cat"))
    assert time.monotonic() - started < 2
    assert lines == ["(no output)"]
    assert match["status"].startswith("exit 0")


def test_non_zero_exit_is_a_result_not_an_error(ctx: ToolContext) -> None:
    result = run_shell(ctx, "for i in $(seq 1 500); do echo line $i; done; echo boom >&2; exit 3")
    match, lines = split(result)
    assert match["status"].startswith("exit 3, ")
    assert (result.failed, result.exit_code) == (True, 3)
    assert lines[-2:] == ["line 500", "boom"]
    assert "[... 381 lines dropped ...]" in lines


def test_killed_by_signal_is_named(ctx: ToolContext) -> None:
    result = run_shell(ctx, "kill -SEGV $$")
    match, _ = split(result)
    assert match["status"].startswith("killed by SIGSEGV")
    assert (result.failed, result.exit_code) == (True, -11)


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (ShellResult("pytest", Path("/p, exit 1, 1s)"), 0, 0.1, "exit 1 in the body"), False),
        (ShellResult("pytest", Path("/p, exit 0, 1s)"), 0, 0.1, "exit 1 in the body"), False),
        (ShellResult("pytest", Path("/p"), 1, 0.1, "ok"), True),
        (ShellResult("pytest", Path("/p"), -9, 0.1, ""), True),
        (ShellResult("sleep 9", Path("/p"), -15, 5.0, "", timed_out=True, timeout=5), True),
    ],
)
def test_failure_comes_from_the_exit_code_not_the_text(result: ShellResult, failed: bool) -> None:
    output = result.tool_output()
    assert output.failed is failed and output.text == result.render()
    assert output.exit_code == (None if result.timed_out else result.exit_code)


def test_invalid_utf8_output_is_replaced(ctx: ToolContext) -> None:
    _, lines = split(run_shell(ctx, r"printf 'ok\xff\xfe\n'"))
    assert lines == ["ok\ufffd\ufffd"]


def test_multiline_command_header_is_one_line(ctx: ToolContext) -> None:
    match, lines = split(run_shell(ctx, "echo a\necho b"))
    assert match["cmd"] == "echo a ..."
    assert lines == ["a", "b"]


# --- output bounds ------------------------------------------------------------------------------


def test_ten_thousand_lines_keep_head_and_tail(ctx: ToolContext) -> None:
    match, lines = split(run_shell(ctx, "seq 1 10000"))
    assert match["status"].startswith("exit 0")
    assert lines[:20] == [str(i) for i in range(1, 21)]
    assert lines[20] == "[... 9,880 lines dropped ...]"
    assert lines[21:] == [str(i) for i in range(9901, 10001)]


def test_config_sets_output_lines(tmp_path: Path) -> None:
    ctx = ToolContext(root=tmp_path, config=Config(tool_output_lines=20))
    _, lines = split(run_shell(ctx, "seq 1 1000"))
    assert lines[:5] == ["1", "2", "3", "4", "5"]
    assert lines[5] == "[... 980 lines dropped ...]"
    assert lines[6:] == [str(i) for i in range(986, 1001)]


def test_one_giant_line_is_cut(ctx: ToolContext) -> None:
    result = run_shell(ctx, "head -c 5000000 /dev/zero | tr '\\0' a; echo; echo end")
    _, lines = split(result)
    assert lines == ["a" * MAX_LINE_CHARS + " [... 4,999,500 chars dropped ...]", "end"]


def test_flood_of_output_is_read_in_bounded_memory(ctx: ToolContext) -> None:
    tracemalloc.start()
    try:
        result = run_shell(ctx, "yes 0123456789abcdef0123456789abcdef | head -n 400000")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _, lines = split(result)
    assert lines[20] == "[... 399,880 lines dropped ...]"
    assert peak < 4 * 1024 * 1024  # 14 MB went through the pipe


# --- timeouts and process groups ----------------------------------------------------------------


def test_timeout_kills_the_whole_group(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = run_shell(ctx, "sleep 60 & echo $!; sleep 60", timeout=1)
    elapsed = time.monotonic() - started
    match, lines = split(result)
    assert elapsed < 3
    assert match["status"] == "timed out after 1 s; the command was killed"
    assert result.failed and result.exit_code is None  # the status is ca's kill's
    grandchild = int(lines[0])
    assert wait_dead(grandchild, 0.5)


def test_term_ignoring_command_gets_sigkill(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = run_shell(ctx, "trap '' TERM; sleep 60 & echo $!; wait", timeout=1)
    assert time.monotonic() - started < 3.5
    match, lines = split(result)
    assert match["status"].startswith("timed out after 1 s")
    assert wait_dead(int(lines[0]), 0.5)


def test_background_jobs_do_not_outlive_the_command(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = run_shell(ctx, "sleep 60 & echo $!; (sleep 60 >/dev/null 2>&1 &); echo done")
    assert time.monotonic() - started < 2.5
    match, lines = split(result)
    assert match["status"].startswith("exit 0")
    assert (result.failed, result.exit_code) == (False, 0)
    assert lines[1] == "done"
    assert wait_dead(int(lines[0]), 0.5)


@pytest.mark.parametrize(
    "start",
    [
        "setsid sleep 60 >/dev/null 2>&1 & echo $!",  # a session of its own
        "(setsid sh -c 'echo $$; exec sleep 60' >&2 &) 2>&1 | head -1",  # and orphaned
        "setsid sh -c 'trap \"\" TERM; echo $$; exec sleep 60' 2>&1 & sleep 0.3",  # ignores TERM
    ],
)
def test_setsid_descendants_are_stopped_too(ctx: ToolContext, start: str) -> None:
    started = time.monotonic()
    result = run_shell(ctx, start, timeout=10)
    assert time.monotonic() - started < 5
    _, lines = split(result)
    pid = int(lines[0])
    assert wait_dead(pid, 2.0)


def test_timeout_from_config(tmp_path: Path) -> None:
    ctx = ToolContext(root=tmp_path, config=Config(shell_timeout=1))
    started = time.monotonic()
    match, _ = split(run_shell(ctx, "sleep 30"))
    assert time.monotonic() - started < 3
    assert match["status"] == "timed out after 1 s; the command was killed"


def test_output_before_timeout_is_kept(ctx: ToolContext) -> None:
    _, lines = split(run_shell(ctx, "echo started; sleep 30", timeout=1))
    assert lines == ["started"]


# --- approval and bad input ---------------------------------------------------------------------


def test_denied_command_is_not_run(tmp_path: Path) -> None:
    asked: list[tuple[str, str, str]] = []
    approver = Approver(policy="ask", ask=lambda *a: asked.append(a) or "n")
    ctx = ToolContext(root=tmp_path, approver=approver)
    with pytest.raises(ToolError, match="the user denied run_shell: touch made"):
        run_shell(ctx, "touch made")
    assert asked == [("run_shell", "touch made", "")]
    assert not (tmp_path / "made").exists()


def test_command_patterns_decide_without_asking(tmp_path: Path) -> None:
    approver = Approver(policy="deny", allow_commands=["echo *"], deny_commands=["rm -rf /*"])
    ctx = ToolContext(root=tmp_path, approver=approver)
    assert split(run_shell(ctx, "echo allowed"))[1] == ["allowed"]
    with pytest.raises(ToolError, match="denied"):
        run_shell(ctx, "touch made")
    assert not (tmp_path / "made").exists()
    ctx.approver = Approver(policy="auto", deny_commands=["rm -rf /*"])
    with pytest.raises(ToolError, match="denied"):
        run_shell(ctx, "rm -rf /*")


@pytest.mark.parametrize(("command", "message"), [("", "empty"), ("  \n", "empty"),
                                                  ("echo \0", "NUL")])
def test_bad_commands(ctx: ToolContext, command: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        run_shell(ctx, command)


def test_negative_timeout(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="positive"):
        run_shell(ctx, "true", timeout=-5)


# --- keep_head_tail ------------------------------------------------------------------------------


def test_keep_head_tail_exact() -> None:
    text = "\n".join(str(i) for i in range(1, 11))
    assert keep_head_tail(text, 5, head=2) == "1\n2\n[... 5 lines dropped ...]\n8\n9\n10"
    assert keep_head_tail(text, 10) == text
    assert keep_head_tail(text + "\n", 10) == text
    assert keep_head_tail(text, 3, head=0) == "[... 7 lines dropped ...]\n8\n9\n10"
    assert keep_head_tail(text, 4) == "1\n[... 6 lines dropped ...]\n8\n9\n10"
    assert keep_head_tail("", 5) == ""


def test_keep_head_tail_default_head_is_small() -> None:
    text = "\n".join(map(str, range(10_000)))
    lines = keep_head_tail(text, 120).split("\n")
    assert lines[20] == "[... 9,880 lines dropped ...]"
    assert len(lines) == 121


def test_streamed_pieces_equal_whole_text() -> None:
    text = "".join(f"line {i} " + "x" * (i % 700) + "\n" for i in range(2000))
    collector = HeadTail(50)
    for start in range(0, len(text), 333):
        collector.feed(text[start : start + 333])
    assert collector.render() == keep_head_tail(text, 50)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab\n é"), max_size=3000),
    max_lines=st.integers(1, 40),
    head=st.none() | st.integers(0, 40),
)
def test_keep_head_tail_bounds(text: str, max_lines: int, head: int | None) -> None:
    out = keep_head_tail(text, max_lines, head)
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    kept = out.split("\n")
    assert len(kept) <= max_lines + 1
    assert all(len(line) <= MAX_LINE_CHARS + 40 for line in kept)
    if len(lines) <= max_lines and all(len(line) <= MAX_LINE_CHARS for line in lines):
        assert out == "\n".join(lines)
    if len(lines) > max_lines:
        dropped = len(lines) - max_lines
        assert f"[... {dropped:,} line{'s' if dropped > 1 else ''} dropped ...]" in kept
        if min(max_lines, default_head(max_lines) if head is None else head) < max_lines:
            last = lines[-1]
            if len(last) <= MAX_LINE_CHARS:
                assert kept[-1] == last
            else:
                assert kept[-1].startswith(last[:MAX_LINE_CHARS] + " [... ")


def test_commands_run_without_pager_colour_or_rust_backtraces(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUST_BACKTRACE", "1")  # as on this machine: cargo test then shows
    monkeypatch.setenv("PAGER", "less")  # std's frames where the assertion should be
    out = run_shell(ctx, 'echo "$RUST_BACKTRACE $PAGER $NO_COLOR"')
    assert split(out)[1] == ["0 cat 1"]
