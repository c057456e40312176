"""mypy passes on src/code_assistant with pyproject's [tool.mypy] (about 30 s uncached)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is in the dev extra")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(240)
def test_mypy_passes_on_the_package() -> None:
    # No arguments: the files, plugins and strictness come from pyproject.toml.
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=230
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success" in result.stdout
