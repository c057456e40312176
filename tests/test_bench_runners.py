"""Runner specs, their command lines and accounts, suite discovery, child settings, lanes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.bench.harness import child_env, discover_tasks
from code_assistant.bench.lanes import run_in_lanes
from code_assistant.bench.runners import (
    AGENT_INSTRUCTION,
    RECOVERY_KEYS,
    Runner,
    agent_metrics,
    command,
    parse_runner,
    parse_runners,
    pipeline_metrics,
)
from code_assistant.config import Config, load_config
from code_assistant.errors import UsageError

CONFIG = Config(architect_model="small:7b", implementer_model="big:14b", reviewer_model="big:14b",
                tester_model="small:7b", docs_model="small:7b", anthropic_api_key="sk-ant-x",
                anthropic_model="claude-sonnet-4-6")


def test_runner_specs() -> None:
    assert parse_runner("local", CONFIG) == Runner("local", "pipeline", "ollama",
                                                   "small:7b+big:14b")
    assert parse_runner("claude", CONFIG) == Runner("claude", "agent", "anthropic",
                                                    "claude-sonnet-4-6")
    assert parse_runner("claude:claude-haiku-4-5", CONFIG).model == "claude-haiku-4-5"
    assert parse_runner("openai:qwen2.5-coder:7b", CONFIG) == Runner(
        "openai:qwen2.5-coder:7b", "agent", "openai", "qwen2.5-coder:7b")
    assert parse_runner(" ollama:llama3.2:3b ", CONFIG).backend == "ollama"


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,40}", fullmatch=True))
def test_any_model_name_survives_the_spec(model: str) -> None:
    runner = parse_runner(f"openai:{model}", CONFIG)
    assert (runner.backend, runner.model) == ("openai", model)
    assert "/" not in runner.slug and ":" not in runner.slug


@pytest.mark.parametrize("spec", ["", "openai", "openai:", "gpt:4", "Local", "ollama"])
def test_unknown_specs_are_refused(spec: str) -> None:
    with pytest.raises(UsageError, match="unknown runner"):
        parse_runner(spec, CONFIG)


def test_claude_needs_a_key_and_runners_are_unique() -> None:
    with pytest.raises(UsageError, match="needs an Anthropic API key"):
        parse_runner("claude", Config())
    with pytest.raises(UsageError, match="given twice"):
        parse_runners(["local", "local"], CONFIG)
    assert [r.label for r in parse_runners([], CONFIG)] == ["local"]


def test_only_remote_backends_run_concurrently() -> None:
    assert parse_runner("openai:m", CONFIG).concurrent
    assert parse_runner("claude", CONFIG).concurrent
    assert not parse_runner("ollama:m", CONFIG).concurrent
    assert not parse_runner("local", CONFIG).concurrent  # the pipeline on Ollama
    assert parse_runner("local", Config(backend="openai")).concurrent  # e.g. a vLLM cluster


def test_command_lines(tmp_path: Path) -> None:
    doc = tmp_path / "req.md"
    local = command(parse_runner("local", CONFIG), doc, "text")
    assert local[-3:] == ["run", "--json", str(doc)] and "--yes" in local
    agent = command(parse_runner("openai:m", CONFIG), doc, "--looks like an option")
    assert agent[agent.index("--backend") + 1] == "openai"
    assert agent[agent.index("--model") + 1] == "m"
    assert agent[-3:-1] == ["--json", "--"]  # the task can never be read as an option
    assert agent[-1].startswith("--looks like an option") and agent[-1].endswith(
        AGENT_INSTRUCTION)


def test_agent_account_from_its_result_event_or_what_it_showed() -> None:
    recoveries = {"tool_errors": 2, "gave_up": 1}
    result = {"event": "result", "stop_reason": "max_steps", "model_calls": 9, "tool_calls": 7,
              "prompt_tokens": 100, "completion_tokens": 20, "recoveries": recoveries,
              "final_text": "x" * 900}
    lines = "noise\n" + json.dumps({"event": "model_call"}) + "\n" + json.dumps(result)
    metrics = agent_metrics(lines)
    assert metrics is not None
    assert (metrics["model_calls"], metrics["run_status"], len(metrics["final_text"])) == (
        9, "incomplete", 500)
    assert metrics["recoveries"] == {k: recoveries.get(k, 0) for k in RECOVERY_KEYS}
    partial = "\n".join(json.dumps({"event": e}) for e in
                        ("model_call", "tool_call", "tool_result", "model_call"))
    cut = agent_metrics(partial + "\n{broken")
    assert cut is not None and (cut["model_calls"], cut["tool_calls"]) == (2, 1)
    assert agent_metrics("") is None and agent_metrics("[1, 2]\nnot json") is None


def test_pipeline_account_from_its_report(tmp_path: Path) -> None:
    assert pipeline_metrics(tmp_path) is None
    run = tmp_path / ".ca" / "runs" / "20260101-000000-abcd"
    run.mkdir(parents=True)
    (run / "report.json").write_text("{damaged")
    assert pipeline_metrics(tmp_path) is None
    report = {"status": "failed", "error": "phase test failed: backend down",
              "totals": {"model_calls": 5, "tool_calls": 3, "prompt_tokens": 50,
                         "completion_tokens": 9},
              "recoveries": {"text_tool_calls": 4, "total": 4},
              "phases": [{"models": ["a"]}, {"models": ["b", "a"]}],
              "tests": {"passed": False}}
    (run / "report.json").write_text(json.dumps(report))
    metrics = pipeline_metrics(tmp_path)
    assert metrics is not None
    assert (metrics["model_calls"], metrics["run_status"], metrics["models"]) == (
        5, "error", ["a", "b"])
    assert metrics["recoveries"]["text_tool_calls"] == 4 and "total" not in metrics["recoveries"]
    assert metrics["pipeline_tests_passed"] is False


def test_discover_tasks(tmp_path: Path) -> None:
    for name, text in {"b.md": "# b", "a.txt": "a", "README.md": "about", "notes.rst": "x",
                       "b.tests.py": "def test(): pass\n"}.items():
        (tmp_path / name).write_text(text)
    tasks = discover_tasks(tmp_path)
    assert [(t.name, t.text) for t in tasks] == [("a", "a"), ("b", "# b")]
    assert tasks[0].heldout is None and tasks[1].heldout == (tmp_path / "b.tests.py").resolve()
    (tmp_path / "a.md").write_text("again")
    with pytest.raises(UsageError, match="two requirement documents are named 'a'"):
        discover_tasks(tmp_path)


def test_project_and_command_line_settings_reach_the_runners(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "ca.config").write_text(
        'implementer_model = "big:32b"\nmax_steps = 7\nallow_commands = ["pytest *"]\n'
        "one_model_at_a_time = false\n"
    )
    home = {"CA_HOME": str(tmp_path / "home")}
    loaded = load_config(project, cli={"approval": "auto", "anthropic_api_key": "sk-ant-x",
                                       "num_ctx": 4096}, env=home)
    env = child_env(loaded, {"PATH": "/bin", **home})
    assert env["PATH"] == "/bin"
    assert (env["CA_IMPLEMENTER_MODEL"], env["CA_MAX_STEPS"], env["CA_APPROVAL"]) == (
        "big:32b", "7", "auto")
    assert "CA_ANTHROPIC_API_KEY" not in env  # machine-only: never handed on
    assert "CA_ARCHITECT_MODEL" not in env  # defaults stay defaults
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    again = load_config(workspace, env=env).config  # what the runner's own `ca` will see
    for key in ("implementer_model", "max_steps", "allow_commands", "one_model_at_a_time",
                "approval", "num_ctx"):
        assert getattr(again, key) == getattr(loaded.config, key), key


def test_lanes_keep_local_jobs_one_at_a_time() -> None:
    running = {"local": 0, "remote": 0}
    peak = {"local": 0, "remote": 0}
    lock = threading.Lock()

    def work(job: tuple[str, int], stop: threading.Event) -> str:
        lane, n = job
        with lock:
            running[lane] += 1
            peak[lane] = max(peak[lane], running[lane])
        time.sleep(0.05)
        with lock:
            running[lane] -= 1
        return f"{lane}{n}"

    jobs = [(lane, n) for n in range(4) for lane in ("local", "remote")]
    seen: list[tuple[str, int, int]] = []
    results, interrupted = run_in_lanes(jobs, lambda job: job[0] == "remote", work, 3,
                                        lambda r, done, total: seen.append((r, done, total)))
    assert results == [f"{lane}{n}" for lane, n in jobs] and not interrupted
    assert peak == {"local": 1, "remote": 3}
    assert sorted(done for _, done, _ in seen) == list(range(1, 9))


def test_a_failing_job_stops_the_queue_and_is_raised() -> None:
    ran: list[int] = []

    def work(job: int, stop: threading.Event) -> int | None:
        if stop.is_set():
            return None
        ran.append(job)
        if job == 1:
            raise UsageError("backend gone")
        return job

    with pytest.raises(UsageError, match="backend gone"):
        run_in_lanes(list(range(6)), lambda job: False, work, 1)
    assert ran == [0, 1]
