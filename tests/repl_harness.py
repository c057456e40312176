"""Drives the real Repl in-process: keys through prompt_toolkit's pipe input, output captured."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from code_assistant.config import LoadedConfig, load_config
from code_assistant.repl import Repl
from code_assistant.repl_io import ReplIO
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

    def loaded(self) -> LoadedConfig:
        cli = {"ollama_host": self.server.url, "max_retries": 0, **self.settings}
        return load_config(self.project, cli, env={"CA_HOME": str(self.home)})

    def store(self) -> SessionStore:
        return SessionStore.in_dir(self.home / "sessions")

    def run(self, *keys: str, resume: str | None = None, spec: bool = False) -> str:
        """Type `keys` (each a line unless it ends in a control key), then Ctrl-D; the output."""
        text = "".join(k if k.endswith(("\x04", "\x03", "\r")) else k + ENTER for k in keys)
        with self.repl(resume=resume) as (repl, pipe, out):
            if spec:
                repl.commands.cmd_spec("")
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
