"""Hints in errors and `ca doctor` name the fix: the setting meant, a model the server has."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_ca


@pytest.mark.parametrize("where", ["project", "home"])
def test_a_mistyped_setting_suggests_the_real_one(
    where: str, fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "ca.config" if where == "project" else Path(ca_env["CA_HOME"]) / "config.toml"
    path.write_text("numctx = 4096\n")
    result = run_ca(["config", "show"], ca_env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(path) in lines[0] and "'numctx'" in lines[0]
    assert "did you mean `num_ctx`?" in lines[0]


def test_a_setting_with_no_near_name_gets_no_guess(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "ca.config").write_text("zzzqqq = 1\n")
    result = run_ca(["config", "show"], ca_env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "unknown setting 'zzzqqq'" in result.stderr and "did you mean" not in result.stderr


def test_doctor_with_another_model_pulled_suggests_using_it(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.fakes.model_server import Script

    fake_server.set_script(Script(models=["nomic-embed-text", "qwen2.5-coder:1.5b"]))
    result = run_ca(["doctor"], {**ca_env, "CA_BACKEND": "ollama"}, tmp_path)
    assert result.returncode == 1, result.stdout
    line = next(ln for ln in result.stdout.splitlines() if "implementer_model" in ln)
    assert "[FAIL]" in line and "ollama pull qwen2.5-coder:14b" in line
    # The chat model the server has, not the embedding model.
    assert "--model qwen2.5-coder:1.5b" in line and "--model nomic" not in line


def test_doctor_install_hints_name_this_checkout(
    fake_server: FakeModelServer, ca_env: dict[str, str], tmp_path: Path
) -> None:
    # PyPI's `code-assistant` is another project: the hint must install the local checkout.
    # A sitecustomize hides the mcp SDK from this `ca` only (find_spec sees a None entry).
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['mcp'] = None\n")
    path = os.pathsep.join(p for p in (str(hide), ca_env.get("PYTHONPATH", "")) if p)
    result = run_ca(["doctor"], {**ca_env, "PYTHONPATH": path}, tmp_path)
    line = next(ln for ln in result.stdout.splitlines() if "extra [mcp]" in ln)
    checkout = Path(__file__).resolve().parents[1]
    assert "not installed" in line and f"pip install -e '{checkout}[mcp]'" in line, line
    assert "code-assistant[" not in result.stdout
