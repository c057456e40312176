"""HumanEval: completions from a fake model, run against the bundled problems' hidden tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.bench.humaneval import (
    completion_of,
    execute,
    extract_code,
    load_problems,
    with_examples,
    with_tests,
)
from code_assistant.bench.report import humaneval_rows
from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script
from tests.helpers import run_ca
from tests.test_bench_suite import _Page, isolated_env

MODEL = "qwen2.5-coder:14b"
LIMIT = 3


@cache
def problems() -> tuple[dict[str, Any], ...]:
    return tuple(load_problems(LIMIT))


def fenced(code: str) -> str:
    return f"Here is the function:\n\n```python\n{code}```\n\nIt handles every case."


def problem_in(request: dict[str, Any]) -> dict[str, Any]:
    task = next(m["content"] for m in request["body"]["messages"] if m["role"] == "user")
    return next(p for p in problems() if p["prompt"] in task)


def canonical_or_pass(request: dict[str, Any]) -> str:
    """The canonical solution over the OpenAI API, a bare `pass` over Ollama's."""
    if request["path"].startswith("/v1/"):
        return fenced(problem_in(request)["canonical_solution"])
    return "pass"


def pass_then_canonical(request: dict[str, Any]) -> str:
    """Over the OpenAI API: wrong at first, right once told which docstring example failed.
    Over Ollama's: always wrong, however often it is told."""
    repairing = any(m["role"] == "assistant" for m in request["body"]["messages"])
    if repairing and request["path"].startswith("/v1/"):
        return fenced(problem_in(request)["canonical_solution"])
    return "pass"


def first() -> dict[str, Any]:
    return problems()[0]


def test_the_bundled_problems_load_in_order() -> None:
    assert [p["task_id"] for p in problems()] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert len(load_problems()) == 164


@given(st.text(alphabet=st.characters(blacklist_characters="`"), min_size=1).map(
    lambda s: s.strip("\n") + "\n"))
def test_the_fenced_code_is_extracted_exactly(code: str) -> None:
    assert extract_code(f"Sure.\n```python\n{code}```\nBye.") == code
    assert extract_code(f"```\n{code}```") == code
    assert extract_code(f"```py\n{code}") == code  # cut off before the closing fence


def test_the_block_that_defines_something_is_preferred() -> None:
    reply = "Call it as:\n```python\nf(1)\n```\nwith\n```python\ndef f(x):\n    return x\n```"
    assert extract_code(reply) == "def f(x):\n    return x\n"
    assert extract_code("return 1") == "return 1"


@pytest.mark.parametrize("reply", [
    "    return number % 1.0\n",  # an indented body, as the canonical solutions are
    "return number % 1.0",  # a body without indentation
    fenced("def truncate_number(number: float) -> float:\n    return number % 1.0\n"),
    "```python\n    def truncate_number(number):\n        return number % 1.0\n```",  # indented
])
def test_bodies_and_whole_functions_both_complete_the_prompt(reply: str) -> None:
    problem = load_problems(3)[2]
    assert problem["entry_point"] == "truncate_number"
    status, tail = execute(with_tests(problem, completion_of(problem, reply)), timeout=10)
    assert status == "passed", tail


def test_wrong_and_endless_programs_fail(tmp_path: Path) -> None:
    problem = first()
    status, _ = execute(with_tests(problem, completion_of(problem, "pass")), timeout=10)
    assert status == "failed"
    endless = "    while True:\n        pass\n"
    status, tail = execute(with_tests(problem, endless), timeout=1)
    assert (status, tail) == ("timeout", "timed out after 1s")
    status, tail = execute("import sys\nsys.exit(3)\n", timeout=5)
    assert status == "failed"


def test_docstring_examples_give_the_repair_feedback() -> None:
    problem = first()
    status, tail = execute(with_examples(problem, "    return False\n"), timeout=10)
    assert status == "failed"
    assert "Failed example:" in tail and "has_close_elements([1.0, 2.8, 3.0" in tail
    right = with_examples(problem, problem["canonical_solution"])
    assert execute(right, timeout=10)[0] == "passed"


def run_humaneval(tmp_path: Path, reply: Any, args: list[str]) -> tuple[Any, dict[str, Any]]:
    with FakeModelServer(Script(default=reply)) as server:
        env = isolated_env(tmp_path, CA_OPENAI_BASE_URL=server.openai_url,
                           CA_OLLAMA_HOST=server.url)
        result = run_ca(["bench", "humaneval", "--limit", str(LIMIT), "--out", "res", *args],
                        env, tmp_path, timeout=120)
        requests = server.chat_requests
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "res" / "results.json").read_text(encoding="utf-8"))
    return requests, data


def test_canonical_solutions_pass_and_pass_statements_do_not(tmp_path: Path) -> None:
    requests, data = run_humaneval(tmp_path, canonical_or_pass, [
        "--samples", "2", "--runner", f"openai:{MODEL}", "--runner", f"ollama:{MODEL}",
        "--jobs", "3",
    ])
    assert data["kind"] == "humaneval" and data["problems"] == LIMIT
    assert data["pass_at_k"] == {f"openai:{MODEL}": {"pass@1": 1.0},
                                 f"ollama:{MODEL}": {"pass@1": 0.0}}
    assert len(data["results"]) == 2 * 2 * LIMIT == len(requests)
    openai = [r for r in data["results"] if r["backend"] == "openai"]
    assert all(r["passed"] and r["status"] == "passed" for r in openai)
    assert [(r["task"], r["sample"]) for r in openai] == [
        (f"HumanEval/{n}", s) for n in range(LIMIT) for s in (1, 2)]
    ollama = [r for r in data["results"] if r["backend"] == "ollama"]
    assert all(r["status"] == "failed" and "AssertionError" in r["error"] for r in ollama)
    assert all(r["model_calls"] == 1 and r["repair_rounds"] == 0 for r in data["results"])
    assert data["options"]["temperature"] == 0.8  # several samples: sampled, not greedy
    assert {r["body"]["options"]["temperature"] for r in requests if "options" in r["body"]} == {
        0.8}

    out = tmp_path / "res"
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == len(data["results"])
    assert samples[0]["task_id"] == "HumanEval/0"
    assert samples[0]["completion"] == first()["canonical_solution"]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert f"| openai:{MODEL} | {MODEL} | 1.000 |" in markdown
    assert f"| ollama:{MODEL} | {MODEL} | 0.000 |" in markdown
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    assert page.tables["results"] == humaneval_rows(data)
    assert [row[6] for row in page.tables["results"]] == ["2/2", "0/2"] * LIMIT
    assert {image["data-file"] for image in page.images} == {"charts/passk.png",
                                                             "charts/time.png"}
    assert all((out / image["data-file"]).is_file() for image in page.images)


def test_repair_rounds_fix_a_wrong_first_answer(tmp_path: Path) -> None:
    requests, data = run_humaneval(tmp_path, pass_then_canonical, [
        "--runner", f"openai:{MODEL}", "--runner", f"ollama:{MODEL}", "--repair-rounds", "1",
    ])
    assert data["pass_at_k"] == {f"openai:{MODEL}": {"pass@1": 1.0},
                                 f"ollama:{MODEL}": {"pass@1": 0.0}}
    assert data["options"]["temperature"] == 0.2  # one sample: the configured temperature
    assert all(r["repair_rounds"] == 1 and r["model_calls"] == 2 for r in data["results"])
    repairs = [r["body"]["messages"] for r in requests if len(r["body"]["messages"]) > 2]
    assert len(repairs) == 2 * LIMIT
    assert all([m["role"] for m in messages] == ["system", "user", "assistant", "user"]
               for messages in repairs)
    feedback = repairs[0][-1]["content"]
    assert "does not pass the examples in its docstring" in feedback
    assert "Failed example:" in feedback


def test_compare_humaneval_result_sets(tmp_path: Path) -> None:
    base = {"kind": "humaneval", "created": "t", "results": []}
    (tmp_path / "a.json").write_text(json.dumps({**base, "pass_at_k": {"x": {"pass@1": 0.5}}}))
    (tmp_path / "b.json").write_text(json.dumps(
        {**base, "pass_at_k": {"x": {"pass@1": 0.75}, "y": {"pass@1": 0.1}}}))
    result = run_ca(["bench", "compare", "a.json", "b.json"], isolated_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| x | 0.500 → 0.750 (+0.250) |" in result.stdout
    assert "| y | - → 0.100 |" in result.stdout
