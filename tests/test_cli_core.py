"""`ca` as a real subprocess: quick mode, doctor, config show, and bad input."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.fakes.script import Script
from tests.helpers import json_result, run_ca

ARCHITECT = "qwen2.5-coder:7b"


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("ca: error: ")
    return lines[0]


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_quick_mode_streams_the_answer(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path, backend: str
) -> None:
    fake_server.enqueue({"text": "git reflog lists where HEAD has been.", "model": ARCHITECT})
    result = run_ca(["--backend", backend, "-q", "what does git reflog do?"], ca_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "git reflog lists where HEAD has been.\n"
    request = fake_server.chat_requests[-1]
    assert request["body"]["stream"] is True
    assert request["body"]["messages"][-1]["content"] == "what does git reflog do?"
    assert not request["body"].get("tools")
    if backend == "ollama":
        assert request["body"]["options"]["num_ctx"] == 8192
        assert request["body"]["options"]["num_predict"] == 4096  # max_output_tokens
    else:
        assert request["body"]["max_tokens"] == 4096


@pytest.mark.parametrize("backend", ["ollama", "openai"])
def test_quick_mode_json(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path, backend: str
) -> None:
    fake_server.enqueue({"text": "Use `git stash`.", "model": "custom:3b"})
    fake_server.set_script(Script(models=["custom:3b"], replies=[{"text": "Use `git stash`."}]))
    result = run_ca(
        ["--backend", backend, "--model", "custom:3b", "--json", "-q", "save my work?"],
        ca_env, tmp_path,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["answer"] == "Use `git stash`."
    assert payload["backend"] == backend
    assert payload["usage"]["completion_tokens"] > 0
    assert fake_server.chat_requests[-1]["body"]["model"] == "custom:3b"


def test_quick_mode_reads_stdin(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue("It prints the log.")
    result = run_ca(["-q", "-"], ca_env, tmp_path, input="what does git log do?\n")
    assert result.returncode == 0, result.stderr
    assert "It prints the log." in result.stdout
    assert fake_server.chat_requests[-1]["body"]["messages"][-1]["content"] == (
        "what does git log do?"
    )


def test_env_and_project_layers_reach_the_request(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "ca.config").write_text("num_ctx = 4096\n")
    fake_server.enqueue("ok")
    env = {**ca_env, "CA_TEMPERATURE": "0.7", "CA_MAX_OUTPUT_TOKENS": "512"}
    result = run_ca(["-q", "hi"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    body = fake_server.chat_requests[-1]["body"]
    assert body["options"]["num_ctx"] == 4096
    assert body["options"]["temperature"] == 0.7
    assert body["options"]["num_predict"] == 512


@pytest.mark.parametrize(
    ("reply", "extra_env", "code", "needle"),
    [
        ({"error": {"status": 500, "message": "kaboom"}}, {}, 5, "kaboom"),
        ({"text": "late", "delay": 4}, {"CA_REQUEST_TIMEOUT": "0.5"}, 6, "in time"),
    ],
    ids=["server-error", "timeout"],
)
def test_backend_errors_give_one_line_and_an_exit_code(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path,
    reply: dict, extra_env: dict[str, str], code: int, needle: str,
) -> None:
    fake_server.enqueue(reply)
    result = run_ca(["-q", "hi"], {**ca_env, **extra_env}, tmp_path)
    assert result.returncode == code
    assert needle in one_line_error(result.stderr)


def test_unknown_model_suggests_pulling_it(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_ca(["--model", "qwen9:99b", "-q", "hi"], ca_env, tmp_path)
    assert result.returncode == 4
    assert "ollama pull qwen9:99b" in one_line_error(result.stderr)


def test_unreachable_backend(ca_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Chosen explicitly: with no backend configured, ca would use the embedded default.
    env = {**ca_env, "CA_OLLAMA_HOST": f"http://127.0.0.1:{port}", "CA_BACKEND": "ollama"}
    result = run_ca(["-q", "hi"], env, tmp_path)
    assert result.returncode == 3
    assert "ollama serve" in one_line_error(result.stderr)


def test_doctor_green(fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path) -> None:
    result = run_ca(["doctor"], ca_env, tmp_path)
    assert result.returncode == 0, result.stdout
    assert "[ok  ] backend ollama" in result.stdout
    assert "[ok  ] implementer_model: qwen2.5-coder:14b" in result.stdout


def test_doctor_red_on_a_missing_model(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.set_script(Script(models=["qwen2.5-coder:7b"]))
    result = run_ca(["doctor", "--json"], ca_env, tmp_path)
    assert result.returncode == 1
    checks = {c["name"]: c for c in json_result(result.stdout)["checks"]}
    assert checks["architect_model"]["status"] == "ok"
    assert checks["implementer_model"]["status"] == "fail"
    assert "ollama pull qwen2.5-coder:14b" in checks["implementer_model"]["detail"]
    assert checks["embedding_model"]["status"] == "warn"


def test_doctor_red_when_the_backend_is_down(ca_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = {**ca_env, "CA_OLLAMA_HOST": f"http://127.0.0.1:{port}"}
    result = run_ca(["doctor"], {**down, "CA_BACKEND": "ollama"}, tmp_path)
    assert result.returncode == 1
    assert "[FAIL] backend ollama" in result.stdout
    # Nothing configured: doctor says the embedded default will be used, why, and what is missing.
    default = run_ca(["doctor"], down, tmp_path)
    assert default.returncode == 1
    assert "backend llamacpp: from embedded default: no backend configured, no Ollama" in (
        default.stdout)
    assert "[FAIL] model file" in default.stdout
    assert "ca models pull qwen2.5-coder-1.5b" in default.stdout


def test_config_show_names_each_layer(ca_env: dict[str, str], tmp_path: Path) -> None:
    home = Path(ca_env["CA_HOME"])
    (home / "config.toml").write_text('docs_model = "g-docs"\n')
    (tmp_path / "ca.config").write_text('reviewer_model = "p-rev"\nopenai_api_key = "sk-x"\n')
    env = {**ca_env, "CA_TESTER_MODEL": "e-test"}
    result = run_ca(["--num-ctx", "2048", "config", "show", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json_result(result.stdout)["settings"]
    assert shown["docs_model"] == {"value": "g-docs", "source": f"global ({home / 'config.toml'})"}
    assert shown["reviewer_model"]["source"].startswith("project (")
    assert shown["tester_model"] == {"value": "e-test", "source": "env"}
    assert shown["num_ctx"] == {"value": 2048, "source": "cli"}
    assert shown["backend"] == {"value": "ollama", "source": "default"}
    warning = [line for line in result.stderr.splitlines() if "openai_api_key" in line]
    assert len(warning) == 1 and str(tmp_path / "ca.config") in warning[0]


def test_config_init_writes_once(ca_env: dict[str, str], tmp_path: Path) -> None:
    first = run_ca(["config", "init"], ca_env, tmp_path)
    assert first.returncode == 0 and "wrote" in first.stdout
    (tmp_path / "ca.config").write_text("num_ctx = 1000\n")
    second = run_ca(["config", "init"], ca_env, tmp_path)
    assert "left it as it is" in second.stdout
    assert (tmp_path / "ca.config").read_text() == "num_ctx = 1000\n"
    glob = run_ca(["config", "init", "--global"], ca_env, tmp_path)
    assert (Path(ca_env["CA_HOME"]) / "config.toml").exists(), glob.stderr


@pytest.mark.parametrize(
    ("args", "project_file", "needle"),
    [
        (["--bogus"], None, "No such option: --bogus"),
        (["-req-file", "x.md"], None, "two dashes"),
        (["-q", "hi"], "num_ctx = = 1\n", "line 1, column"),
        (["-q", "hi"], "\xff\xfe not text", "cannot read config"),
        (["--backend", "nosuch", "-q", "hi"], None, "backend"),
        (["--num-ctx", "-5", "-q", "hi"], None, "num_ctx"),
        (["-q", ""], None, "empty question"),
    ],
    ids=["unknown-flag", "single-dash", "bad-toml", "unreadable", "backend", "num-ctx", "empty"],
)
def test_bad_input_is_one_line_and_exit_2(
    ca_env: dict[str, str], tmp_path: Path, args: list[str], project_file: str | None,
    needle: str,
) -> None:
    if project_file is not None:
        (tmp_path / "ca.config").write_bytes(project_file.encode("latin-1"))
    result = run_ca(args, ca_env, tmp_path)
    assert result.returncode == 2
    assert needle in one_line_error(result.stderr)


def test_version_and_help(ca_env: dict[str, str], tmp_path: Path) -> None:
    from code_assistant import __version__

    assert run_ca(["--version"], ca_env, tmp_path).stdout == f"ca {__version__}\n"
    help_text = run_ca(["--help"], ca_env, tmp_path).stdout
    for command in ("doctor", "config", "do"):
        assert command in help_text


def test_first_task_in_a_repository_writes_a_commented_ca_config(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    import subprocess

    (Path(ca_env["CA_HOME"]) / "config.toml").write_text('implementer_model = "qwen2.5-coder:7b"\n')
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    fake_server.enqueue("Nothing to do.", "Still nothing.")
    first = run_ca(["--yes", "look around"], ca_env, tmp_path)
    assert first.returncode == 0, first.stderr
    config_file = tmp_path / "ca.config"
    assert f"created {config_file}" in first.stderr
    text = config_file.read_text()
    assert text.startswith("# code-assistant project configuration.")
    # Every value is commented out, so the machine config still decides.
    assert fake_server.chat_requests[0]["body"]["model"] == "qwen2.5-coder:7b"
    config_file.write_text(text + 'num_ctx = 4096\n')
    second = run_ca(["--yes", "look again"], ca_env, tmp_path)
    assert "created" not in second.stderr
    assert config_file.read_text().endswith('num_ctx = 4096\n')  # never overwritten
    assert fake_server.chat_requests[-1]["body"]["options"]["num_ctx"] == 4096


def test_no_config_file_outside_a_repository(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.enqueue("ok")
    assert run_ca(["--yes", "look"], ca_env, tmp_path).returncode == 0
    assert not (tmp_path / "ca.config").exists()
