"""Every slash command, driven through the REPL's pipe input against the fake model server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.fakes.web_server import WebServer
from tests.repl_harness import Harness, call, chat_bodies, intent, make_harness, system_of

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def harness(fake_server: FakeModelServer, tmp_path: Path) -> Harness:
    return make_harness(fake_server, tmp_path)


@pytest.fixture
def web() -> Iterator[WebServer]:
    with WebServer() as server:
        yield server


def test_help_lists_every_command_with_one_line(harness: Harness) -> None:
    output = harness.run("/help")
    for name in ("help", "add", "drop", "files", "index", "search", "symbols", "model", "config",
                 "pipeline", "spec", "finalize", "web", "save", "resume", "sessions", "compact",
                 "clear", "undo", "diff", "memory", "exit", "feedback", "mcp"):
        line = next((x for x in output.splitlines() if x.strip().startswith(f"/{name}")), "")
        assert len(line.split()) > 2, f"/{name} has no help line"


def test_exit_ends_the_session_and_ignores_what_follows(harness: Harness) -> None:
    output = harness.run("/exit", "/help")
    assert "bye" in output and "/search QUERY" not in output


def test_add_pins_a_file_into_every_prompt_and_drop_unpins_it(harness: Harness) -> None:
    (harness.project / "notes.txt").write_text("PINNED-CONTENT-42\n")
    harness.server.enqueue(
        intent("conversational"), "seen", intent("conversational"), "unseen"
    )
    output = harness.run("/add notes.txt", "/files", "what is pinned?", "/drop notes.txt",
                         "/files", "and now?")
    assert "pinned notes.txt (~5 tokens)" in output
    assert "  notes.txt  ~5 tokens" in output
    assert "unpinned notes.txt" in output and "nothing is pinned" in output
    with_pin, without_pin = chat_bodies(harness.server)[1], chat_bodies(harness.server)[3]
    assert "## notes.txt\n```\nPINNED-CONTENT-42" in system_of(with_pin)
    assert "PINNED-CONTENT-42" not in system_of(without_pin)


def test_add_refuses_missing_outside_directory_and_binary_files(harness: Harness) -> None:
    (harness.project / "config.py").write_text("x = 1\n")
    (harness.project / "pkg").mkdir()
    (harness.project / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    output = harness.run("/add confg.py", "/add ../outside.txt", "/add pkg", "/add blob.bin",
                         "/add", "/drop nothing.txt", "/files")
    assert "no such file or directory 'confg.py' in the project; did you mean config.py?" in output
    assert "is outside the project root" in output
    assert "pkg is a directory" in output
    assert "blob.bin is a binary file" in output
    assert "/add needs a file" in output
    assert "nothing.txt is not pinned" in output
    assert "nothing is pinned" in output


def test_index_search_and_symbols(harness: Harness) -> None:
    (harness.project / "billing.py").write_text(
        "def compute_invoice_total(items):\n    return sum(i.price for i in items)\n\n\n"
        "class Invoice:\n    def render(self):\n        return 'invoice'\n"
    )
    output = harness.run("/index", "/search invoice total", "/symbols billing.py",
                         "/search", "/symbols missing.py", "/index nowhere")
    assert "indexed 1 files" in output
    assert "billing.py:1-2 (compute_invoice_total, function)" in output
    assert (
        "billing.py: compute_invoice_total (function, line 1);"
        " Invoice (class, line 5, members: render)"
    ) in output
    assert "/search needs a query" in output
    assert "no such file or directory 'missing.py'" in output
    assert "nowhere: not a directory" in output
    assert (harness.project / ".ca" / "index.db").exists()


def test_model_shows_switches_and_refuses_unknown_models(harness: Harness) -> None:
    harness.server.enqueue(intent("implementation"), "nothing to do")
    output = harness.run("/model", "/model impl qwen2.5-coder:1.5b", "/model arch qwen2.5-codr:7b",
                         "/model impl", "tidy up")
    assert "architect: qwen2.5-coder:7b" in output and "implementer: qwen2.5-coder:14b" in output
    assert "implementer model is now qwen2.5-coder:1.5b" in output
    assert "the backend has no model 'qwen2.5-codr:7b'; did you mean qwen2.5-coder:7b" in output
    assert "implementer: qwen2.5-coder:1.5b" in output
    assert chat_bodies(harness.server)[-1]["model"] == "qwen2.5-coder:1.5b"


def test_config_shows_values_and_their_source(harness: Harness) -> None:
    output = harness.run("/config num_ctx", "/model arch llama3.2:3b", "/config architect",
                         "/config no_such_key")
    assert "num_ctx = 8192  (default)" in output
    assert 'architect_model = "llama3.2:3b"  (session (/model))' in output
    assert "no setting matches 'no_such_key'" in output


def test_save_sessions_and_resume(harness: Harness) -> None:
    harness.server.enqueue(intent("conversational"), "Noted: blue.")
    output = harness.run("remember: blue", "/save colours", "/sessions")
    assert "saved as colours" in output
    assert "(colours)" in output and "remember: blue" in output
    harness.server.enqueue(intent("conversational"), "Blue.")
    resumed = harness.run("/resume colours", "which colour?")
    assert "resumed session" in resumed and "> remember: blue" in resumed
    contents = [m["content"] for m in chat_bodies(harness.server)[-1]["messages"][1:]]
    assert contents == ["remember: blue", "Noted: blue.", "which colour?"]


def test_pipeline_needs_a_requirement(harness: Harness) -> None:
    output = harness.run("/pipeline")
    assert "/pipeline needs a requirement" in output


def test_complex_request_runs_as_a_pipeline_when_accepted(
    fake_server: FakeModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pipeline_e2e import ARCHITECT, IMPLEMENTER, TESTER, calculator_script

    # The run's own pytest needs none of this environment's plugins (much faster).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    harness = make_harness(
        fake_server, tmp_path, approval="auto", checkpoint="none", architect_model=ARCHITECT,
        implementer_model=IMPLEMENTER, reviewer_model=IMPLEMENTER, tester_model=TESTER,
        docs_model=ARCHITECT,
    )
    fake_server.enqueue(intent("complex"), "## Plan\n- a calc package", *calculator_script())
    harness.run("write a calculator package with tests", "y")
    assert fake_server.remaining == 0
    requests = list((harness.project / ".ca" / "requests").iterdir())
    assert [p.read_text() for p in requests] == ["write a calculator package with tests\n"]
    (run_dir,) = [p for p in (harness.project / ".ca" / "runs").iterdir() if p.is_dir()]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "done" and report["tests"]["passed"] is True
    assert (harness.project / "calc" / "parser.py").exists()


def test_spec_interview_writes_the_document_and_offers_a_run(harness: Harness) -> None:
    server = harness.server
    server.enqueue(
        "1. Who uses it?\n2. CLI or library?",
        "Noted. Enough to write it: /finalize",
        "```markdown\n# Unit Converter\n\n## Goal\nConvert units.\n```",
    )
    output = harness.run("/finalize", "/spec", "a unit converter", "a CLI for me",
                         "/finalize", "n", "/finalize")
    assert "not in spec mode; /spec starts an interview" in output
    assert "spec mode" in output and "Who uses it?" in output
    assert "wrote specs/unit-converter.md; spec mode ended" in output
    assert "run it later with: ca run specs/unit-converter.md" in output
    document = (harness.project / "specs" / "unit-converter.md").read_text()
    assert document == "# Unit Converter\n\n## Goal\nConvert units.\n"
    bodies = chat_bodies(server)
    assert "writing a requirement document together with the user" in system_of(bodies[0])
    assert [m["content"] for m in bodies[1]["messages"][1:]] == [
        "a unit converter", "1. Who uses it?\n2. CLI or library?", "a CLI for me"
    ]
    assert "Write the final requirement document now" in bodies[2]["messages"][-1]["content"]
    assert not any(b.get("format") for b in bodies)  # no intent routing in spec mode


def test_ca_spec_starts_in_spec_mode_and_a_name_can_be_given(harness: Harness) -> None:
    harness.server.enqueue("What should it do?", "# Anything\nbody")
    output = harness.run("a todo list", "/finalize todo-cli", "n", spec=True)
    assert "spec mode" in output
    assert (harness.project / "specs" / "todo-cli.md").read_text() == "# Anything\nbody\n"


def test_web_fetches_a_page_and_pins_it(
    fake_server: FakeModelServer, tmp_path: Path, web: WebServer
) -> None:
    harness = make_harness(fake_server, tmp_path, web_allow_private=True, web_timeout=5.0)
    web.page("/guide.html", "<html><head><title>Guide</title></head><body><main>"
             "<h1>Widget guide</h1><p>Call widget.start() first.</p></main></body></html>")
    fake_server.enqueue(intent("conversational"), "Call start first.")
    output = harness.run(f"/web {web.url('/guide.html')}", "/files", "how do I begin?",
                         f"/web {web.url('/missing')}")
    assert "Widget guide" in output and "pinned http://127.0.0.1" in output
    assert "Call widget.start() first." in system_of(chat_bodies(fake_server)[-1])
    assert "HTTP 404" in output


def test_web_search_through_serper(
    fake_server: FakeModelServer, tmp_path: Path, web: WebServer
) -> None:
    web.page("/search", json.dumps({"organic": [
        {"title": "HTTPX streaming", "link": "https://www.python-httpx.org/", "snippet": "s"}
    ]}), "application/json")
    harness = make_harness(
        fake_server, tmp_path, web_search_enabled=True, web_search_provider="serper",
        serper_api_key="k" * 20, serper_url=web.url("/search"), web_timeout=5.0,
    )
    output = harness.run("/web httpx streaming", "/files")
    assert "1. HTTPX streaming" in output and "search: httpx streaming" in output


def test_memory_usage_errors(harness: Harness) -> None:
    output = harness.run("/memory", "/memory add", "/memory remove x")
    assert "no project memory yet" in output
    assert "/memory add needs the text" in output
    assert "usage: /memory (show) or /memory add TEXT" in output


def test_diff_and_undo_with_nothing_changed(harness: Harness) -> None:
    output = harness.run("/diff", "/undo")
    assert "no changes in this session" in output and "nothing to undo" in output


def test_undo_steps_back_one_task_at_a_time(harness: Harness) -> None:
    path = harness.project / "v.txt"
    path.write_text("v1\n")
    harness.server.enqueue(
        intent("implementation"), call("read_file", path="v.txt"),
        call("write_file", path="v.txt", content="v2\n"), "v2",
        intent("implementation"), call("write_file", path="v.txt", content="v3\n"), "v3",
    )
    harness.run("make it v2", "a", "make it v3", "/undo")
    assert path.read_text() == "v2\n"
    harness_output = harness.outputs[-1]
    assert "1 earlier change set(s) can still be undone" in harness_output
    assert os.access(path, os.R_OK)


def test_feedback_records_a_verdict_on_the_last_answer(harness: Harness) -> None:
    from code_assistant.feedback.store import open_store

    harness.server.enqueue(intent("conversational"), "Use a dict comprehension.")
    output = harness.run("/feedback good", "how do I invert a dict?", "/feedback bad too terse")
    assert "nothing to give feedback on yet" in output
    assert "recorded user_bad feedback" in output
    pairs = open_store(harness.loaded()).read()
    assert [(p.category, p.source) for p in pairs] == [("user_bad", "user")]
    assert "too terse" in pairs[0].model_dump_json()
    assert "Use a dict comprehension." in pairs[0].model_dump_json()


def test_mcp_lists_servers_or_says_there_are_none(harness: Harness) -> None:
    output = harness.run("/mcp")
    assert "no MCP servers configured" in output
