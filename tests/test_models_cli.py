"""`ca models` and the embedded default, with the real download code against a local fake Hub."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_assistant.models.catalog import CATALOG, DEFAULT_MODEL
from tests.fakes.hub_server import FakeHub
from tests.helpers import run_ca

TINY = Path(
    os.environ.get("CA_TEST_GGUF")
    or Path(__file__).resolve().parents[2] / "shared" / "models" / "llama-2-tiny-random.gguf"
)
REPO = "someone/tiny-GGUF"
WEIGHTS = b"GGUF" + bytes(range(256)) * 4096  # 1 MB: big enough to be cut mid-transfer


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    default = CATALOG[DEFAULT_MODEL]
    files = {(REPO, "tiny.gguf"): WEIGHTS, (default.repo, default.filename): WEIGHTS}
    with FakeHub(files) as server:
        yield server


@pytest.fixture
def env(ca_env: dict[str, str], hub: FakeHub, tmp_path: Path) -> dict[str, str]:
    with socket.socket() as sock:  # a port nothing listens on: no Ollama
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    return {
        **ca_env,
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_DISABLE_XET": "1",
        "CA_OLLAMA_HOST": f"http://127.0.0.1:{dead}",
    }


def models_dir(env: dict[str, str]) -> Path:
    return Path(env["CA_HOME"]) / "models"


def test_pull_list_path_rm(env: dict[str, str], tmp_path: Path, hub: FakeHub) -> None:
    pulled = run_ca(["models", "pull", f"{REPO}:tiny.gguf"], env, tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    path = models_dir(env) / "tiny.gguf"
    assert pulled.stdout.strip().endswith(str(path))
    assert path.read_bytes() == WEIGHTS
    assert not (models_dir(env) / ".download").exists()
    assert any(method == "GET" for method, _, _ in hub.requests)

    listed = run_ca(["models", "list"], env, tmp_path)
    assert "tiny" in listed.stdout and str(path) in listed.stdout
    assert f"{DEFAULT_MODEL}" in listed.stdout and "(default)" in listed.stdout
    shown = run_ca(["models", "path", "tiny"], env, tmp_path)
    assert shown.stdout.strip() == str(path)

    removed = run_ca(["models", "rm", "tiny"], env, tmp_path)
    assert removed.returncode == 0 and not path.exists()
    gone = run_ca(["models", "path", "tiny"], env, tmp_path)
    assert gone.returncode == 2 and "ca models pull NAME" in gone.stderr


def test_a_cut_download_resumes_in_the_next_pull(
    env: dict[str, str], tmp_path: Path, hub: FakeHub
) -> None:
    # huggingface_hub keeps what it wrote in whole 10 MiB chunks: cut after two and a bit.
    big = WEIGHTS * 24
    hub.files[(REPO, "big.gguf")] = big
    hub.cut_after = 22 * 1024 * 1024
    first = run_ca(["models", "pull", f"{REPO}:big.gguf"], env, tmp_path)
    assert first.returncode == 3, first.stderr
    assert "run the pull again (it resumes)" in first.stderr and "Traceback" not in first.stderr
    assert not (models_dir(env) / "big.gguf").exists()
    hub.outage = False
    second = run_ca(["models", "pull", f"{REPO}:big.gguf"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert (models_dir(env) / "big.gguf").read_bytes() == big
    ranges = [r for method, _, r in hub.requests if method == "GET" and r]
    assert ranges and ranges[-1] == f"bytes={20 * 1024 * 1024}-"


def test_a_wrong_checksum_leaves_no_file(env: dict[str, str], tmp_path: Path, hub: FakeHub) -> None:
    hub.bad_sha.add("tiny.gguf")
    result = run_ca(["models", "pull", f"{REPO}:tiny.gguf"], env, tmp_path)
    assert result.returncode != 0
    assert "failed its sha256 check" in result.stderr and "Traceback" not in result.stderr
    assert list(models_dir(env).glob("*.gguf")) == []


def test_a_catalogue_name_is_checked_against_its_known_sha256(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The fake serves other bytes under the default's name: the catalogue's own hash catches it.
    result = run_ca(["models", "pull", DEFAULT_MODEL], env, tmp_path)
    assert result.returncode == 3
    assert "failed its sha256 check" in result.stderr
    assert not (models_dir(env) / CATALOG[DEFAULT_MODEL].filename).exists()


def test_unknown_names_and_missing_files(env: dict[str, str], tmp_path: Path) -> None:
    unknown = run_ca(["models", "pull", "gpt-17"], env, tmp_path)
    assert unknown.returncode == 2 and "OWNER/REPO:FILE.gguf" in unknown.stderr
    absent = run_ca(["models", "pull", f"{REPO}:absent.gguf"], env, tmp_path)
    assert absent.returncode == 4 and "has no file absent.gguf" in absent.stderr


def test_add_links_a_local_gguf(env: dict[str, str], tmp_path: Path) -> None:
    junk = tmp_path / "notes.gguf"
    junk.write_text("hello")
    refused = run_ca(["models", "add", str(junk)], env, tmp_path)
    assert refused.returncode == 2 and "is not a GGUF file" in refused.stderr
    source = tmp_path / "mine.gguf"
    source.write_bytes(WEIGHTS)
    added = run_ca(["models", "add", str(source)], env, tmp_path)
    assert added.returncode == 0, added.stderr
    link = models_dir(env) / "mine.gguf"
    assert link.is_symlink() and link.resolve() == source.resolve()
    assert run_ca(["models", "rm", "mine"], env, tmp_path).returncode == 0
    assert source.is_file() and not link.exists()  # only the link went


def test_embedded_default_without_ollama(env: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    default = models_dir(env) / CATALOG[DEFAULT_MODEL].filename
    default.parent.mkdir(parents=True)
    shutil.copy(TINY, default)  # random weights under the default's name: the wiring is tested
    result = run_ca(["-q", "hello", "--num-ctx", "128"], env, tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "using embedded llama.cpp with qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" in result.stderr
    assert result.stdout.strip()
    shown = run_ca(["config", "show", "--json"], env, tmp_path)
    assert '"source": "embedded default: no backend configured' in shown.stdout


def test_missing_default_model_says_how_to_get_it(
    env: dict[str, str], tmp_path: Path, hub: FakeHub
) -> None:
    result = run_ca(["-q", "hello"], env, tmp_path)
    assert result.returncode == 4
    assert "ca models pull qwen2.5-coder-1.5b" in result.stderr and "--yes" in result.stderr
    # With --yes it pulls at once (the fake's bytes fail the default's checksum: a clean stop).
    pulled = run_ca(["--yes", "-q", "hello"], env, tmp_path)
    assert any(CATALOG[DEFAULT_MODEL].filename in path for _, path, _ in hub.requests)
    assert pulled.returncode == 3 and "failed its sha256 check" in pulled.stderr


def test_explicit_backend_wins(env: dict[str, str], tmp_path: Path) -> None:
    result = run_ca(["--backend", "ollama", "-q", "hello"], env, tmp_path)
    assert result.returncode == 3 and "embedded" not in result.stderr
