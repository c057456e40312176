"""Issue 17, the first hour of a new user: CLI-level checks of what tripped them up."""

from __future__ import annotations

from pathlib import Path

from code_assistant.pipeline.state import RunState, RunStore, new_run_id
from tests.fakes.model_server import FakeModelServer, Script
from tests.helpers import run_ca


def test_runs_shows_whole_run_ids_at_80_columns(ca_env: dict[str, str], tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    ids = []
    for _ in range(2):
        run_id = new_run_id()
        ids.append(run_id)
        store.save(RunState(id=run_id, root=str(tmp_path),
                            requirement_path="docs/requirements/" + "long-name-" * 6 + ".md",
                            requirement="x", status="failed", error="x" * 90))
    result = run_ca(["runs"], {**ca_env, "COLUMNS": "80"}, tmp_path)
    assert result.returncode == 0, result.stderr
    for run_id in ids:
        assert run_id in result.stdout  # whole, on one line: what --resume takes
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_a_failed_first_task_leaves_no_ca_config(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    fake_server.set_script(Script(models=["some-other:1b"]))  # the implementer is not there
    failed = run_ca(["--backend", "ollama", "do", "add a flag"], ca_env, tmp_path)
    assert failed.returncode == 4, failed.stderr
    assert not (tmp_path / "ca.config").exists()
    fake_server.set_script(Script(replies=[{"text": "Nothing to do."}]))
    done = run_ca(["--backend", "ollama", "do", "explain the layout"], ca_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ca.config").exists()  # a run that worked keeps it


def test_agents_md_and_claude_md_both_reach_the_prompt(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "AGENTS.md").write_text("Indent with tabs.\n")
    (tmp_path / "CLAUDE.md").write_text("Run tests with make check.\n")
    (tmp_path / "code_assistant.md").write_text("Only when neither peer file exists.\n")
    fake_server.enqueue({"text": "Nothing to change."})
    result = run_ca(["--backend", "ollama", "do", "explain the layout"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    system = fake_server.chat_requests[-1]["body"]["messages"][0]["content"]
    assert "Indent with tabs." in system and "Run tests with make check." in system
    assert "Only when neither" not in system


def _call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def test_the_user_sees_command_output_and_the_edited_lines(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("name = 'old'\n")
    fake_server.enqueue(
        _call("run_shell", command="echo first-line; echo second-line"),
        _call("read_file", path="app.py"),
        _call("edit_file", path="app.py", old="name = 'old'", new="name = 'brand-new'"),
        {"text": "Done."},
    )
    result = run_ca(["--backend", "ollama", "--yes", "do", "rename it"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "first-line" in result.stdout and "second-line" in result.stdout
    assert "+name = 'brand-new'" in result.stdout
    assert "now read:" not in result.stdout  # model-facing wording, with nothing after it


def test_a_refusal_reads_as_user_facing_text(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue(_call("write_file", path="a.txt", content="x"), {"text": "I could not."})
    result = run_ca(["--backend", "ollama", "do", "write a.txt"], ca_env, tmp_path, input="")
    assert "not allowed: write_file: a.txt" in result.stdout
    assert "Do not retry" not in result.stdout  # that advice is for the model


def test_shell_completion_script_and_completions(ca_env: dict[str, str], tmp_path: Path) -> None:
    script = run_ca(["--show-completion", "bash"], ca_env, tmp_path)
    assert script.returncode == 0, script.stderr
    assert "_CA_COMPLETE" in script.stdout and "complete " in script.stdout
    env = {**ca_env, "_CA_COMPLETE": "complete_bash", "COMP_WORDS": "ca se", "COMP_CWORD": "1"}
    words = run_ca([], env, tmp_path).stdout.split()
    assert "search" in words and "sessions" in words and "doctor" not in words


HELP_COMMANDS = [
    [], ["do"], ["search"], ["symbols"], ["index"], ["run"], ["undo"], ["sessions"],
    ["feedback", "add"], ["feedback", "list"], ["bench", "run"], ["mcp", "test"],
]


def test_help_shows_no_python_types_and_aligned_examples(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    for command in HELP_COMMANDS:
        shown = run_ca([*command, "--help"], ca_env, tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "<str>" not in shown.stdout and "<list[" not in shown.stdout, command
        assert "<int" not in shown.stdout and "<float" not in shown.stdout, command
    top = run_ca(["--help"], ca_env, tmp_path).stdout
    assert "anthropic" in top
    examples = [line for line in top.splitlines() if line.lstrip().startswith("ca ")]
    assert len(examples) >= 3
    assert len({line.index(line.split("  ")[-1].strip()) for line in examples}) == 1


def test_undo_task_puts_back_what_a_ca_do_task_changed(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "b.txt").write_text("old\n")
    fake_server.enqueue(
        _call("write_file", path="a.txt", content="new file\n"),
        _call("read_file", path="b.txt"),
        _call("edit_file", path="b.txt", old="old", new="changed"),
        {"text": "Done."},
    )
    done = run_ca(["--backend", "ollama", "--yes", "do", "make the change"], ca_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b.txt").read_text() == "changed\n"
    undone = run_ca(["undo", "--task"], ca_env, tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert not (tmp_path / "a.txt").exists() and (tmp_path / "b.txt").read_text() == "old\n"
    again = run_ca(["undo", "--task"], ca_env, tmp_path)
    assert again.returncode == 2 and "no `ca do` task to undo" in again.stderr


def test_feedback_add_outside_a_session_refuses_a_note_on_no_answer(
    ca_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_ca(["feedback", "add", "bad", "it was wrong"], ca_env, tmp_path)
    assert result.returncode == 2
    assert "a note needs the answer it judges: add --output TEXT" in result.stderr
    listed = run_ca(["feedback", "list"], ca_env, tmp_path)
    assert "no feedback pairs yet" in listed.stdout
