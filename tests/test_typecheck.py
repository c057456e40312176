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


STRICT_PACKAGES = {
    "code_assistant.agent.*", "code_assistant.backends.*", "code_assistant.tools.*",
    "code_assistant.config", "code_assistant.app",
}
# Every per-module flag that `mypy --strict` adds on top of pyproject's global settings.
STRICT_FLAGS = {
    "warn_return_any", "disallow_any_generics", "disallow_subclassing_any",
    "disallow_untyped_calls", "disallow_untyped_decorators", "no_implicit_reexport",
    "strict_equality", "extra_checks",
}


def test_the_core_packages_are_checked_strictly() -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["disallow_untyped_defs"] and config["check_untyped_defs"]
    strict = [o for o in config["overrides"] if set(o["module"]) >= STRICT_PACKAGES]
    assert strict, "no [[tool.mypy.overrides]] block names all the core packages"
    assert {flag for flag in STRICT_FLAGS if strict[0].get(flag) is True} == STRICT_FLAGS
