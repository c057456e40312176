"""Shared fixtures: the scripted fake model server and an isolated environment for `ca`."""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.realmodels import ModelUnavailable, model_path

# Variables that could point a test at a real model service or at the user's own settings.
_LEAKY_PREFIXES = ("CA_", "OLLAMA_", "OPENAI_", "ANTHROPIC_")


@pytest.fixture
def fake_server() -> Iterator[FakeModelServer]:
    """A started fake model server with an empty script; `enqueue()` replies before use."""
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def ca_env(fake_server: FakeModelServer, tmp_path: Path) -> dict[str, str]:
    """Environment for a `ca` subprocess that talks to `fake_server`, isolated from the user."""
    home = tmp_path / "home"
    ca_home = tmp_path / "ca-home"
    for directory in (home, ca_home):
        directory.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env.update(
        HOME=str(home),
        CA_HOME=str(ca_home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        CA_OLLAMA_HOST=fake_server.url,
        CA_OPENAI_BASE_URL=fake_server.openai_url,
        CA_MAX_RETRIES="0",
        NO_COLOR="1",
        # Scripted replies are tool calls: the whole-file first answer (draft.py) is tested
        # on its own (test_task_draft.py), with this set back.
        CA_TASK_DRAFT_LINES="0",
    )
    return env


@pytest.fixture(scope="session")
def qwen05_gguf() -> Path:
    """The real Qwen2.5-Coder-0.5B-Instruct GGUF (fetched and verified once, then cached)."""
    try:
        return model_path("0.5b", log=False)
    except ModelUnavailable as exc:
        pytest.skip(f"real model unavailable: {exc}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realmodel: runs a real GGUF model (slow; bounded max_tokens and steps)"
    )


def _close_llama_cpp_null_files() -> None:
    """llama_cpp opens two /dev/null handles at import and never closes them. Under the
    suite's `filterwarnings = error` their finalisation at shutdown printed "Exception
    ignored ... ResourceWarning" below pytest's summary line, where CI reads the result.
    llama_cpp uses them only while loading a model or formatting a chat: never at exit."""
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None:
            handle.close()


atexit.register(_close_llama_cpp_null_files)
