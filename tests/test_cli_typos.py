"""A mistyped command is a usage error with a suggestion, never a task sent to the agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serach", "parse config"], "did you mean `ca search`?"),
        (["indx"], "did you mean `ca index`?"),
        (["doctr"], "did you mean `ca doctor`?"),
    ],
)
def test_typos_are_refused(
    args: list[str], says: str, fake_server: FakeModelServer, ca_env: dict[str, str],
    tmp_path: Path,
) -> None:
    result = run_ca(args, ca_env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr
    assert fake_server.chat_requests == []  # nothing went to a model


def test_a_sentence_is_still_a_task(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue({"text": "Nothing to do here."})
    result = run_ca(["--json", "explain", "the", "layout"], ca_env, tmp_path)
    assert len(fake_server.chat_requests) >= 1, result.stderr
    assert "explain the layout" in str(fake_server.chat_requests[0]["body"]["messages"])


def test_global_flags_after_the_command(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    from code_assistant.cli import _hoist_global_options

    assert _hoist_global_options(["run", "REQ.md", "--yes"], 0) == ["--yes", "run", "REQ.md"]
    assert _hoist_global_options(["do", "fix it", "--yes"], 0) == ["--yes", "do", "fix it"]
    # Unquoted task words keep a "--yes" among them as text: it approves nothing.
    words = ["do", "fix", "the", "--yes", "flag"]
    assert _hoist_global_options(words, 0) == words
    assert _hoist_global_options(["feedback", "add", "--model", "m"], 0)[1:3] == ["add", "--model"]
    shown = run_ca(["config", "show", "--json", "--num-ctx", "4242"], ca_env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert '"value": 4242' in shown.stdout and '"source": "cli"' in shown.stdout
