"""The embedded backend's worker: a native crash, a kill or a hang is an error, not a dead ca.

A stand-in `llama_cpp` (tests/fakes/native_crash) misbehaves the way the real library did on
this machine type (SIGSEGV on the first decode), so these tests need no llama-cpp-python.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.backends.base import ChatOptions, Message
from code_assistant.backends.llamacpp import (
    REBUILD_HINT,
    LlamaCppBackend,
    WorkerProcess,
    crash_message,
)
from code_assistant.errors import BackendServerError, BackendTimeout, ModelNotFound
from tests.helpers import run_ca

FAKE = Path(__file__).parent / "fakes" / "native_crash"
PROMPT = [Message("user", "hi")]


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF fake weights")
    return path


def fake_worker(mode: str) -> WorkerProcess:
    env = {**os.environ, "PYTHONPATH": f"{FAKE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "FAKE_LLAMA_MODE": mode}
    code = "import sys; from code_assistant.backends.llamacpp_worker import main; sys.exit(main())"
    return WorkerProcess([sys.executable, "-c", code], env=env)


@pytest.fixture
def worker_factory() -> Iterator[list[WorkerProcess]]:
    made: list[WorkerProcess] = []
    yield made
    for worker in made:
        worker.stop(force=True)


def backend_for(
    gguf: Path, mode: str, made: list[WorkerProcess], timeout: float = 60
) -> LlamaCppBackend:
    worker = fake_worker(mode)
    made.append(worker)
    return LlamaCppBackend(str(gguf), n_ctx=256, timeout=timeout, worker=worker)


def test_a_segfault_is_one_line_with_the_fix(
    gguf: Path, worker_factory: list[WorkerProcess]
) -> None:
    backend = backend_for(gguf, "segv", worker_factory)
    with pytest.raises(BackendServerError) as caught:
        backend.chat("m", PROMPT)
    message = str(caught.value)
    assert "crashed (SIGSEGV) on model.gguf" in message
    assert "\n" not in message
    assert caught.value.exit_code == 5
    assert caught.value.transient is False  # a retry would only crash again
    assert not backend.worker.running


def test_the_amx_hint_names_the_build_flags() -> None:
    assert "-DGGML_AMX_TILE=OFF" in REBUILD_HINT and "--force-reinstall" in REBUILD_HINT
    message = crash_message(-signal.SIGSEGV, "m.gguf")
    assert message.startswith("llama.cpp crashed (SIGSEGV) on m.gguf; ")
    assert "rebuild llama-cpp-python" in message


def test_an_out_of_memory_kill_says_so(gguf: Path, worker_factory: list[WorkerProcess]) -> None:
    backend = backend_for(gguf, "kill", worker_factory)
    with pytest.raises(BackendServerError, match=r"killed \(SIGKILL\).*out of memory"):
        backend.chat("m", PROMPT)


def test_an_exit_carries_the_last_log_line(
    gguf: Path, worker_factory: list[WorkerProcess]
) -> None:
    backend = backend_for(gguf, "exit", worker_factory)
    with pytest.raises(BackendServerError, match=r"status 6 on model\.gguf: GGML_ASSERT: fake"):
        backend.chat("m", PROMPT)


def test_a_library_exception_is_reported_and_the_worker_lives(
    gguf: Path, worker_factory: list[WorkerProcess]
) -> None:
    backend = backend_for(gguf, "raise", worker_factory)
    with pytest.raises(BackendServerError, match=r"llama\.cpp failed: KeyError"):
        backend.chat("m", PROMPT)
    assert backend.worker.running


def test_a_hang_is_bounded_by_the_call_deadline(
    gguf: Path, worker_factory: list[WorkerProcess]
) -> None:
    backend = backend_for(gguf, "hang", worker_factory, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(BackendTimeout, match=r"no answer within 2s on model\.gguf"):
        backend.chat("m", PROMPT, on_token=lambda _: None)
    assert time.monotonic() - started < 10
    assert not backend.worker.running  # the hung worker was killed, not left computing


def test_a_crashed_worker_is_restarted_by_the_next_call(
    gguf: Path, worker_factory: list[WorkerProcess]
) -> None:
    backend = backend_for(gguf, "segv", worker_factory)
    for _ in range(2):
        with pytest.raises(BackendServerError, match="SIGSEGV"):
            backend.chat("m", PROMPT)
    backend.worker.env = {**(backend.worker.env or {}), "FAKE_LLAMA_MODE": "ok"}
    tokens: list[str] = []
    result = backend.chat("m", PROMPT, on_token=tokens.append)
    assert result.text == "fine" and tokens == ["fine"]
    assert backend.worker.running


def test_errors_the_worker_reports_keep_their_kind(
    tmp_path: Path, worker_factory: list[WorkerProcess]
) -> None:
    backend = backend_for(tmp_path / "absent.gguf", "ok", worker_factory)
    with pytest.raises(ModelNotFound, match="no GGUF file at"):
        backend.chat("m", PROMPT, options=ChatOptions(max_tokens=1))


def test_the_worker_dies_with_its_parent(gguf: Path, tmp_path: Path) -> None:
    """kill -9 of ca must not leave gigabytes of weights behind in an orphan."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[1])!r})\n"
        "from tests.test_llamacpp_worker import fake_worker, PROMPT\n"
        "from code_assistant.backends.llamacpp import LlamaCppBackend\n"
        "w = fake_worker('ok')\n"
        f"LlamaCppBackend({str(gguf)!r}, worker=w).chat('m', PROMPT)\n"
        "print(w._proc.pid, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_cli_crash_is_one_line_and_exit_5(
    gguf: Path, tmp_path: Path, ca_env: dict[str, str]
) -> None:
    env = {**ca_env, "PYTHONPATH": str(FAKE), "FAKE_LLAMA_MODE": "segv"}
    for args in (["-q", "hello"], ["--yes", "do", "create a.py"]):
        result = run_ca(["--backend", "llamacpp", "--model", str(gguf), *args], env, tmp_path)
        assert result.returncode == 5, result.stderr
        assert "llama.cpp crashed (SIGSEGV) on model.gguf" in result.stderr
        assert "Traceback" not in result.stderr


def test_doctor_probes_llama_cpp_in_a_child(
    gguf: Path, tmp_path: Path, ca_env: dict[str, str]
) -> None:
    args = ["--backend", "llamacpp", "--model", str(gguf), "doctor"]
    crashing = run_ca(args, {**ca_env, "PYTHONPATH": str(FAKE), "FAKE_LLAMA_MODE": "segv"},
                      tmp_path)
    assert crashing.returncode == 1
    assert "[FAIL] llama.cpp probe: llama.cpp crashed (SIGSEGV)" in crashing.stdout
    assert "Traceback" not in crashing.stderr + crashing.stdout
    working = run_ca(args, {**ca_env, "PYTHONPATH": str(FAKE), "FAKE_LLAMA_MODE": "ok"}, tmp_path)
    assert "[ok  ] llama.cpp probe: model.gguf: loaded in" in working.stdout
    assert f"[ok  ] model file: {gguf} (from cli)" in working.stdout


def test_the_repl_survives_a_crash(gguf: Path, tmp_path: Path, ca_env: dict[str, str]) -> None:
    from tests.repl_harness import CTRL_D, ENTER, PtyCa

    mode = tmp_path / "mode"
    mode.write_text("segv")
    project = tmp_path / "project"
    project.mkdir()
    (project / "ca.config").write_text("")
    env = {**ca_env, "PYTHONPATH": str(FAKE), "FAKE_LLAMA_MODE_FILE": str(mode)}
    ca = PtyCa(["--backend", "llamacpp", "--model", str(gguf)], env, project)
    try:
        ca.expect("ca>")
        ca.send("hello there" + ENTER)
        at = ca.expect("llama.cpp crashed (SIGSEGV) on model.gguf")
        at = ca.expect("ca>", after=at)
        mode.write_text("ok")
        ca.send("hello again" + ENTER)  # a new worker answers this turn
        at = ca.expect("hello again", after=at)
        ca.expect("ca>", after=at)
        ca.send(CTRL_D)
        assert ca.wait() == 0
    finally:
        ca.close()
    assert "Traceback" not in ca.text
    assert ca.text.count("crashed (SIGSEGV)") == 1
