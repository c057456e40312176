"""`ca bench run` end to end: scripted runners against the fake model servers, scored by the
harness, reported as results.json, report.md and report.html; then `ca bench compare`."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from code_assistant.bench.report import suite_rows
from tests.fakes.anthropic_api import API_KEY, FakeAnthropicServer
from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script
from tests.helpers import run_ca

MODEL = "qwen2.5-coder:14b"
RUNNER = f"openai:{MODEL}"
CLAUDE = "claude-sonnet-4-6"
ADDER = "def add(a, b):\n    return a + b\n"
ADDER_TESTS = "from adder import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
DOCS = {
    "good.md": "# GOOD-TASK\n\nWrite `adder.py` with `add(a, b)` returning the sum.\n",
    "good.tests.py": (
        "from adder import add\n\n\ndef test_sum():\n    assert add(2, 3) == 5\n\n\n"
        "def test_negative():\n    assert add(-1, 1) == 0\n"
    ),
    "broken.md": "# BROKEN-TASK\n\nWrite `broken.py` with `main()`.\n",
    "broken.tests.py": "from broken import main\n\n\ndef test_main():\n    assert main() == 0\n",
    "slow.txt": "SLOW-TASK: write partial.py and then think for a long time.\n",
    "refused.md": "# REFUSED-TASK\n\nThe model server refuses this one.\n",
    "README.md": "This suite's README is not a task.\n",
}


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


SCRIPTS: dict[str, list[Any]] = {
    "GOOD-TASK": [
        {"text": "Writing the module and its test.", "tool_calls": [
            call("write_file", path="adder.py", content=ADDER),
            call("write_file", path="tests/test_adder.py", content=ADDER_TESTS),
        ]},
        "Done: adder.py with a test.",
    ],
    "BROKEN-TASK": [
        {"tool_calls": [
            call("write_file", path="broken.py", content="def main(:\n    return 0\n"),
            call("write_file", path="helper.py", content="VALUE = 1\n"),
        ]},
        "All done and tested.",  # the claim the harness does not trust
    ],
    "SLOW-TASK": [
        {"tool_calls": [call("write_file", path="partial.py", content="x = 1\n")]},
        {"text": "still thinking", "delay": 60},
    ],
    "REFUSED-TASK": [{"error": {"status": 400, "message": "context length exceeded"}}],
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


def scripted(request: dict[str, Any]) -> Any:
    """The reply for this task and step, from the task named in the first user message.

    Stateless, so jobs can run concurrently: the step is the number of assistant turns so far.
    """
    messages = request["body"]["messages"]
    task = next(_text(m["content"]) for m in messages if m["role"] == "user")
    replies = next(r for key, r in SCRIPTS.items() if key in task)
    step = sum(1 for m in messages if m["role"] == "assistant")
    return replies[min(step, len(replies) - 1)]


def isolated_env(base: Path, **extra: str) -> dict[str, str]:
    """Like the ca_env fixture: no user settings, no real model services."""
    home, ca_home = base / "home", base / "ca-home"
    for directory in (home, ca_home):
        directory.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CA_", "OLLAMA_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        HOME=str(home), CA_HOME=str(ca_home), CA_MAX_RETRIES="0", NO_COLOR="1",
        CA_SYMBOL_MAP_TOKENS="0", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull,
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # the scored pytest runs need no plugins
        CA_TASK_DRAFT_LINES="0",  # replies are scripted per tool-loop step (test_task_draft.py)
        **extra,
    )
    return env


def make_suite(root: Path, names: tuple[str, ...]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_text(DOCS[name], encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One `ca bench run` of four tasks, three jobs at once, against the scripted server."""
    base = tmp_path_factory.mktemp("bench")
    make_suite(base / "suite", ("good.md", "good.tests.py", "broken.md",
                                "broken.tests.py", "slow.txt", "refused.md", "README.md"))
    with FakeModelServer(Script(default=scripted)) as server:
        env = isolated_env(base, CA_OPENAI_BASE_URL=server.openai_url)
        result = run_ca(["bench", "run", "suite", "--runner", RUNNER, "--jobs", "3",
                         "--timeout", "15", "--test-timeout", "60"], env, base, timeout=120)
        requests = server.chat_requests
    out_dirs = list((base / "bench" / "results").iterdir())
    yield {"base": base, "result": result, "out": out_dirs[0] if out_dirs else base,
           "out_dirs": out_dirs, "requests": requests}


def load(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def by_task(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["task"]: r for r in data["results"]}


def test_run_writes_one_result_per_task_in_a_timestamped_directory(
    suite_run: dict[str, Any]
) -> None:
    result = suite_run["result"]
    assert result.returncode == 0, result.stderr
    assert len(suite_run["out_dirs"]) == 1
    data = load(suite_run["out"])
    assert data["kind"] == "suite" and data["suite_name"] == "suite"
    assert [t["name"] for t in data["tasks"]] == ["broken", "good", "refused", "slow"]
    assert [r["task"] for r in data["results"]] == ["broken", "good", "refused", "slow"]
    assert data["runners"] == [{"label": RUNNER, "kind": "agent", "backend": "openai",
                                "model": MODEL}]
    assert "[4/4]" in result.stderr and "report.html" in result.stderr
    tools = {t["function"]["name"] for t in suite_run["requests"][0]["body"]["tools"]}
    assert {"write_file", "edit_file", "run_shell", "read_file"} <= tools


def test_a_correct_solution_scores_every_test_passed(suite_run: dict[str, Any]) -> None:
    good = by_task(load(suite_run["out"]))["good"]
    assert (good["status"], good["error"], good["stop_reason"]) == ("done", "", "done")
    assert (good["model_calls"], good["tool_calls"]) == (2, 2)
    assert good["prompt_tokens"] > 0 and good["completion_tokens"] > 0
    assert good["paths"] == ["adder.py", "tests/test_adder.py"]
    assert (good["files"], good["lines"], good["test_files"], good["test_lines"]) == (2, 7, 1, 5)
    assert good["code_lines"] == 2
    assert good["syntax_errors"] == 0
    assert (good["tests"]["passed"], good["tests"]["collected"], good["tests"]["ok"]) == (
        1, 1, True)
    assert (good["heldout"]["passed"], good["heldout"]["collected"], good["heldout"]["ok"]) == (
        2, 2, True)
    assert good["recoveries"] == dict.fromkeys(
        ["text_tool_calls", "explain_reprompts", "constrained_retries", "tool_errors",
         "failed_commands", "gave_up"], 0)


def test_a_syntax_error_is_counted_whatever_the_agent_claims(suite_run: dict[str, Any]) -> None:
    broken = by_task(load(suite_run["out"]))["broken"]
    # The agent said it was done; ca's own check (py_compile) disagreed, and so does the
    # harness, which counts for itself.
    assert (broken["status"], broken["stop_reason"]) == ("incomplete", "unverified")
    assert broken["final_text"] == "All done and tested."
    assert broken["syntax_errors"] == 1
    assert broken["syntax_error_details"][0].startswith("broken.py:1:")
    assert broken["tests"] is None  # it wrote no tests
    held = broken["heldout"]
    assert not held["ok"] and held["passed"] == 0 and held["errors"] >= 1


def test_a_runner_that_hangs_is_recorded_as_a_timeout(suite_run: dict[str, Any]) -> None:
    slow = by_task(load(suite_run["out"]))["slow"]
    assert slow["status"] == "timeout"
    assert slow["error"] == "stopped after the 15s timeout"
    assert 8 <= slow["seconds"] < 20
    assert slow["paths"] == ["partial.py"]  # what it wrote before it hung is still scored
    assert slow["model_calls"] == 2  # seen in its event stream; tokens unknown
    assert slow["heldout"] is None and slow["tests"] is None


def test_a_runner_that_fails_is_an_error_with_its_message(suite_run: dict[str, Any]) -> None:
    refused = by_task(load(suite_run["out"]))["refused"]
    assert (refused["status"], refused["exit_code"]) == ("error", 3)
    assert refused["error"].startswith("ca: error: the server at http://127.0.0.1:")
    assert refused["error"].endswith("(HTTP 400): context length exceeded")
    assert refused["model_calls"] == 1 and refused["files"] == 0


def test_markdown_report_has_the_articles_table(suite_run: dict[str, Any]) -> None:
    out = suite_run["out"]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| task | runner | model | sample | status | time (s) | calls |" in markdown
    good = by_task(load(out))["good"]
    assert (f"| good | {RUNNER} | {MODEL} | 1 | done | {good['seconds']:.1f} | 2 | "
            in markdown)
    assert "| 7 (5) | 1/1 | 2/2 | 0 | 0 |" in markdown
    assert "| slow | " in markdown and "| timeout |" in markdown
    assert "broken × openai:qwen2.5-coder:14b #1: syntax: broken.py:1:" in markdown
    assert "## Recoveries by category" in markdown
    assert f"| {RUNNER} | 0 | 0 | 0 | 0 | 0 | 0 | 0 |" in markdown
    assert markdown in suite_run["result"].stdout


class _Page(HTMLParser):
    """Rows of each table by id, and every image's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self._table = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._table = values.get("id", "")
            self.tables[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = []
        elif tag == "img":
            self.images.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row:
            self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_report_rows_match_results_and_images_exist(suite_run: dict[str, Any]) -> None:
    out = suite_run["out"]
    data = load(out)
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    assert page.tables["results"] == suite_rows(data["results"])
    assert [row[0] for row in page.tables["results"]] == ["broken", "good", "refused", "slow"]
    # done: only good (broken's own check fails: ca says it is not done)
    assert page.tables["runners"][0][:6] == [RUNNER, MODEL, "4", "1", "1", "1"]
    assert len(page.images) == 5
    for image in page.images:
        png = out / image["data-file"]
        assert png.is_file() and png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        assert base64.b64decode(image["src"][len(prefix):]) == png.read_bytes()
    assert sorted(p.name for p in (out / "charts").iterdir()) == [
        "calls.png", "lines.png", "recoveries.png", "tests.png", "time.png"]


def test_each_job_keeps_its_logs_and_removes_its_workspace(suite_run: dict[str, Any]) -> None:
    out = suite_run["out"]
    good = by_task(load(out))["good"]
    logs = out / good["log"]
    events = [json.loads(line) for line in (logs / "stdout.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "result"
    assert (logs / "heldout.xml").is_file() and (logs / "own-tests.xml").is_file()
    assert good["workspace"] == ""


def test_compare_two_result_sets(suite_run: dict[str, Any], tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(suite_run["out"], first)
    data = load(first)
    for result in data["results"]:
        result["seconds"] += 1.5
        if result["task"] == "broken":
            result["syntax_errors"] = 0
            result["heldout"].update(passed=1, collected=1)
    second.mkdir()
    (second / "results.json").write_text(json.dumps(data), encoding="utf-8")
    env = isolated_env(tmp_path)
    result = run_ca(["bench", "compare", str(first), str(second / "results.json"),
                     "--out", str(tmp_path / "cmp.md")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    good_before = by_task(load(first))["good"]["seconds"]
    assert f"| good | {RUNNER} | {good_before:.1f} → {good_before + 1.5:.1f} (+1.5) |" in (
        result.stdout)
    broken_line = next(line for line in result.stdout.splitlines() if "| broken |" in line)
    assert "| 1.0 → 0.0 (−1.0) |" in broken_line  # syntax errors
    assert broken_line.endswith("| 0/1 → 1/1 |")  # held-out passed
    assert "## By runner" in result.stdout
    assert (tmp_path / "cmp.md").read_text(encoding="utf-8") == result.stdout


def run_in_process(
    args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """`ca ARGS` in this process (fast, for input errors); the exit code and stderr."""
    from code_assistant.cli import run

    monkeypatch.setenv("CA_HOME", str(cwd / "ca-home"))
    code = run(["--cwd", str(cwd), *args])
    return code, capsys.readouterr().err


def test_compare_refuses_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "x.json").write_text('{"kind": "other"}')
    (tmp_path / "h.json").write_text(json.dumps({"kind": "humaneval"}))
    (tmp_path / "s.json").write_text(json.dumps({"kind": "suite"}))
    for args, message in (
        (["missing", "x.json"], "no bench results at"),
        (["x.json", "x.json"], "is not a results.json written by `ca bench`"),
        (["h.json", "s.json"], "cannot compare a humaneval result set with a suite one"),
    ):
        paths = [str(tmp_path / name) for name in args]
        code, stderr = run_in_process(["bench", "compare", *paths], tmp_path, capsys,
                                      monkeypatch)
        assert code == 2, stderr
        assert message in stderr
        assert len(stderr.strip().splitlines()) == 1


def test_claude_runner_against_a_fake_messages_api(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", ("good.md", "good.tests.py"))
    with FakeAnthropicServer(Script(models=[CLAUDE], default=scripted)) as api:
        env = isolated_env(tmp_path, CA_ANTHROPIC_BASE_URL=api.url,
                           CA_ANTHROPIC_API_KEY=API_KEY, CA_ANTHROPIC_MODEL=CLAUDE)
        result = run_ca(["bench", "run", str(suite), "--runner", "claude", "--out", "res"],
                        env, tmp_path, timeout=120)
        requests = api.message_requests
    assert result.returncode == 0, result.stderr
    good = load(tmp_path / "res")["results"][0]
    assert (good["runner"], good["backend"], good["model"]) == ("claude", "anthropic", CLAUDE)
    assert (good["status"], good["model_calls"]) == ("done", 2)
    assert good["prompt_tokens"] > 0
    assert good["heldout"]["ok"] and good["tests"]["ok"]
    assert len(requests) == 2
    first = requests[0]["body"]
    assert first["model"] == CLAUDE and "Implementer" in first["system"]
    assert {t["name"] for t in first["tools"]} >= {"write_file", "run_shell"}
    results = requests[1]["body"]["messages"][-1]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result"]
    for path in (tmp_path / "res").rglob("*"):
        if path.is_file():  # the key stays on the machine: never in results or logs
            assert API_KEY.encode() not in path.read_bytes(), path


def test_claude_runner_needs_a_key(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", ("good.md",))
    result = run_ca(["bench", "run", str(suite), "--runner", "claude"], isolated_env(tmp_path),
                    tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ca: error: the claude runner needs an Anthropic API key: set anthropic_api_key in "
        "~/.code-assistant/config.toml or CA_ANTHROPIC_API_KEY (machine-only)"
    ]
    assert not (tmp_path / "bench").exists()


def pipeline_script() -> list[Any]:
    """The local pipeline's replies in order: plan, implement, review, test, docs."""
    plan = {"intent": "implementation", "summary": "An adder module.",
            "files": [{"path": "adder.py", "purpose": "add(a, b)"}],
            "steps": ["Write add"], "acceptance_criteria": ["add(2, 3) == 5"]}
    return [
        json.dumps(plan),
        {"tool_calls": [call("write_file", path="adder.py", content=ADDER)]},
        "Wrote adder.py.",
        json.dumps({"findings": []}),
        {"tool_calls": [call("write_file", path="tests/test_adder.py", content=ADDER_TESTS)]},
        "Wrote the tests.",
        {"tool_calls": [call("write_file", path="README.md", content="# adder\n")]},
        "Wrote README.md.",
    ]


def test_local_runner_runs_the_pipeline_with_the_command_line_model(tmp_path: Path) -> None:
    suite = make_suite(tmp_path / "suite", ("good.md", "good.tests.py"))
    model = "qwen2.5-coder:7b"
    with FakeModelServer(Script(replies=pipeline_script())) as server:
        env = isolated_env(tmp_path, CA_OLLAMA_HOST=server.url)
        # --model is a CLI setting of the bench command: it must reach the pipeline's process.
        result = run_ca(["--model", model, "bench", "run", str(suite), "--out", "res",
                         "--keep"], env, tmp_path, timeout=120)
        remaining = server.remaining
        models = {r["model"] for r in server.chat_requests}
    assert result.returncode == 0, result.stderr
    assert remaining == 0 and models == {model}
    good = load(tmp_path / "res")["results"][0]
    assert (good["runner"], good["kind"], good["backend"], good["model"]) == (
        "local", "pipeline", "ollama", model)
    assert (good["status"], good["stop_reason"], good["model_calls"]) == ("done", "done", 8)
    assert good["paths"] == ["README.md", "adder.py", "tests/test_adder.py"]
    assert good["heldout"]["ok"] and good["tests"]["ok"] and good["syntax_errors"] == 0
    kept = tmp_path / "res" / good["workspace"]
    assert (kept / "adder.py").read_text() == ADDER
    assert list((kept / ".ca" / "runs").glob("*/report.json"))


@pytest.mark.parametrize(("args", "message"), [
    (["bench", "run", "nowhere"], "nowhere' is not a directory of requirement"),
    (["bench", "run", "empty"], "no requirement documents (*.md, *.txt) in"),
    (["bench", "run", "blank"], "blank/blank.md' is empty: write the requirement"),
    (["bench", "run", "empty", "--runner", "gpt"], "unknown runner 'gpt'; use local |"),
    (["bench", "run", "empty", "-r", "openai:m", "-r", "openai:m"], "is given twice"),
    (["bench", "run", "empty", "--samples", "0"], "Invalid value for '--samples'"),
    (["bench", "humaneval", "--runner", "ollama"], "unknown runner 'ollama'"),
    (["bench", "humaneval", "--repair-rounds", "-1"], "Invalid value for '--repair-rounds'"),
])
def test_bad_input_is_one_line(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "blank.md").write_text("  \n")
    code, stderr = run_in_process(args, tmp_path, capsys, monkeypatch)
    assert code == 2, stderr
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bench").exists()
