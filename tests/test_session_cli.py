"""`ca sessions`, `ca --resume` and `ca` reading from a pipe, as real subprocesses."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.model_server import FakeModelServer
from tests.helpers import json_result, run_ca
from tests.repl_harness import intent


def _project(tmp_path: Path, name: str = "project") -> Path:
    project = tmp_path / name
    project.mkdir()
    (project / "ca.config").write_text("")
    return project


def test_sessions_lists_what_the_repl_saved(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    empty = run_ca(["sessions"], ca_env, project)
    assert empty.returncode == 0 and "no saved sessions yet" in empty.stdout
    fake_server.enqueue(intent("conversational"), "Four.")
    chat = run_ca([], ca_env, project, input="what is two plus two?\n/save arithmetic\n")
    assert chat.returncode == 0, chat.stderr
    assert "Four." in chat.stdout and "saved as arithmetic" in chat.stdout
    listed = run_ca(["sessions"], ca_env, project)
    assert "(arithmetic)" in listed.stdout and "what is two plus two?" in listed.stdout
    rows = json_result(run_ca(["sessions", "--json"], ca_env, project).stdout)["sessions"]
    assert len(rows) == 1
    assert rows[0]["name"] == "arithmetic" and rows[0]["turns"] == 1
    assert rows[0]["project"] == str(project)
    elsewhere = _project(tmp_path, "other")
    here = run_ca(["sessions", "--here", "--json"], ca_env, elsewhere)
    assert json_result(here.stdout)["sessions"] == []


def test_resume_latest_sends_the_earlier_turns(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    fake_server.enqueue(intent("conversational"), "Blue.")
    first = run_ca([], ca_env, project, input="my favourite colour is blue\n")
    assert first.returncode == 0, first.stderr
    fake_server.enqueue(intent("conversational"), "You said blue.")
    second = run_ca(["--resume"], ca_env, project, input="which colour did I name?\n")
    assert second.returncode == 0, second.stderr
    assert "resumed session" in second.stdout and "1 turn(s)" in second.stdout
    messages = fake_server.chat_requests[-1]["body"]["messages"]
    assert [m["content"] for m in messages[1:]] == [
        "my favourite colour is blue", "Blue.", "which colour did I name?"
    ]


def test_resume_of_an_unknown_id_is_a_clear_error(ca_env: dict[str, str], tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = run_ca(["--resume", "nosuchid"], ca_env, project, input="")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "ca: error: no session 'nosuchid'; `ca sessions` (or /sessions) lists the saved ones"
    )
    latest = run_ca(["--resume"], ca_env, project, input="")
    assert latest.returncode == 2
    assert "no saved session for" in latest.stderr and "Traceback" not in latest.stderr


def test_ca_spec_interviews_and_writes_the_document(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    fake_server.enqueue("Which units?", "# Unit Converter\n\n## Goal\nLength units.")
    result = run_ca(
        ["--spec"], ca_env, project, input="a unit converter\n/finalize\nn\n"
    )
    assert result.returncode == 0, result.stderr
    assert "spec mode" in result.stdout and "Which units?" in result.stdout
    assert "run it later with: ca run specs/unit-converter.md" in result.stdout
    assert (project / "specs" / "unit-converter.md").read_text().startswith("# Unit Converter")


def test_resume_by_name_from_the_command_line(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    project = _project(tmp_path)
    fake_server.enqueue(intent("conversational"), "Noted.")
    run_ca([], ca_env, project, input="the answer is 42\n/save answer\n")
    fake_server.enqueue(intent("conversational"), "42.")
    result = run_ca(["--resume", "answer"], ca_env, project, input="what was it?\n")
    assert result.returncode == 0, result.stderr
    contents = [m["content"] for m in fake_server.chat_requests[-1]["body"]["messages"][1:]]
    assert contents == ["the answer is 42", "Noted.", "what was it?"]
