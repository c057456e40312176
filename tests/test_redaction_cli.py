"""One redaction before anything is stored or printed: sessions DB, --json events, output."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from code_assistant.redact import install_log_redaction, redact, secret_values
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca

# Built from parts so that no scanner mistakes these test values for real leaked keys.
OPENAI = "sk-" + "proj-" + "Zq8Xw2Vb7Nm4Lk1Jh6Gf3Ds9"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzz41KEY"
DB_PASS = "c0rrect-h0rse-" + "battery"
SERVICE_TOKEN = "tok" + "9f8e7d6c5b4a39281706"  # no known provider format: found by its name
CONFIG_KEY = "cfg" + "Zm9vYmFyYmF6cXV4cXV1eA"  # only in config.toml: found because it is a key
ALL = (OPENAI, AWS_SECRET, DB_PASS, SERVICE_TOKEN, CONFIG_KEY)
DOTENV = (
    f"OPENAI_API_KEY={OPENAI}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\nDB_PASS={DB_PASS}\n"
    "DEBUG=true\n"
)


def call(name: str, **arguments: object) -> dict[str, object]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def setup(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".env").write_text(DOTENV, encoding="utf-8")
    Path(env["CA_HOME"], "config.toml").write_text(
        f'anthropic_api_key = "{CONFIG_KEY}"\n', encoding="utf-8"
    )
    return root, {**env, "MY_SERVICE_TOKEN": SERVICE_TOKEN}


def leaks(text: str) -> list[str]:
    return [secret for secret in ALL if secret in text]


def test_json_events_hold_no_secret(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root, env = setup(tmp_path, ca_env)
    fake_server.enqueue(
        call("read_file", path=".env"),
        call("run_shell", command="env | grep -i -e key -e token; cat .env"),
        call("write_file", path="notes.txt", content=f"key is {OPENAI}\n"),
        {"text": f"The token is {SERVICE_TOKEN} and the config key {CONFIG_KEY}."},
    )
    result = run_ca(["--yes", "--json", "do", "show me the keys"], env, root)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    outputs = [e["output"] for e in events if e["event"] == "tool_result"]
    assert "DEBUG=true" in outputs[0] and "OPENAI_API_KEY=***" in outputs[0]
    assert "MY_SERVICE_TOKEN=***" in outputs[1]
    assert leaks(result.stdout + result.stderr) == []
    # The model itself saw the real file (it works on the user's machine for the user).
    assert OPENAI in json.dumps(fake_server.chat_requests[1]["body"])


def test_console_output_holds_no_secret(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root, env = setup(tmp_path, ca_env)
    fake_server.enqueue(
        call("run_shell", command=f"echo {SERVICE_TOKEN} {CONFIG_KEY}; cat .env; exit 1"),
        {"text": "done"},
    )
    result = run_ca(["--yes", "do", "print them"], env, root)
    assert "✗" in result.stdout
    assert leaks(result.stdout + result.stderr) == []


def test_the_sessions_database_holds_no_secret(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    root, env = setup(tmp_path, ca_env)
    fake_server.enqueue(
        {"text": json.dumps({"intent": "implementation", "reason": "test"})},
        call("read_file", path=".env"),
        call("run_shell", command="env | grep -i key"),
        {"text": f"Found {OPENAI} and {DB_PASS}."},
    )
    result = run_ca(["--yes"], env, root, input=f"read .env, my token is {SERVICE_TOKEN}\n")
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(Path(env["CA_HOME"]) / "sessions" / "sessions.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert "read .env, my token is" in dump and "OPENAI_API_KEY=***" in dump
    assert leaks(dump) == []  # the answer repeated DB_PASS unlabelled: masked as learned


def test_secret_values_come_from_config_keys_and_secret_named_variables() -> None:
    environ = {"MY_SERVICE_TOKEN": SERVICE_TOKEN, "HOME_PATH_KEY": "/usr/local/x",
               "SHORT_TOKEN": "abc", "EDITOR": "vim-with-a-long-name"}
    assert secret_values(environ=environ) == [SERVICE_TOKEN]
    line = f"AWS_SECRET_ACCESS_KEY={AWS_SECRET} DB_PASS='{DB_PASS}' PWD=/home/me"
    assert redact(line) == "AWS_SECRET_ACCESS_KEY=*** DB_PASS='***' PWD=/home/me"


def test_logged_warnings_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("code_assistant")
    install_log_redaction([SERVICE_TOKEN])
    install_log_redaction([SERVICE_TOKEN])  # once only
    handlers = [h for h in logger.handlers if getattr(h, "ca_redacting", False)]
    try:
        assert len(handlers) == 1
        logging.getLogger("code_assistant.feedback").warning(
            "could not save to %s: token %s, %s", "/x", SERVICE_TOKEN, f"api_key={OPENAI}"
        )
        err = capsys.readouterr().err
        assert err == "ca: WARNING: could not save to /x: token ***, api_key=***\n"
    finally:
        for handler in handlers:
            logger.removeHandler(handler)


def test_pipeline_transcripts_and_json_progress_hold_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from code_assistant.pipeline.progress import JsonProgress
    from code_assistant.pipeline.state import RunStore

    monkeypatch.setenv("MY_SERVICE_TOKEN", SERVICE_TOKEN)  # the environment ca runs in
    record = {"event": "tool_result", "output": DOTENV + f"\ntoken {SERVICE_TOKEN}"}
    store = RunStore(tmp_path)
    store.append_transcript("20260101-120000-3f9a", "implement", record)
    written = "\n".join(p.read_text() for p in tmp_path.rglob("*.jsonl"))
    assert "DEBUG=true" in written and leaks(written) == []
    stream = io.StringIO()
    JsonProgress(stream).write(record)
    assert "DEBUG=true" in stream.getvalue() and leaks(stream.getvalue()) == []


def test_json_tokens_go_out_a_line_at_a_time_so_a_split_key_is_still_masked() -> None:
    import io

    from code_assistant.agent.events import DoneEvent, TokenEvent, Transcript
    from code_assistant.render import JsonRenderer

    stream = io.StringIO()
    renderer = JsonRenderer(stream, secrets=[])
    pieces = [OPENAI[:5], OPENAI[5:12], OPENAI[12:] + " and more\nnext ", "li"]
    for piece in ["the key is ", *pieces]:
        renderer(TokenEvent(piece))
    renderer(DoneEvent.of(Transcript(messages=[])))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["token", "token", "done"]
    assert events[0]["text"] == "the key is *** and more\n"
    assert events[1]["text"] == "next li"
    assert OPENAI not in stream.getvalue()
