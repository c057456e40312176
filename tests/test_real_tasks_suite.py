"""The real-model task suite and its runner: every hidden check can fail, and the scoring adds up.

Each task's check must FAIL on the untouched starter and PASS on the reference solution shipped
beside it; the runner is driven end to end against the scripted fake server over loopback.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest
from benchmarks.real_tasks import main as real_tasks_main
from benchmarks.realtasks.proxy import CountingProxy
from benchmarks.realtasks.report import summarize
from benchmarks.realtasks.runners import Context, command, metrics
from benchmarks.realtasks.suite import IGNORED, load_tasks, prepare_workspace, score

from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script

TASKS = load_tasks()
KIND_TOOLS = {"js-": "node", "rust-": "cargo"}


def _needs(task_name: str) -> str | None:
    return next((tool for prefix, tool in KIND_TOOLS.items() if task_name.startswith(prefix)),
                None)


def test_suite_is_large_and_varied() -> None:
    names = [t.name for t in TASKS]
    assert len(names) >= 16
    assert sum(n.startswith("js-") for n in names) >= 2
    assert sum(n.startswith("rust-") for n in names) >= 2


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_task_is_one_sentence_and_hides_its_check(task, tmp_path: Path) -> None:
    sentence = task.sentence
    assert sentence and "\n" not in sentence and len(sentence) < 300
    assert (task.path / "solution").is_dir()
    workspace = prepare_workspace(task, tmp_path / "ws")
    seen = {p.name for p in workspace.rglob("*") if ".git" not in p.parts}
    assert not seen & {"check.py", "solution", "mutant.py", "task.txt"}
    assert sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*")
                  if p.is_file() and ".git" not in p.parts) == task.starter_files()
    assert (workspace / ".git").is_dir()


@pytest.mark.parametrize("task", TASKS, ids=[t.name for t in TASKS])
def test_check_fails_on_starter_and_passes_on_solution(task, tmp_path: Path) -> None:
    tool = _needs(task.name)
    if tool and shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    untouched = score(task, prepare_workspace(task, tmp_path / "starter"))
    assert not untouched.solved, untouched.message
    assert untouched.message.startswith("FAIL"), untouched.message
    solved = score(task, prepare_workspace(task, tmp_path / "solved", task.path / "solution"))
    assert solved.solved, solved.message


def test_check_sees_through_tool_litter(tmp_path: Path) -> None:
    """ca.config, .ca/ and aider's history files are ignored; the answer alone is scored."""
    task = next(t for t in TASKS if t.name == "rename-across-files")
    workspace = prepare_workspace(task, tmp_path / "ws", task.path / "solution")
    (workspace / ".ca").mkdir()
    (workspace / ".ca" / "note.py").write_text("calc_total = 1\n")
    (workspace / "ca.config").write_text("# calc_total\n")
    assert score(task, workspace).solved
    assert ".ca" in IGNORED and "ca.config" in IGNORED


def test_unknown_task_is_a_clear_error(tmp_path: Path, capsys) -> None:
    code = real_tasks_main(["--server", "http://127.0.0.1:9", "--tasks", "no-such-task",
                            "--out", str(tmp_path)])
    assert code == 2
    assert "unknown task(s): no-such-task" in capsys.readouterr().err


def _post(url: str, path: str) -> int:
    request = urllib.request.Request(url + path, data=json.dumps({
        "model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        json.loads(reply.read())
        return reply.status


def test_proxy_counts_completion_calls_only() -> None:
    with FakeModelServer(Script(models=["m"], default="hello")) as server, \
            CountingProxy(server.url) as proxy:
        assert _post(proxy.url, "/v1/chat/completions") == 200
        assert _post(proxy.url, "/v1/chat/completions") == 200
        with urllib.request.urlopen(proxy.url + "/v1/models", timeout=10) as reply:
            assert reply.status == 200
        assert proxy.take() == 2
        assert proxy.take() == 0
        assert proxy.wait_idle(1.0)
        assert len(server.chat_requests) == 2


def test_ca_run_end_to_end_is_scored_by_the_hidden_check(tmp_path: Path) -> None:
    """The whole runner against the fake server: ca writes the module, the check passes."""
    task = next(t for t in TASKS if t.name == "create-slugify")
    solution = (task.path / "solution" / "textutil.py").read_text()
    write = {"tool_calls": [{"name": "write_file",
                             "arguments": {"path": "textutil.py", "content": solution}}]}
    script = Script(models=["fake-coder"], replies=[write], default="Done.")
    with FakeModelServer(script) as server:
        code = real_tasks_main(["--server", server.url, "--served-name", "fake-coder",
                                "--runner", "ca", "--tasks", "create-slugify,edge-case",
                                "--timeout", "120", "--out", str(tmp_path / "out")])
        chat_calls = len(server.chat_requests)
    assert code == 0
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    by_task = {r["task"]: r for r in data["results"]}
    assert by_task["create-slugify"]["solved"] is True
    assert by_task["edge-case"]["solved"] is False  # "Done." without a change solves nothing
    assert "ZeroDivisionError" in by_task["edge-case"]["check"]
    assert sum(r["model_calls"] for r in data["results"]) == chat_calls
    assert by_task["create-slugify"]["agent_model_calls"] >= 1
    assert data["summary"][0]["solved"] == 1
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| ca | 1/2 | 50% |" in report
    assert (tmp_path / "out" / "charts" / "runners.png").stat().st_size > 1000


def test_summary_takes_medians_and_keeps_unknowns_unknown() -> None:
    def result(runner: str, solved: bool, seconds: float, calls: int, rec: int | None) -> dict:
        return {"runner": runner, "task": f"t{seconds}", "solved": solved, "seconds": seconds,
                "timed_out": seconds >= 240, "model_calls": calls, "recoveries": rec,
                "max_same_call": None}

    results = [result("ca", True, 10, 3, 1), result("ca", False, 240, 30, 4),
               result("ca", True, 20, 5, 0), result("aider", False, 30, 1, None)]
    ca, aider = summarize(results, ["ca", "aider"])
    assert (ca["solved"], ca["median_seconds"], ca["median_model_calls"]) == (2, 20, 5)
    assert (ca["model_calls"], ca["recoveries"], ca["timeouts"]) == (38, 5, 1)
    assert aider["success_rate"] == 0 and aider["recoveries"] is None


def test_mini_trajectory_gives_format_errors_and_repeats(tmp_path: Path) -> None:
    task = TASKS[0]
    ctx = Context(task, tmp_path / "ws", tmp_path, "http://127.0.0.1:1", "m")
    argv, env = command("mini", ctx)
    assert "mini_textbased.yaml" in argv and env["MSWEA_CONFIGURED"] == "true"
    assert argv[argv.index("-t") + 1] == task.sentence
    steps = [{"role": "assistant", "extra": {"actions": [{"command": "ls"}]}},
             {"role": "user", "content": "Please always provide EXACTLY ONE action"},
             {"role": "assistant", "extra": {"actions": [{"command": "ls"}]}}]
    (tmp_path / "mini.traj.json").write_text(json.dumps({
        "info": {"exit_status": "LimitsExceeded", "model_stats": {"api_calls": 3}},
        "messages": steps}))
    found = metrics("mini", ctx, "")
    assert found["recoveries"] == 1 and found["max_same_call"] == 2
    assert found["stop_reason"] == "LimitsExceeded" and found["agent_model_calls"] == 3


def test_ca_repeats_count_the_models_calls_not_its_own_checks(tmp_path: Path) -> None:
    ctx = Context(TASKS[0], tmp_path / "ws", tmp_path, "http://127.0.0.1:1", "m")
    check = {"name": "run_shell", "arguments": {"command": "pytest -q"}}
    lines = [{"event": "tool_call", "id": f"check_{n}", **check} for n in range(3)]
    lines += [{"event": "tool_call", "id": f"call_{n}", **check} for n in range(2)]
    lines.append({"event": "done", "stop_reason": "done", "model_calls": 2, "tool_calls": 2,
                  "recoveries": {}})
    found = metrics("ca", ctx, "\n".join(json.dumps(line) for line in lines))
    assert found["max_same_call"] == 2
