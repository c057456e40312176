"""One-shot task mode (`ca "TASK"`) as a real subprocess against the fake model server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca

BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
PYTEST = "python -m pytest -q -p no:cacheprovider"


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_task_writes_tests_fixes_and_passes(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path, backend: str
) -> None:
    fake_server.enqueue(
        call("write_file", path="calc.py", content=BUGGY),
        call("write_file", path="test_calc.py", content=TEST),
        call("run_shell", command=PYTEST),
        call("read_file", path="calc.py"),
        call("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        call("run_shell", command=PYTEST),
        {"text": "add() fixed; 1 test passes."},
    )
    result = run_ca(["--backend", backend, "--yes", "write calc.add with a test"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert "2 file(s) changed" in result.stdout
    assert "calc.py  +2 -0" in result.stdout and "test_calc.py  +5 -0" in result.stdout
    # The failing run's tail reached the model, and so did the passing one.
    tool_results = [
        m["content"] for m in fake_server.chat_requests[-1]["body"]["messages"]
        if m["role"] == "tool"
    ]
    assert "assert -1 == 5" in tool_results[2]
    assert "1 passed" in tool_results[5]
    # The real tests pass afterwards, outside the agent too.
    check = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert check.returncode == 0, check.stdout


def test_markdown_only_reply_is_reprompted_then_written(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(
        {"text": "Create greet.py:\n```python\nprint('hi')\n```"},
        call("write_file", path="greet.py", content="print('hi')\n"),
        {"text": "Wrote greet.py."},
    )
    result = run_ca(["--yes", "--json", "do", "create greet.py"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"event": "retry", "strategy": "explain_reprompt"} in events
    final = events[-1]
    assert final["event"] == "result"
    assert final["recoveries"]["explain_reprompts"] == 1
    assert final["files"] == [{"path": "greet.py", "added": 1, "removed": 0}]
    assert (tmp_path / "greet.py").read_text() == "print('hi')\n"


def test_without_yes_and_without_a_terminal_nothing_is_written(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(call("write_file", path="a.txt", content="x"), {"text": "could not"})
    result = run_ca(["write a.txt"], ca_env, tmp_path, input="")
    # The model's "done" does not make a task whose only write was refused a success.
    assert result.returncode == 1, result.stderr
    assert "rerun with --yes" in result.stdout
    assert "not done: 1 action(s) needed approval and there was no terminal" in result.stdout
    assert not (tmp_path / "a.txt").exists()
    # The time shown is what the run took, to the hundredth (it read 0.0s for a 0.5 s run).
    seconds = float(re.search(r"recoveries, (\d+\.\d\d)s", result.stdout).group(1))
    assert seconds > 0


def test_escape_attempts_leave_the_outside_untouched(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "link").symlink_to(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("safe")
    fake_server.enqueue(
        call("write_file", path="../outside.txt", content="owned"),
        call("write_file", path="link/outside.txt", content="owned"),
        {"text": "I could not write outside the project."},
    )
    result = run_ca(["--yes", "overwrite ../outside.txt"], ca_env, project)
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == "safe"
    assert "no files changed" in result.stdout


def test_empty_task_is_a_usage_error(ca_env: dict[str, str], tmp_path: Path) -> None:
    result = run_ca(["do", "  "], ca_env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("ca: error: empty task")


def test_the_symbol_map_of_the_project_reaches_the_first_prompt(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "geometry.py").write_text(
        "class Polygon:\n    def area(self):\n        return 0\n\n\ndef perimeter(p):\n    pass\n"
    )
    fake_server.enqueue({"text": "Nothing to change."})
    result = run_ca(["--yes", "look at the project"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    system = fake_server.chat_requests[0]["body"]["messages"][0]["content"]
    assert "geometry.py" in system and "Polygon" in system and "perimeter" in system
    assert (tmp_path / ".ca" / "index.db").exists()
    assert (tmp_path / ".ca" / ".gitignore").read_text() == "*\n"  # never in `git status`


def test_a_failed_command_shows_its_tail_and_markup_in_output_is_harmless(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(
        call("run_shell", command="echo '[bold red]not markup[/]'; echo LAST-LINE; exit 3"),
        call("read_file", path="[/]missing.py"),
        {"text": "The command fails."},
    )
    result = run_ca(["--yes", "run it"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "(cwd:" in line)
    assert lines[header].lstrip().startswith("✗") and "exit 3" in lines[header]
    assert "LAST-LINE" in "\n".join(lines[header:header + 4])
    assert "[bold red]not markup[/]" in result.stdout
    assert "[/]missing.py" in result.stdout


def test_a_call_repeated_without_progress_stops_the_task_with_exit_1(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("alpha\n")
    bad = call("edit_file", path="notes.txt", old="beta", new="gamma")
    single = {**ca_env, "CA_TASK_RESTARTS": "0"}
    fake_server.enqueue(bad, bad, bad)
    result = run_ca(["--yes", "--json", "do", "change beta to gamma in notes.txt"], single,
                    tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    final = json.loads(result.stdout.splitlines()[-1])
    assert (final["event"], final["stop_reason"]) == ("result", "stuck")
    assert final["stuck_call"] == "edit_file notes.txt" and final["stuck_warnings"] == 1
    assert len(fake_server.chat_requests) == 3
    # With the default fresh start, it stops only when the second attempt is stuck too.
    fake_server.enqueue(bad, bad, bad, bad, bad, bad)
    console = run_ca(["--yes", "change beta to gamma in notes.txt"], ca_env, tmp_path)
    assert console.returncode == 1
    assert len(fake_server.chat_requests) == 9 and fake_server.remaining == 0
    assert "stopped: the model repeated the same call (edit_file notes.txt) 3 times" in (
        console.stdout)
    assert console.stdout.rstrip().endswith(
        "stopped: the model repeated the same call without progress (see above)")


def test_a_stuck_task_starts_over_once_with_fresh_context_and_can_finish(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # Real 1.5B: most failed tasks ended stuck at 50-100 s, the first attempt's own wrong
    # replies being what it copied. A fresh start sees the task and the files as they are.
    (tmp_path / "notes.txt").write_text("alpha\n")
    bad = call("edit_file", path="notes.txt", old="beta", new="gamma")
    good = call("edit_file", path="notes.txt", old="alpha", new="omega")
    fake_server.enqueue(bad, bad, bad, bad, good, {"text": "Changed alpha to omega."})
    task = "change alpha to omega in notes.txt"
    result = run_ca(["--yes", "--json", "do", task], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "notes.txt").read_text() == "omega\n"
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"event": "retry", "strategy": "fresh_start"} in events
    final = events[-1]
    assert (final["stop_reason"], final["model_calls"]) == ("done", 6)
    fresh = fake_server.chat_requests[3]["body"]["messages"]
    assert [m["role"] for m in fresh] == ["system", "user"]  # none of the first attempt
    # Sampled hotter: at the configured 0.2 the real 1.5B re-sent the call that got it stuck.
    temperatures = [r["body"]["options"]["temperature"] for r in fake_server.chat_requests]
    assert temperatures[:3] == [0.2] * 3 and set(temperatures[3:]) == {0.7}
    assert fresh[1]["content"].endswith(
        "[ca: a first attempt at this task repeated the same call (edit_file notes.txt) "
        "without progress and was stopped. The files above show what they hold now, its "
        "changes included. Start again from the task: work out what is still wrong, and take "
        "a different approach from the one that failed.]")
    refused = fake_server.chat_requests[4]["body"]["messages"][-1]["content"]
    assert refused.startswith("error: not run: this exact call already got an earlier attempt")
