"""The one-shot approval prompt on a real terminal: its key hint shows, one key answers, and a
refusal can tell the model what to do instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.repl_harness import ENTER, PtyCa, call

pytestmark = pytest.mark.timeout(120)


def test_deny_with_an_instruction(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(
        call("write_file", path="a.py", content="print(1)\n"),
        call("write_file", path="b.py", content="print(1)\n"),
        {"text": "Wrote b.py."},
    )
    (tmp_path / "ca.config").write_text("")
    ca = PtyCa(["create a script"], ca_env, tmp_path)
    try:
        at = ca.expect("[y]es [n]o [a]lways")
        ca.send("n")  # no Enter: one key answers
        at = ca.expect("what should it do instead?", after=at)
        ca.send("name it b.py" + ENTER)
        at = ca.expect("[y]es [n]o [a]lways", after=at)
        ca.send("y")
        at = ca.expect("Wrote b.py.", after=at)
        ca.expect("Allow run_shell", after=at)  # the syntax check before the task is done
        ca.send("y")
        code = ca.wait()
        assert code == 0, ca.text[-2000:]
    finally:
        ca.close()
    assert not (tmp_path / "a.py").exists()
    assert (tmp_path / "b.py").read_text() == "print(1)\n"
    refused = fake_server.chat_requests[1]["body"]["messages"][-1]["content"]
    assert "the user denied write_file: a.py, and said what to do instead: name it b.py" in refused
