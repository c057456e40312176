"""Drives the real Repl in-process: keys through prompt_toolkit's pipe input, output captured."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from code_assistant.app import App
from code_assistant.config import load_config
from code_assistant.repl.io import ReplIO
from code_assistant.repl.session import Repl
from code_assistant.session.conversation import Conversation
from code_assistant.session.store import SessionStore
from tests.fakes.model_server import FakeModelServer

ENTER = "\r"
CTRL_D = "\x04"
CTRL_C = "\x03"
ESC_ENTER = "\x1b\r"


def paste(text: str) -> str:
    """Keys for a bracketed paste of `text`, as a terminal sends it."""
    return f"\x1b[200~{text}\x1b[201~"


def intent(kind: str, reason: str = "test") -> dict[str, Any]:
    """The architect's classification reply."""
    return {"text": json.dumps({"intent": kind, "reason": reason})}


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def chat_bodies(server: FakeModelServer) -> list[dict[str, Any]]:
    return [r["body"] for r in server.chat_requests]


def system_of(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"])


@dataclass
class Harness:
    """A project, its config pointed at the fake server, and a sessions store."""

    server: FakeModelServer
    project: Path
    home: Path
    settings: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def loaded(self) -> App:
        cli = {"ollama_host": self.server.url, "max_retries": 0, **self.settings}
        return load_config(self.project, cli, env={"CA_HOME": str(self.home)})

    def store(self) -> SessionStore:
        return SessionStore.in_dir(self.home / "sessions")

    def run(self, *keys: str, resume: str | None = None, spec: bool = False) -> str:
        """Type `keys` (each a line unless it ends in a control key), then Ctrl-D; the output."""
        text = "".join(k if k.endswith(("\x04", "\x03", "\r")) else k + ENTER for k in keys)
        with self.repl(resume=resume) as (repl, pipe, out):
            if spec:
                repl.commands.dispatch("/spec")
            feeder = threading.Thread(target=pipe.send_text, args=(text + CTRL_D,), daemon=True)
            feeder.start()
            code = repl.run()
            feeder.join(timeout=10)
            assert code == 0
        output = out.getvalue()
        self.outputs.append(output)
        return output

    @contextmanager
    def repl(self, resume: str | None = None) -> Iterator[tuple[Repl, Any, io.StringIO]]:
        out = io.StringIO()
        console = Console(file=out, width=120, color_system=None, highlight=False)
        loaded = self.loaded()
        with create_pipe_input() as pipe, self.store() as store:
            repl_io = ReplIO(
                input=pipe, output=DummyOutput(), console=console,
                history_path=self.home / "history",
            )
            conversation = Conversation.resume(store, resume, self.project) if resume else None
            repl = Repl(loaded, repl_io, store, conversation=conversation)
            try:
                yield repl, pipe, out
            finally:
                repl.close()


def make_harness(server: FakeModelServer, tmp_path: Path, **settings: Any) -> Harness:
    project = tmp_path / "project"
    project.mkdir()
    (project / "ca.config").write_text("", encoding="utf-8")
    return Harness(server, project, tmp_path / "ca-home", dict(settings))


_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, links
    r"|\x1b[()][A-Za-z0-9]|\x1b[=>78]"
)


def screen_text(raw: bytes) -> str:
    """Terminal output without escape sequences and carriage returns."""
    return _ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "")


LAUNCHER = (
    "import os, sys, fcntl, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'code_assistant', *sys.argv[1:]])"
)


class PtyCa:
    """`ca` on a pseudo-terminal it controls, as a user runs it: keys in, terminal text out."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        # No terminal emulator answers cursor-position requests here.
        env = {**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
        # The launcher makes the pty the controlling terminal, so Ctrl-C becomes SIGINT.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.raw = b""

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += data
        return bool(data)

    @property
    def text(self) -> str:
        return screen_text(self.raw)

    def expect(self, needle: str, timeout: float = 30.0, after: int = 0) -> int:
        """Wait until `needle` shows (after text offset `after`); its end offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.text.find(needle, after)
            if found >= 0:
                return found + len(needle)
            if not self._read(0.1) and self.proc.poll() is not None:
                break
        raise AssertionError(f"{needle!r} did not show; the terminal had:\n{self.text[-3000:]}")

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.master)
