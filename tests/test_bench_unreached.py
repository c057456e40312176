"""`ca bench run` reports only what runners did (issue 17.5): a run that never reached its model
is an error with the README's exit code, held-out tests on an empty workspace pass nothing, and
the pipeline's "continue it with `ca run --resume ID`" only points at a run that still exists."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script
from tests.helpers import run_ca
from tests.test_bench_suite import ADDER, MODEL, call, isolated_env

TASK = "# ADDER-TASK\n\nWrite `adder.py` with `add(a, b)` returning the sum.\n"
# The first test asserts nothing of the code: on an empty workspace it passes.
HELDOUT = (
    "import importlib.util\n\n\ndef test_no_stray_module():\n"
    "    assert importlib.util.find_spec('nonexistent_module_xyz') is None\n\n\n"
    "def test_sum():\n    from adder import add\n\n    assert add(2, 3) == 5\n"
)


def closed_port_url() -> str:
    """An address where nothing listens: the port was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def suite(base: Path) -> Path:
    folder = base / "suite"
    folder.mkdir()
    (folder / "adder.md").write_text(TASK, encoding="utf-8")
    (folder / "adder.tests.py").write_text(HELDOUT, encoding="utf-8")
    return folder


def results(out: Path) -> list[dict[str, Any]]:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]


def test_a_local_run_with_no_backend_is_an_error_not_a_result(tmp_path: Path) -> None:
    suite(tmp_path)
    (tmp_path / "suite" / "second.md").write_text("# SECOND\n\nWrite `b.py`.\n")
    env = isolated_env(tmp_path, CA_OLLAMA_HOST=closed_port_url())
    result = run_ca(["--backend", "ollama", "bench", "run", "suite", "--runner", "local",
                     "--out", "res"], env, tmp_path, timeout=120)
    assert result.returncode == 3, result.stderr  # README: the backend cannot be reached
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ca: error: no run reached its model (local: "), last
    assert "cannot reach Ollama" in last and "nothing to score" in last, last
    assert "--resume" not in last, last
    assert result.stdout == ""  # no report table that could pass for a result
    row, second = results(tmp_path / "res")
    assert (row["status"], row["reached"], row["heldout"], row["tests"]) == (
        "error", False, None, None)
    # The runner's next job is not started only to wait out the same failure.
    assert second["error"].startswith("not run: an earlier job of local could not reach its")
    assert (second["reached"], second["heldout"], second["exit_code"]) == (False, None, 3)
    assert not (tmp_path / "res" / second["log"] / "stdout.jsonl").exists()
    # The job's workspace is gone: no hint may point at a run inside it.
    assert "--resume" not in row["error"] and "--resume" not in row["final_text"], row
    assert "--resume" not in (tmp_path / "res" / "report.md").read_text(encoding="utf-8")


def test_a_kept_workspace_gets_a_resume_hint_that_works_there(tmp_path: Path) -> None:
    suite(tmp_path)
    env = isolated_env(tmp_path, CA_OLLAMA_HOST=closed_port_url())
    result = run_ca(["--backend", "ollama", "bench", "run", "suite", "--runner", "local",
                     "--out", "res", "--keep"], env, tmp_path, timeout=120)
    assert result.returncode == 3, result.stderr
    (row,) = results(tmp_path / "res")
    kept = tmp_path / "res" / row["workspace"]
    (run_id,) = [p.name for p in (kept / ".ca" / "runs").iterdir() if p.is_dir()]
    hint = f"continue it with `ca --yes --cwd {kept} run --resume {run_id}`"
    assert hint in row["error"], row["error"]
    # The hint is a command that finds the run (it fails again only for the missing backend).
    again = run_ca(["--yes", "--backend", "ollama", "--cwd", str(kept), "run", "--resume",
                    run_id], env, tmp_path, timeout=60)
    assert again.returncode == 3, again.stderr
    assert f"resuming {run_id}" in again.stdout + again.stderr


def test_held_out_tests_on_an_empty_workspace_pass_nothing(tmp_path: Path) -> None:
    suite(tmp_path)
    with FakeModelServer(Script(default="Done: adder.py is written.")) as server:
        env = isolated_env(tmp_path, CA_OPENAI_BASE_URL=server.openai_url)
        result = run_ca(["bench", "run", "suite", "--runner", f"openai:{MODEL}", "--out", "res"],
                        env, tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr  # the model answered: a result, a poor one
    (row,) = results(tmp_path / "res")
    assert row["exit_code"] in (0, 1) and row["reached"] and row["paths"] == [], row
    held = row["heldout"]
    assert (held["passed"], held["collected"], held["ok"]) == (0, 2, False), held
    assert "| 0/2 (nothing written) |" in result.stdout, result.stdout


def test_a_runner_that_cannot_reach_its_model_fails_the_comparison(tmp_path: Path) -> None:
    suite(tmp_path)
    replies = [
        {"tool_calls": [call("write_file", path="adder.py", content=ADDER)]},
        "Done: adder.py.",
    ]
    with FakeModelServer(Script(replies=replies)) as server:
        env = isolated_env(tmp_path, CA_OPENAI_BASE_URL=server.openai_url,
                           CA_OLLAMA_HOST=closed_port_url())
        result = run_ca(["bench", "run", "suite", "-r", f"openai:{MODEL}", "-r", "ollama:m",
                         "--out", "res"], env, tmp_path, timeout=120)
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ca: error: 1 of 2 runs did not reach their model (ollama:m: "), last
    rows = {r["runner"]: r for r in results(tmp_path / "res")}
    solved = rows[f"openai:{MODEL}"]
    assert solved["reached"] and solved["heldout"]["passed"] == 2, solved
    assert rows["ollama:m"]["heldout"] is None and not rows["ollama:m"]["reached"]
    assert f"| adder | openai:{MODEL} |" in result.stdout  # the report of what did run is shown
