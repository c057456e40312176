"""The agent loop with the real backend, real tools and the fake model server over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.agent.events import Event
from code_assistant.agent.loop import CORRECTIVE, Agent
from code_assistant.backends.base import ChatOptions, Message, ToolCall
from code_assistant.backends.ollama import OllamaBackend
from code_assistant.backends.openai_compat import OpenAICompatBackend
from code_assistant.backends.scripted import ScriptedBackend
from code_assistant.tools.approval import Approver
from code_assistant.tools.builtin import builtin_tools
from code_assistant.tools.registry import ToolContext, ToolRegistry
from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script

MODEL = "qwen2.5-coder:14b"

BUGGY = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@pytest.fixture(params=["ollama", "openai"])
def backend(request: pytest.FixtureRequest, fake_server: FakeModelServer) -> Iterator[object]:
    if request.param == "ollama":
        made: object = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    else:
        made = OpenAICompatBackend(base_url=fake_server.openai_url, timeout=30, retries=0)
    yield made
    made.close()  # type: ignore[attr-defined]


@pytest.fixture
def ollama(fake_server: FakeModelServer) -> Iterator[OllamaBackend]:
    """The Ollama backend alone, for tests that need only one protocol."""
    made = OllamaBackend(host=fake_server.url, timeout=30, retries=0)
    yield made
    made.close()


def make_agent(
    backend: object, root: Path, events: list[Event], approver: Approver | None = None,
    max_steps: int = 20,
) -> Agent:
    ctx = ToolContext(root=root, config=None, approver=approver)
    return Agent(
        backend=backend,  # type: ignore[arg-type]
        model=MODEL,
        tools=ToolRegistry(builtin_tools()),
        ctx=ctx,
        options=ChatOptions(num_ctx=8192),
        on_event=events.append,
        max_steps=max_steps,
    )


def run(agent: Agent, task: str) -> object:
    return agent.run([Message("system", "You are a coding agent."), Message("user", task)])


def tool_messages(server: FakeModelServer) -> list[str]:
    """The content of every tool result the model was sent, in its last request."""
    messages = server.chat_requests[-1]["body"]["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def scripted_tool_messages(backend: ScriptedBackend) -> list[str]:
    """The content of every tool result the scripted model was sent, in its last request."""
    return [m.content for m in backend.requests[-1].messages if m.role == "tool"]


def test_write_test_fail_fix_pass(
    fake_server: FakeModelServer, backend: object, tmp_path: Path
) -> None:
    fake_server.enqueue(
        call("write_file", path="calc.py", content=BUGGY),
        call("write_file", path="test_calc.py", content=TEST),
        call("run_shell", command="python -m pytest -q -p no:cacheprovider"),
        call("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        call("run_shell", command="python -m pytest -q -p no:cacheprovider"),
        {"text": "Fixed add(); the test passes."},
    )
    events: list[Event] = []
    transcript = run(make_agent(backend, tmp_path, events), "write calc.add with a test")
    assert transcript.stop_reason == "done"
    assert transcript.final_text == "Fixed add(); the test passes."
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    results = tool_messages(fake_server)
    assert "1 failed" in results[2] and "exit 1" in results[2].splitlines()[0]
    assert "1 passed" in results[4] and "exit 0" in results[4].splitlines()[0]
    assert transcript.model_calls == 6 and transcript.tool_calls == 5
    assert transcript.recoveries.failed_commands == 1
    kinds = [e.kind for e in events]
    assert kinds.count("tool_call") == 5 and kinds.count("tool_result") == 5
    assert kinds[-1] == "done"


def test_code_block_reply_gets_a_corrective_reprompt(
    fake_server: FakeModelServer, backend: object, tmp_path: Path
) -> None:
    fake_server.enqueue(
        {"text": "Here is the file:\n```python\nprint('hello')\n```\nSave it as hello.py."},
        call("write_file", path="hello.py", content="print('hello')\n"),
        {"text": "Wrote hello.py."},
    )
    transcript = run(make_agent(backend, tmp_path, []), "create hello.py printing hello")
    assert (tmp_path / "hello.py").read_text() == "print('hello')\n"
    assert transcript.recoveries.explain_reprompts == 1
    second = fake_server.chat_requests[1]["body"]["messages"]
    assert second[-1] == {"role": "user", "content": CORRECTIVE}


def test_constrained_retry_after_the_reprompt_fails(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    envelope = {"name": "write_file", "arguments": {"path": "x.py", "content": "x = 1\n"}}
    fake_server.enqueue(
        {"text": "```python\nx = 1\n```"},
        {"text": "Sure! ```python\nx = 1\n```"},
        {"text": json.dumps(envelope)},
        {"text": "done"},
    )
    transcript = run(make_agent(ollama, tmp_path, []), "make x.py")
    assert (tmp_path / "x.py").read_text() == "x = 1\n"
    assert transcript.recoveries.constrained_retries == 1
    constrained = fake_server.chat_requests[2]["body"]
    assert "write_file" in json.dumps(constrained["format"])
    assert not constrained.get("tools")


def test_gives_up_when_nothing_works(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    fake_server.enqueue(*[{"text": "```python\nx = 1\n```"}] * 3)
    transcript = run(make_agent(ollama, tmp_path, []), "make x.py")
    assert transcript.stop_reason == "no_action"
    assert transcript.recoveries.gave_up == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "write_file", "arguments": {"path": "t.txt", "content": "hi"}}',
        '```json\n{"name": "write_file", "arguments": {"path": "t.txt", "content": "hi"}}\n```',
        '<tool_call>\n{"name": "write_file", "arguments": {"path": "t.txt", "content": "hi"}}'
        "\n</tool_call>",
        '[TOOL_CALLS] [{"name": "write_file", "arguments": {"path": "t.txt", "content": "hi"}}]',
        '<|python_tag|>{"name": "write_file", "parameters": {"path": "t.txt", "content": "hi"}}',
        'write_file(path="t.txt", content="hi")',
        '{"name": "write_file", "arguments": "{\\"path\\": \\"t.txt\\", \\"content\\": \\"hi\\"}"}',
        "{'name': 'write_file', 'arguments': {'path': 't.txt', 'content': 'hi',},}",
        '{"function": "create_file", "parameters": {"path": "t.txt", "content": "hi"}}',
        '{"name": "writefile", "arguments": {"path": "t.txt", "content": "hi"}}',
    ],
    ids=["bare", "fence", "qwen-tag", "mistral", "python-tag", "call-syntax", "string-args",
         "single-quotes", "alias", "near-miss"],
)
def test_text_tool_calls_are_executed(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path, text: str
) -> None:
    fake_server.enqueue({"text": text}, {"text": "done"})
    transcript = run(make_agent(ollama, tmp_path, []), "write t.txt")
    assert (tmp_path / "t.txt").read_text() == "hi"
    assert transcript.recoveries.text_tool_calls == 1


def test_a_conversational_code_answer_is_not_forced(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    fake_server.enqueue({"text": "Use this:\n```python\nprint(sorted(xs))\n```"})
    agent = make_agent(ollama, tmp_path, [])
    agent.needs_action = False
    transcript = run(agent, "how do I sort a list?")
    assert transcript.stop_reason == "done"
    assert transcript.recoveries.total() == 0
    assert len(fake_server.chat_requests) == 1


@pytest.mark.parametrize(
    ("bad_call", "needle"),
    [
        (ToolCall("no_such_tool", {"x": 1}), "there is no tool 'no_such_tool'"),
        (ToolCall("read_file", {"path": ["a"]}), "must be a string"),
        (ToolCall("write_file", {"path": "a.py"}), "needs the argument(s) 'content'"),
        (ToolCall("read_file", {"path": "missing.py", "bogus": 1}), "has no argument 'bogus'"),
        (ToolCall("read_file", {"path": "../outside.txt"}), "outside"),
        (ToolCall("read_file", {"path": "sorce/main.py"}), "src/main.py"),
    ],
    ids=["unknown-tool", "wrong-type", "missing-arg", "unknown-arg", "escape", "did-you-mean"],
)
def test_bad_calls_become_messages_the_model_can_act_on(
    tmp_path: Path, bad_call: ToolCall, needle: str,
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print(1)\n")
    scripted = ScriptedBackend([bad_call, "ok"])
    transcript = run(make_agent(scripted, tmp_path, []), "do it")
    assert transcript.stop_reason == "done"
    assert transcript.recoveries.tool_errors == 1
    result = scripted_tool_messages(scripted)[0]
    assert result.startswith("error: ") and needle in result


def test_outside_writes_change_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (root / "link").symlink_to(tmp_path)
    scripted = ScriptedBackend([
        ToolCall("write_file", {"path": "../outside.txt", "content": "pwned"}),
        ToolCall("write_file", {"path": "link/outside.txt", "content": "pwned"}),
        ToolCall("edit_file", {"path": str(outside), "old": "keep", "new": "pwned"}),
        "gave up",
    ])
    transcript = run(make_agent(scripted, root, []), "escape")
    assert outside.read_text() == "keep"
    assert transcript.recoveries.tool_errors == 3


def test_denied_approval_is_reported_and_nothing_runs(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    fake_server.enqueue(
        call("run_shell", command="touch ran.txt"),
        call("write_file", path="w.txt", content="x"),
        {"text": "ok"},
    )
    asked: list[tuple[str, str]] = []

    def ask(tool: str, summary: str, detail: str) -> str:
        asked.append((tool, summary))
        return "n"

    run(make_agent(ollama, tmp_path, [], Approver(policy="ask", ask=ask)), "x")
    assert asked == [("run_shell", "touch ran.txt"), ("write_file", "w.txt")]
    assert not (tmp_path / "ran.txt").exists() and not (tmp_path / "w.txt").exists()
    assert all("denied" in r for r in tool_messages(fake_server))


def test_step_budget_stops_the_loop(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    # A different look every time: never the same call, so only the budget stops it.
    fake_server.set_script(Script(default=lambda request: call(
        "read_file", path="a.txt", start_line=len(request["body"]["messages"]))))
    (tmp_path / "a.txt").write_text("line\n" * 50)
    transcript = run(make_agent(ollama, tmp_path, [], max_steps=4), "loop forever")
    assert transcript.stop_reason == "max_steps"
    assert transcript.model_calls == 4 and transcript.stuck_warnings == 0


def test_the_same_look_three_times_in_a_row_is_stuck(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    fake_server.set_script(Script(default=call("list_dir", path=".")))
    transcript = run(make_agent(ollama, tmp_path, [], max_steps=10), "loop forever")
    assert transcript.stop_reason == "stuck" and transcript.model_calls == 3
    assert "Its result is above and nothing changed since." in tool_messages(fake_server)[1]


def test_positional_text_calls_and_misspelled_native_names(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("remember me\n")
    fake_server.enqueue(
        {"text": 'read_file("notes.txt")'},
        {"tool_calls": [{"name": "create_file",
                         "arguments": {"path": "out.txt", "content": "ok"}}]},
        {"text": "done"},
    )
    transcript = run(make_agent(ollama, tmp_path, []), "copy the note")
    assert "remember me" in tool_messages(fake_server)[0]
    assert (tmp_path / "out.txt").read_text() == "ok"
    assert transcript.recoveries.tool_errors == 0


def test_schema_words_and_pasted_tool_docs_are_cut_from_a_call(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    # Qwen2.5-Coder-0.5B's actual first call on "create hello.py" (embedded, its own template).
    pasted = "print('hello world')\n\nTo change an existing file use edit_file: it keeps the rest"
    fake_server.enqueue(
        call("write_file", path="hello.py", content=pasted + " of the file.",
             required=["path", "content"]),
        {"text": "done"},
    )
    transcript = run(make_agent(ollama, tmp_path, []), "create hello.py that prints hello world")
    assert (tmp_path / "hello.py").read_text() == "print('hello world')\n"
    assert transcript.stop_reason == "done"


def test_a_trailing_paragraph_that_is_not_the_tools_doc_is_kept(
    fake_server: FakeModelServer, ollama: OllamaBackend, tmp_path: Path
) -> None:
    content = "# Notes\n\nTo change an existing file use an editor of your choice, then save."
    fake_server.enqueue(call("write_file", path="NOTES.md", content=content), {"text": "done"})
    run(make_agent(ollama, tmp_path, []), "write NOTES.md")
    assert (tmp_path / "NOTES.md").read_text() == content


LOOPING = ("The function adds two numbers and returns the sum, and the test checks it with two "
           "and three, which must give five. Nothing else in the module needs to change, and "
           "the other functions keep their names and their behaviour exactly as they are now. ")


def test_a_reply_repeating_itself_is_ended_after_its_first_copy(
    fake_server: FakeModelServer, backend: object, tmp_path: Path
) -> None:
    """Real 0.5B streamed the same passage until max_output_tokens (s29c: 4096 tokens, three
    minutes); ca stops reading at the third copy and keeps the first."""
    fake_server.enqueue({"text": "Here is what I found.\n\n" + LOOPING * 40})
    events: list[Event] = []
    transcript = run(make_agent(backend, tmp_path, events), "explain calc.add")
    assert transcript.stop_reason == "done"
    assert transcript.final_text.rstrip() == ("Here is what I found.\n\n" + LOOPING).rstrip()
    tokens = [e for e in events if e.kind == "token"]
    assert len("".join(e.text for e in tokens)) < 5 * len(LOOPING)  # not the 40 copies
    warnings = [e.message for e in events if e.kind == "warning"]
    assert any("repeat itself" in w for w in warnings)
