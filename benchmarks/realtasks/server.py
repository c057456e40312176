"""One llama_cpp.server for the whole run, on a free loopback port, and the GGUF it serves."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from .suite import ROOT

START_TIMEOUT = 300.0
N_CTX = 8192


def gguf_path(model: str) -> Path:
    """The verified GGUF of `model` (0.5b, 1.5b), fetched once by tests.realmodels."""
    done = subprocess.run([sys.executable, "-m", "tests.realmodels", model, "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"no {model} model: {(done.stderr or done.stdout).strip()[-300:]}")
    return Path(lines[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


def server_command(gguf: Path, port: int, alias: str, threads: int) -> list[str]:
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX),
            "--interrupt_requests", "False", "--model_alias", alias,
            "--n_threads", str(threads)]


@contextlib.contextmanager
def llama_server(gguf: Path, alias: str, log: Path, threads: int) -> Iterator[str]:
    """Serve `gguf` as `alias`; yields the server's root URL and stops it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(server_command(gguf, port, alias, threads), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _ready(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not start; see {log}")
                time.sleep(1)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
