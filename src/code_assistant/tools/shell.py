"""run_shell: one approved command in the project root, bounded output, process-group timeout."""

from __future__ import annotations

import codecs
import os
import selectors
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from code_assistant import procgroup
from code_assistant.errors import ToolError
from code_assistant.tools.output import DEFAULT_MAX_LINES, HeadTail
from code_assistant.tools.registry import ToolContext, ToolOutput, tool

DEFAULT_TIMEOUT = 120
GRACE = 1.0  # seconds between SIGTERM and SIGKILL
LINGER = 0.1  # quiet seconds after the shell exits before background writers are cut off
DRAIN_MAX = 1.0  # most seconds spent reading background output after the shell exited
# Output meant for a model: no pager, no prompt, no colour codes, and no Rust backtraces (with
# RUST_BACKTRACE=1 in the user's shell, a failing `cargo test` showed the 1.5B a backtrace of
# std's frames where the assertion should be).
_QUIET_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "NO_COLOR": "1",
              "RUST_BACKTRACE": "0"}


@dataclass
class ShellResult:
    """What one command did: exit code (negative: killed by that signal), time, output."""

    command: str
    cwd: Path
    exit_code: int
    seconds: float
    output: str
    timed_out: bool = False
    timeout: float = 0.0

    def render(self) -> str:
        """The text the model sees: a header with cwd, exit status and time, then output."""
        shown = self.command.strip().splitlines()[0] if self.command.strip() else ""
        if len(shown) > 200 or "\n" in self.command.strip():
            shown = shown[:200] + " ..."
        if self.timed_out:
            status = f"timed out after {self.timeout:g} s; the command was killed"
        elif self.exit_code < 0:
            status = f"killed by {_signal_name(-self.exit_code)}, {self.seconds:.1f}s"
        else:
            status = f"exit {self.exit_code}, {self.seconds:.1f}s"
        return f"$ {shown}  (cwd: {self.cwd}, {status})\n{self.output or '(no output)'}"

    @property
    def failed(self) -> bool:
        """Non-zero exit, killed by a signal, or timed out."""
        return self.timed_out or self.exit_code != 0

    def tool_output(self) -> ToolOutput:
        """The rendered text with its outcome; after a timeout the exit status is ca's kill,
        not the command's, so there is none."""
        code = None if self.timed_out else self.exit_code
        return ToolOutput(self.render(), failed=self.failed, exit_code=code)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


MARKER_VAR = "CA_RUN_SHELL_ID"  # in every command's environment, inherited by descendants


def _pump(proc: subprocess.Popen[bytes], sink: HeadTail, deadline: float) -> bool:
    """Feed output to sink until the shell has exited and the pipe is done; False on timeout.

    End of output alone is not the end: a program may close stdout and still be exiting,
    and killing it then would report a signal instead of its exit code.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    exited_at: float | None = None
    eof = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                sink.feed(decoder.decode(b"", final=True))
                return False
            if exited_at is None and procgroup.exited(proc):
                exited_at = now
            if exited_at is not None and (eof or now - exited_at > DRAIN_MAX):
                break
            if eof:
                time.sleep(min(0.02, deadline - now))
                continue
            wait = min(deadline - now, LINGER if exited_at is not None else 0.2)
            if not selector.select(wait):
                if exited_at is not None:
                    break  # background jobs hold the pipe open but are quiet
                continue
            chunk = os.read(fd, 65536)
            eof = not chunk
            sink.feed(decoder.decode(chunk))
    sink.feed(decoder.decode(b"", final=True))
    return True


def run_command(command: str, cwd: Path, timeout: float, max_lines: int) -> ShellResult:
    """Run `bash -c command` in its own session; stop the whole group on timeout or exit."""
    shell = shutil.which("bash") or "/bin/sh"
    marker = uuid.uuid4().hex
    started = time.monotonic()
    try:
        proc = procgroup.start(
            [shell, "-c", command], cwd=cwd, env={**os.environ, **_QUIET_ENV, MARKER_VAR: marker},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        raise ToolError(f"could not start {shell}: {exc.strerror or exc}") from None
    sink = HeadTail(max_lines)
    finished = False
    try:
        finished = _pump(proc, sink, started + timeout)
    finally:
        # Also after a normal exit: background jobs must not outlive the command.
        procgroup.stop_group(proc.pid, GRACE, f"{MARKER_VAR}={marker}")
        assert proc.stdout is not None
        proc.stdout.close()
        exit_code = proc.wait()
    return ShellResult(
        command, cwd, exit_code, time.monotonic() - started, sink.render(),
        timed_out=not finished, timeout=timeout,
    )


@tool(kind="exec")
def run_shell(ctx: ToolContext, command: str, timeout: int | None = None) -> ToolOutput:
    """Run a shell command (bash) in the project root; returns the exit code and output.

    stdout and stderr come back together; long output keeps the first and the last lines.
    There is no input (stdin is empty), and processes left running in the background are
    stopped when the command ends.

    Args:
        command: The command line to run, as you would type it in a terminal.
        timeout: Seconds before the command is killed; omit for the configured default.
    """
    if not command.strip():
        raise ToolError("command is empty; give the shell command to run")
    if "\0" in command:
        raise ToolError("command contains a NUL byte")
    config = ctx.config
    limit = timeout or getattr(config, "shell_timeout", None) or DEFAULT_TIMEOUT
    if limit <= 0:
        raise ToolError("timeout must be a positive number of seconds")
    max_lines = getattr(config, "tool_output_lines", None) or DEFAULT_MAX_LINES
    ctx.approve("run_shell", command, "")
    return run_command(command, ctx.root.resolve(), limit, max_lines).tool_output()
