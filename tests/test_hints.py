"""Hints in errors and `ca doctor` name the fix: the setting meant, a model the server has."""

from __future__ import annotations

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
