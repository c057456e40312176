"""`ca feedback export`: ChatML and ShareGPT training data, checked by reading it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from code_assistant.agent.toolcalls import extract_tool_calls
from code_assistant.feedback.export import DEFAULT_SYSTEM, export_pairs, system_prompt_for, turns
from code_assistant.feedback.pairs import Call, Pair, Step
from code_assistant.feedback.store import FeedbackStore
from tests.helpers import run_ca

TOOLS = ["read_file", "write_file", "edit_file", "list_dir", "glob_files", "run_shell"]
CHECK = "python -m pytest -q"
# The end of the tools section of Qwen2.5's chat template, copied from its tokenizer_config.json.
QWEN_CALL_FORMAT = (
    "</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def tool_error(task: str = "create a.py with x = 1") -> Pair:
    return Pair(
        category="tool_errors",
        persona="implementer",
        tools=TOOLS,
        task=task,
        bad=Step(
            text='{"name": "write_file", "arguments": {"path": "a.py"}}',
            calls=[Call(name="write_file", arguments={"path": "a.py"})],
            results=["error: write_file needs the argument(s) 'content'"],
        ),
        good=Step(
            text="Writing the file.",
            calls=[Call(name="write_file", arguments={"path": "a.py", "content": "x = 1\n"})],
            results=["wrote a.py"],
        ),
    )


def failed_command() -> Pair:
    return Pair(
        category="failed_commands",
        persona="implementer",
        tools=TOOLS,
        task="make the tests pass",
        bad=Step(
            calls=[Call(name="run_shell", arguments={"command": CHECK})],
            results=["exit 1 (0.2s)\nE   assert 1 == 5\n1 failed"],
        ),
        good=Step(
            calls=[
                Call(name="edit_file", arguments={"path": "calc.py", "old": "-", "new": "+"}),
                Call(name="run_shell", arguments={"command": CHECK}),
            ],
            results=["edited calc.py", "exit 0 (0.2s)\n1 passed"],
        ),
    )


def seed(home: Path) -> list[Pair]:
    pairs = [
        tool_error(),
        tool_error(),  # a second copy of the same example: exported once
        failed_command(),
        Pair(category="user_bad", source="user", persona="implementer", task="add logging",
             bad=Step(text="print('x')"), note="use logging"),  # nothing to imitate
        Pair(category="user_bad", source="user", persona="implementer", task="add logging",
             bad=Step(text="print('x')"), good=Step(text="log.info('x')"), note="use logging"),
        Pair(category="user_good", source="user", persona="reviewer", task="review cli.py",
             good=Step(text="LGTM: no issues found.")),
    ]
    return FeedbackStore(home / "feedback").append(pairs)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # every record ends with a newline
    return [json.loads(line) for line in lines[:-1]]


def chatml_calls(content: str) -> list[dict[str, Any]]:
    return [{"name": c.name, "arguments": c.arguments} for c in extract_tool_calls(content, TOOLS)]


def test_chatml_export_round_trips(ca_env: dict[str, str], tmp_path: Path) -> None:
    seed(Path(ca_env["CA_HOME"]))
    out = tmp_path / "train" / "chatml.jsonl"
    args = ["feedback", "export", "--format", "chatml", "--out", str(out)]
    result = run_ca(args, ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 4 example(s)" in result.stdout and "1 duplicate(s)" in result.stdout
    assert "1 without a correction skipped" in result.stdout
    records = read_jsonl(out)
    assert len(records) == 4
    for record in records:
        roles = [m["role"] for m in record["messages"]]
        assert roles[:2] == ["system", "user"] and roles[-1] == "assistant"
        assert all(set(m) == {"role", "content"} for m in record["messages"])
        assert all(isinstance(m["content"], str) for m in record["messages"])

    first = records[0]["messages"]
    assert first[0]["content"].startswith("You are the Implementer")
    assert "<tools>" in first[0]["content"] and '"name": "write_file"' in first[0]["content"]
    assert first[0]["content"].endswith(QWEN_CALL_FORMAT)
    assert first[1]["content"] == "create a.py with x = 1"
    assert first[2]["content"].startswith("Writing the file.\n<tool_call>\n")
    assert first[2]["content"].endswith("\n</tool_call>")
    assert chatml_calls(first[2]["content"]) == [
        {"name": "write_file", "arguments": {"path": "a.py", "content": "x = 1\n"}}
    ]
    assert len(first) == 3  # the mistake itself is not taught

    fixed = records[1]["messages"]
    assert [m["role"] for m in fixed] == [
        "system", "user", "assistant", "tool", "assistant", "tool", "assistant"
    ]
    assert chatml_calls(fixed[2]["content"]) == [
        {"name": "run_shell", "arguments": {"command": CHECK}}
    ]
    assert "1 failed" in fixed[3]["content"] and fixed[5]["content"] == "edited calc.py"
    assert [c["name"] for m in fixed[4::2] for c in chatml_calls(m["content"])] == [
        "edit_file", "run_shell"
    ]

    assert records[2]["messages"][-1] == {"role": "assistant", "content": "log.info('x')"}
    review = records[3]["messages"]
    assert review[0]["content"].startswith("You are") and "<tools>" not in review[0]["content"]
    assert review[-1]["content"] == "LGTM: no issues found."


def test_sharegpt_export_round_trips(ca_env: dict[str, str], tmp_path: Path) -> None:
    seeded = seed(Path(ca_env["CA_HOME"]))
    out = tmp_path / "sharegpt.jsonl"
    result = run_ca(["feedback", "export", "--format", "sharegpt", "--out", str(out)], ca_env,
                    tmp_path)
    assert result.returncode == 0, result.stderr
    records = read_jsonl(out)
    assert len(records) == 4
    for record in records:
        rows = record["conversations"]
        assert rows[0]["from"] == "system"
        # LLaMA-Factory's rule: human/observation, then gpt/function_call, alternating.
        for index, row in enumerate(rows[1:]):
            expected = ("human", "observation") if index % 2 == 0 else ("gpt", "function_call")
            assert row["from"] in expected and isinstance(row["value"], str)
        assert rows[-1]["from"] in ("gpt", "function_call")

    first = records[0]
    call = json.loads(first["conversations"][2]["value"])
    assert call == {"name": "write_file", "arguments": {"path": "a.py", "content": "x = 1\n"}}
    assert call["arguments"] == seeded[0].good.calls[0].arguments
    tools = json.loads(first["tools"])
    assert [t["name"] for t in tools] == TOOLS and all("parameters" in t for t in tools)

    fixed = records[1]["conversations"]
    assert [r["from"] for r in fixed] == [
        "system", "human", "function_call", "observation", "function_call", "observation",
        "function_call",
    ]
    assert [json.loads(r["value"])["name"] for r in fixed if r["from"] == "function_call"] == [
        "run_shell", "edit_file", "run_shell"
    ]
    assert "tools" not in records[3]  # the reviewer answered without tools


def test_several_calls_in_one_turn_are_a_list_in_sharegpt(tmp_path: Path) -> None:
    pair = Pair(
        category="user_good", source="user", persona="implementer", task="look around",
        good=Step(calls=[Call(name="list_dir", arguments={"path": "."}),
                         Call(name="read_file", arguments={"path": "README.md"})]),
    )
    out = tmp_path / "out.jsonl"
    export_pairs([pair], "sharegpt", str(out), lambda names: [])
    [record] = read_jsonl(out)
    value = json.loads(record["conversations"][-1]["value"])
    assert [c["name"] for c in value] == ["list_dir", "read_file"]
    export_pairs([pair], "chatml", str(out), lambda names: [])
    [record] = read_jsonl(out)
    assert chatml_calls(record["messages"][-1]["content"]) == [
        {"name": "list_dir", "arguments": {"path": "."}},
        {"name": "read_file", "arguments": {"path": "README.md"}},
    ]


def test_turns_end_on_the_assistant_and_skip_empty_corrections() -> None:
    assert turns(Pair(category="user_bad", bad=Step(text="x"))) is None
    conversation = turns(failed_command())
    assert conversation is not None and conversation[-1].role == "assistant"


def test_export_to_stdout_and_bad_format(ca_env: dict[str, str], tmp_path: Path) -> None:
    seed(Path(ca_env["CA_HOME"]))
    result = run_ca(["feedback", "export", "--format", "sharegpt", "--out", "-"], ca_env, tmp_path)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 4 and "wrote 4 example(s)" in result.stderr
    bad = run_ca(["feedback", "export", "--format", "alpaca", "--out", "x"], ca_env, tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "ca: error: unknown export format 'alpaca': use chatml or sharegpt"
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("fmt", ["chatml", "sharegpt"])
def test_an_empty_store_exports_an_empty_file(
    ca_env: dict[str, str], tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "empty.jsonl"
    result = run_ca(["feedback", "export", "--format", fmt, "--out", str(out)], ca_env, tmp_path)
    assert result.returncode == 0 and out.read_text() == ""
    assert "wrote 0 example(s)" in result.stdout


@pytest.mark.parametrize("persona", ["", "no_such_persona", "../../README", "Implementer"])
def test_an_unknown_persona_gets_the_default_system_prompt(persona: str) -> None:
    assert system_prompt_for(persona) == DEFAULT_SYSTEM
    assert system_prompt_for("tester").startswith("You are")
