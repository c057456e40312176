"""Choosing and rendering stored pairs as lessons in the system prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.agent.personas import IMPLEMENTER
from code_assistant.app import App
from code_assistant.backends.base import estimate_tokens
from code_assistant.config import load_config
from code_assistant.feedback.fewshot import (
    HEADER,
    MAX_EXAMPLES,
    examples_block,
    rank,
    render_block,
    render_call,
    render_pair,
)
from code_assistant.feedback.pairs import Call, Pair, Step, project_id
from code_assistant.feedback.store import open_store
from code_assistant.workspace import system_prompt


def lesson(task: str, path: str = "a.py", **fields: object) -> Pair:
    data: dict[str, object] = {
        "category": "tool_errors",
        "persona": "implementer",
        "model": "qwen2.5-coder:14b",
        "task": task,
        "bad": Step(
            text="",
            calls=[Call(name="write_file", arguments={"path": path})],
            results=["error: write_file needs the argument(s) 'content'; call it again"],
        ),
        "good": Step(
            calls=[Call(name="write_file", arguments={"path": path, "content": "x = 1\n"})],
            results=["wrote a.py"],
        ),
    }
    data.update(fields)
    return Pair(**data)  # type: ignore[arg-type]


@pytest.fixture
def loaded(tmp_path: Path) -> App:
    project = tmp_path / "proj"
    project.mkdir()
    return load_config(project, env={"CA_HOME": str(tmp_path / "ca-home")})


def test_the_most_similar_task_comes_first() -> None:
    pairs = [
        lesson("rename the database migration helper", "a.py", created=3.0),
        lesson("add a --verbose flag to the cli parser", "b.py", created=1.0),
        lesson("fix the flaky network retry test", "c.py", created=2.0),
    ]
    ranked = rank(pairs, "implementer", "add a --quiet flag to the CLI")
    assert ranked[0].task.startswith("add a --verbose flag")
    # no overlap: newest first
    assert [p.created for p in ranked[1:]] == [3.0, 2.0]


def test_rare_terms_outweigh_common_ones() -> None:
    pairs = [
        lesson("update parser tests", "a.py", created=1.0),
        lesson("update parser docs", "b.py", created=2.0),
        lesson("update tokenizer", "c.py", created=3.0),
    ]
    ranked = rank(pairs, "implementer", "tokenizer update")
    assert ranked[0].task == "update tokenizer"


def test_a_lesson_learned_twice_is_shown_once_with_its_most_similar_task() -> None:
    pairs = [
        lesson("write the config loader", created=1.0),
        lesson("write the http client", created=2.0),
        lesson("write the cache", created=3.0),
    ]
    assert [p.task for p in rank(pairs, "implementer", "retry in the http client")] == [
        "write the http client"
    ]
    assert [p.task for p in rank(pairs, "implementer", "")] == ["write the cache"]


def test_only_the_persona_and_only_distinct_useful_pairs() -> None:
    pairs = [
        lesson("a task", created=1.0),
        lesson("a task", created=5.0),  # the same lesson again: the newest copy is kept
        lesson("a task", persona="reviewer"),
        lesson("b task", category="user_bad", source="user", good=Step(), note=""),
        lesson("c task", category="user_bad", source="user", good=Step(), note="use logging"),
    ]
    ranked = rank(pairs, "implementer", "")
    assert [(p.task, p.created) for p in ranked] == [("c task", ranked[0].created), ("a task", 5.0)]


def test_the_same_model_breaks_ties() -> None:
    pairs = [
        lesson("t", "a.py", model="other", created=9.0),
        lesson("t", "b.py", model="mine", created=1.0),
    ]
    assert rank(pairs, "implementer", "", model="mine")[0].model == "mine"


def test_rendered_lesson_reads_as_wrong_result_right() -> None:
    text = render_pair(lesson("create a.py with x = 1"), 1)
    assert text.splitlines() == [
        "## Example 1: a tool call that failed",
        "Task: create a.py with x = 1",
        'Wrong: write_file(path="a.py")',
        "Result: error: write_file needs the argument(s) 'content'; call it again",
        "Right: write_file(path=\"a.py\", content=(1 line of that task's text, not shown))",
    ]


def test_a_lesson_never_carries_the_code_of_its_task() -> None:
    # A wrong solution of one task reappeared verbatim in the next task's prompt.
    secret_code = "def solve():\n    return 41  # SOLUTION-OF-TASK-A\n"
    pair = lesson(
        "task A", category="explain_reprompts",
        bad=Step(text=f"Here is the fix:\n```python\n{secret_code}```\nDone."),
        good=Step(calls=[
            Call(name="write_file", arguments={"path": "a.py", "content": secret_code}),
            Call(name="edit_file", arguments={"path": "a.py", "old": secret_code, "new": "x"}),
        ]),
    )
    text = render_pair(pair, 1)
    assert "SOLUTION-OF-TASK-A" not in text and "solve" not in text
    assert "Wrong: Here is the fix: (code not shown) Done." in text
    assert "content=(2 lines of that task's text, not shown)" in text


def test_rejected_answer_renders_its_note_and_correction() -> None:
    pair = lesson(
        "add logging", category="user_bad", source="user",
        bad=Step(text="print('x')"), good=Step(text="log.info('x')"), note="use logging",
    )
    lines = render_pair(pair, 2).splitlines()
    assert lines[0] == "## Example 2: the user rejected this"
    assert "Wrong: print('x')" in lines and "Note: use logging" in lines
    assert lines[-1] == "Right: log.info('x')"


def test_long_values_are_cut_in_rendered_calls() -> None:
    long_call = Call(name="run_shell", arguments={"command": "echo " + "x" * 500})
    rendered = render_call(long_call)
    assert len(rendered) < 120 and rendered.endswith('...)') and 'command="echo x' in rendered


@given(budget=st.integers(min_value=0, max_value=2000), count=st.integers(0, 8))
def test_the_block_never_exceeds_its_budget(budget: int, count: int) -> None:
    pairs = [lesson(f"task number {n} " * (n + 1), path=f"f{n}.py") for n in range(count)]
    block = render_block(pairs, budget)
    if block:
        assert block.startswith(HEADER)
        assert estimate_tokens(block) <= budget
        assert 1 <= block.count("## Example") <= MAX_EXAMPLES
    else:
        smallest = min((estimate_tokens(render_pair(p, 1)) + 1 for p in pairs), default=0)
        assert count == 0 or budget < estimate_tokens(HEADER) + smallest


def verified(loaded: App, task: str, **fields: object) -> Pair:
    """A lesson as a verified session of `loaded`'s project stores it."""
    data: dict[str, object] = {"project_id": project_id(loaded.root), "verified": True}
    return lesson(task, **{**data, **fields})


def test_examples_block_reads_the_store_and_obeys_the_config(loaded: App) -> None:
    assert examples_block(loaded, IMPLEMENTER, "anything") == ""
    open_store(loaded).append([verified(loaded, "create a.py with x = 1")])
    block = examples_block(loaded, IMPLEMENTER, "create b.py")
    assert block.startswith(HEADER) and 'Right: write_file(path="a.py"' in block
    assert examples_block(loaded, "reviewer", "create b.py") == ""
    loaded.config.feedback_tokens = 0
    assert examples_block(loaded, IMPLEMENTER, "create b.py") == ""
    loaded.config.feedback_tokens = 600
    loaded.config.feedback_lessons = False
    assert examples_block(loaded, IMPLEMENTER, "create b.py") == ""
    loaded.config.feedback_lessons = True
    loaded.config.feedback_enabled = False
    assert examples_block(loaded, IMPLEMENTER, "create b.py") == ""


@pytest.mark.parametrize(
    "fields",
    [
        {"verified": False},  # nothing checked it: as likely wrong as right
        {"recovered": True},  # a call parsed from text, right or wrong
        {"project_id": "0123456789abcdef"},  # another project's lesson
        {"project_id": ""},  # stored before lessons had a project
    ],
    ids=["unverified", "recovered", "other-project", "no-project"],
)
def test_only_verified_lessons_of_this_project_are_shown(
    loaded: App, fields: dict[str, object]
) -> None:
    open_store(loaded).append([verified(loaded, "create a.py with x = 1", **fields)])
    assert examples_block(loaded, IMPLEMENTER, "create a.py") == ""
    open_store(loaded).append([verified(loaded, "create c.py", path="c.py")])
    block = examples_block(loaded, IMPLEMENTER, "create a.py")
    assert 'path="c.py"' in block and 'path="a.py"' not in block


def test_the_project_id_is_the_resolved_root_and_hides_the_path(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    assert project_id(tmp_path / "p") == project_id(tmp_path / "p" / ".." / "p")
    assert project_id(tmp_path / "p") != project_id(tmp_path)
    assert len(project_id(tmp_path)) == 16 and "p" not in project_id(tmp_path).strip("0123456789")


def test_system_prompt_ends_with_the_lessons(loaded: App) -> None:
    before = system_prompt(IMPLEMENTER, loaded, symbol_map=False, task="create b.py")
    assert HEADER not in before
    open_store(loaded).append([verified(loaded, "create a.py with x = 1")])
    after = system_prompt(IMPLEMENTER, loaded, symbol_map=False, task="create b.py")
    assert after.startswith(before) and after[len(before):].startswith("\n\n" + HEADER)
