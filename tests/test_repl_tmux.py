"""End to end in a real terminal: `ca` in tmux types a request, approves, writes the file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.repl_harness import call, intent

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed (Debian package tmux; .ci/run installs it)",
    ),
]


class Tmux:
    """A private tmux server (its own socket) running one window of 200x50."""

    def __init__(self, socket: Path, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            env=self.env, capture_output=True, text=True, timeout=20, check=False,
        )
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-J", "-S", "-200", "-t", "ca")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen was:\n{self.screen()}")

    def wait_for_prompt(self, timeout: float = 30.0) -> str:
        """Wait until the REPL waits for input: its last line is an empty `ca>` prompt."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            lines = [line for line in screen.splitlines() if line.strip()]
            if lines and lines[-1].strip() == "ca>":
                return screen
            time.sleep(0.1)
        raise AssertionError(f"no prompt; the screen was:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "ca", *keys)


@pytest.fixture
def tmux(tmp_path: Path, ca_env: dict[str, str]) -> Iterator[Tmux]:
    server = Tmux(tmp_path / "tmux.sock", {**ca_env, "TERM": "xterm-256color"})
    yield server
    subprocess.run(["tmux", "-S", str(server.socket), "kill-server"], capture_output=True,
                   check=False, timeout=20)


def test_request_approve_and_the_file_is_written(
    fake_server: FakeModelServer, tmp_path: Path, tmux: Tmux
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "ca.config").write_text("")
    fake_server.enqueue(
        intent("implementation", "a new file"),
        call("write_file", path="hello.py", content="print('hello from tmux')\n"),
        "Created **hello.py**; run it with `python hello.py`.",
    )
    command = f"{sys.executable} -m code_assistant; echo CA-EXITED-$?; sleep 60"
    tmux("new-session", "-d", "-s", "ca", "-x", "200", "-y", "50", "-c", str(project), command)
    tmux.wait_for_prompt()
    tmux.keys("create hello.py that prints hello", "Enter")
    screen = tmux.wait_for("Allow write_file hello.py?")
    assert "→ implementation: a new file" in screen
    assert "+++ b/hello.py" in screen and "+print('hello from tmux')" in screen
    assert not (project / "hello.py").exists()  # nothing before the approval
    tmux.keys("y", "Enter")
    screen = tmux.wait_for("changed: hello.py +1 -0")
    assert "✓ wrote hello.py" in screen
    assert "Created hello.py; run it with python hello.py." in screen  # Markdown rendered
    assert (project / "hello.py").read_text() == "print('hello from tmux')\n"
    tmux.wait_for_prompt()
    tmux.keys("C-d")
    tmux.wait_for("CA-EXITED-0")


def test_ctrl_c_shows_the_partial_answer_once(
    fake_server: FakeModelServer, tmp_path: Path, tmux: Tmux
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "ca.config").write_text("")
    words = " ".join(f"word{n}" for n in range(60))
    fake_server.enqueue(
        intent("conversational", "a question"),
        {"text": f"**Partial** {words}", "chunk_delay": 0.2},
    )
    command = f"{sys.executable} -m code_assistant; echo CA-EXITED-$?; sleep 60"
    tmux("new-session", "-d", "-s", "ca", "-x", "200", "-y", "50", "-c", str(project), command)
    tmux.wait_for_prompt()
    tmux.keys("explain the layout", "Enter")
    tmux.wait_for("word3 ")
    tmux.keys("C-c")
    screen = tmux.wait_for("cancelled")
    tmux.wait_for_prompt()
    screen = tmux.screen()
    assert screen.count("word1 ") == 1, screen  # the partial answer, once
    assert "**Partial**" not in screen and "Partial word0" in screen  # rendered Markdown
    tmux.keys("C-d")
    tmux.wait_for("CA-EXITED-0")


def test_quick_mode_on_a_terminal_renders_markdown(
    fake_server: FakeModelServer, tmp_path: Path, tmux: Tmux
) -> None:
    fake_server.enqueue({"text": "Use **git stash** and then:\n\n```sh\ngit stash pop\n```\n"})
    command = f"{sys.executable} -m code_assistant -q 'save my work?'; echo CA-EXITED-$?; sleep 60"
    tmux("new-session", "-d", "-s", "ca", "-x", "100", "-y", "30", "-c", str(tmp_path), command)
    screen = tmux.wait_for("CA-EXITED-0")
    assert "Use git stash and then:" in screen, screen
    assert "**" not in screen and "```" not in screen
    assert "git stash pop" in screen
