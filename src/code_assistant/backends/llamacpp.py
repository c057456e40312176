"""Embedded llama.cpp: GGUF models run in a child process, so a native crash is an error message.

llama.cpp is native code: a bad CPU kernel (AMX inside VMs), an out-of-memory kill or a hang
must never take `ca` down silently. The weights live in one worker process per `ca`
(backends/llamacpp_worker.py), started on first use, stopped on exit and when its last model
is unloaded; a dead worker is restarted by the next call.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from code_assistant import errors
from code_assistant.backends.base import (
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    ToolSpec,
    Usage,
)
from code_assistant.backends.llamacpp_engine import resolve_gguf
from code_assistant.errors import BackendError, BackendServerError, BackendTimeout, ModelNotFound

NO_AMX_FLAGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AVX512=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
# A build tuned to the build machine's CPU (or AMX kernels inside a VM that does not
# really support AMX) crashes on the first decode; portable kernels without AMX do not.
REBUILD_HINT = (
    f'rebuild llama-cpp-python with portable kernels and no AMX: CMAKE_ARGS="{NO_AMX_FLAGS}" '
    "pip install --no-cache-dir --force-reinstall llama-cpp-python"
)
WORKER_MODULE = "code_assistant.backends.llamacpp_worker"


class WorkerProcess:
    """One llama.cpp child process and the JSON-lines pipe to it."""

    def __init__(
        self, command: Sequence[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.command = list(command or [sys.executable, "-m", WORKER_MODULE])
        self.env = env  # None: ca's own environment
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self.model = ""  # what the current request runs, for error messages

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def request(
        self,
        payload: dict[str, Any],
        *,
        timeout: float,
        on_token: Callable[[str], None] | None = None,
    ) -> Any:
        """Send one request and wait (at most `timeout` seconds in all) for its result."""
        with self._lock:
            self.model = Path(str(payload.get("model", ""))).name
            proc = self._ensure()
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(payload).encode() + b"\n")
                proc.stdin.flush()
                reply = self._replies(proc, time.monotonic() + timeout, timeout, on_token)
            except BrokenPipeError:
                raise self._crashed(proc) from None
            except BaseException:
                # Ctrl-C or a deadline mid-generation: the worker would go on computing a
                # reply nobody reads, so it goes; the next call starts a fresh one.
                self.stop(force=True)
                raise
        if "error" in reply:
            raise _error(reply["error"])  # the worker is fine and keeps its model
        return reply["result"]

    def _replies(
        self,
        proc: subprocess.Popen[bytes],
        deadline: float,
        timeout: float,
        on_token: Callable[[str], None] | None,
    ) -> dict[str, Any]:
        """Relay tokens until the final reply: a result or an error the worker reported."""
        while True:
            line = self._readline(proc, deadline)
            if line is None:
                raise BackendTimeout(
                    f"llama.cpp gave no answer within {timeout:.0f}s on {self.model}; "
                    "raise request_timeout or use a smaller model"
                )
            if not line:
                raise self._crashed(proc)
            reply: dict[str, Any] = json.loads(line)
            if "token" in reply:
                if on_token is not None:
                    on_token(reply["token"])
                continue
            return reply

    def _readline(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """The next reply line; b"" when the worker is gone, None past the deadline.

        Reads the raw fd: a buffered reader could hold a complete line that select() would
        then wait on forever."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._close_stderr()
        # The child's stderr (llama.cpp's own log) goes to a file: its last lines say why it
        # died, and a full pipe nobody reads would block it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=self.env,
            bufsize=0,
            start_new_session=True,  # Ctrl-C in the terminal is ca's to handle, not the child's
        )
        self._buffer = b""
        _WORKERS.add(self)
        return self._proc

    def _crashed(self, proc: subprocess.Popen[bytes]) -> BackendServerError:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        self._proc = None
        _close_pipes(proc)
        exc = BackendServerError(crash_message(code, self.model, self._stderr_tail()))
        exc.transient = False  # the same request would crash the same way
        return exc

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 2000))
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1].strip() if lines else ""

    def stop(self, *, force: bool = False) -> None:
        """End the worker (its memory goes with it): politely, or at once with `force`."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                if not force and proc.stdin is not None:
                    proc.stdin.close()
                    proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc is not None:
            _close_pipes(proc)
        self._close_stderr()

    def _close_stderr(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


_WORKERS: set[WorkerProcess] = set()


@atexit.register
def _stop_workers() -> None:
    for worker in list(_WORKERS):
        worker.stop()


def crash_message(code: int, model: str, stderr_tail: str = "") -> str:
    """One line for a worker that died: what happened and what to do about it."""
    where = f" on {model}" if model else ""
    if code < 0:
        name = _signal_name(-code)
        if -code == signal.SIGKILL:
            return (
                f"llama.cpp was killed ({name}){where}, most likely out of memory: "
                "use a smaller model or lower num_ctx"
            )
        return f"llama.cpp crashed ({name}){where}; {REBUILD_HINT}"
    detail = f": {stderr_tail}" if stderr_tail else ""
    return f"the llama.cpp worker exited with status {code}{where}{detail}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _error(data: dict[str, Any]) -> BackendError:
    kind = getattr(errors, str(data.get("type")), BackendError)
    if not (isinstance(kind, type) and issubclass(kind, BackendError)):
        kind = BackendError
    return kind(str(data.get("message", "llama.cpp failed")))


# One worker per `ca` process: every command and pipeline phase builds a new backend, and
# reloading a multi-GB GGUF each time would dominate the run.
SHARED_WORKER = WorkerProcess()


class LlamaCppBackend:
    """GGUF files in a llama.cpp worker. `model` may be a .gguf path; else `model_path`."""

    name = "llamacpp"

    def __init__(
        self,
        model_path: str = "",
        n_ctx: int = 8192,
        *,
        timeout: float = 600.0,
        worker: WorkerProcess | None = None,
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.timeout = timeout
        self.worker = worker if worker is not None else SHARED_WORKER

    def resolve(self, model: str) -> str:
        """The GGUF file for `model`: the model itself when it names one, else `model_path`."""
        return resolve_gguf(model, self.model_path)

    def _request(
        self, op: str, model: str, on_token: Callable[[str], None] | None = None, **fields: Any
    ) -> Any:
        payload = {"op": op, "model": model, "n_ctx": self.n_ctx, **fields}
        return self.worker.request(payload, timeout=self.timeout, on_token=on_token)

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> ChatResult:
        """One reply, constrained by a grammar when `options.format` is set (see the engine)."""
        data = self._request(
            "chat",
            self.resolve(model),
            messages=[m.to_dict() for m in messages],
            tools=[asdict(t) for t in tools],
            options=asdict(options or ChatOptions()),
            stream=on_token is not None,
            on_token=on_token,
        )
        return ChatResult(
            text=data["text"],
            tool_calls=[ToolCall(**c) for c in data["tool_calls"]],
            usage=Usage(**data["usage"]),
            model=data["model"],
            seconds=data["seconds"],
            load_seconds=data["load_seconds"],
            truncated_prompt=data["truncated_prompt"],
            warnings=list(data["warnings"]),
        )

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """Vectors from an embedding GGUF. A model name that is no GGUF is not answered with
        the chat model: a second copy of a chat model makes poor vectors, slowly."""
        if not model.endswith(".gguf"):
            raise ModelNotFound(
                f"embedding model {model!r} is not a GGUF file: set embedding_model to an "
                "embedding .gguf for vector search (lexical search works without one)"
            )
        return list(self._request("embed", self.resolve(model), texts=list(texts)))

    def unload(self, model: str) -> None:
        """Free the model; a worker left with nothing loaded is stopped (all memory back)."""
        if not self.worker.running:
            return
        left = self._request("unload", self.resolve(model))
        if not left:
            self.worker.stop()

    def probe(self, model: str) -> str:
        """Load `model` and generate one token in the worker: the check `ca doctor` runs."""
        result = self.chat(model, [Message("user", "Say OK.")], options=ChatOptions(max_tokens=1))
        return f"{Path(result.model).name}: loaded in {result.load_seconds:.1f}s, 1 token generated"

    def list_models(self) -> list[str]:
        """The configured GGUF, the .gguf files beside it, and whatever is loaded."""
        found = set(self.loaded_models())
        if self.model_path and Path(self.model_path).expanduser().is_file():
            configured = Path(self.model_path).expanduser().resolve()
            found.update(str(p) for p in configured.parent.glob("*.gguf"))
        return sorted(found)

    def loaded_models(self) -> list[str]:
        if not self.worker.running:
            return []
        return list(self._request("loaded", ""))

    def close(self) -> None:
        """Nothing to release per backend: the worker stays for the process until unload."""
