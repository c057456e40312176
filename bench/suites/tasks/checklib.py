"""Helpers for the hidden checks: `python check.py WORKSPACE` exits 0 when the task is solved."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn


def workspace() -> Path:
    if len(sys.argv) != 2:
        fail("usage: check.py WORKSPACE")
    return Path(sys.argv[1]).resolve()


def fail(message: str) -> NoReturn:
    print(f"FAIL: {message}")
    sys.exit(1)


def expect(condition: object, message: str) -> None:
    if not condition:
        fail(message)


def run(
    argv: list[str], cwd: Path, timeout: float = 120, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        fail(f"{' '.join(argv)}: {exc}")


def python(ws: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run([sys.executable, *args], ws, stdin=stdin)


def load(ws: Path, name: str) -> ModuleType:
    """Import ws/name.py fresh (with ws on sys.path for its own imports)."""
    path = ws / f"{name}.py"
    expect(path.is_file(), f"{name}.py is missing")
    if str(ws) not in sys.path:
        sys.path.insert(0, str(ws))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in the agent's code is a failed check
        fail(f"importing {name}.py raised {type(exc).__name__}: {exc}")
    return module


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        fail(f"{getattr(fn, '__name__', fn)}{args} raised {type(exc).__name__}: {exc}")


def attr(owner: Any, name: str) -> Any:
    """owner.name, which must be callable (a module's function, an object's method)."""
    value = getattr(owner, name, None)
    label = getattr(owner, "__name__", type(owner).__name__)
    expect(callable(value), f"{label} has no callable {name}")
    return value


def copy_with(ws: Path, extra: dict[str, str]) -> Path:
    """A scratch copy of the workspace with hidden files added (the workspace stays as it is)."""
    scratch = Path(tempfile.mkdtemp(prefix="check-"))
    shutil.copytree(ws, scratch / "ws", ignore=shutil.ignore_patterns(".git", "target"))
    for rel, text in extra.items():
        target = scratch / "ws" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return scratch / "ws"


def starter(check_file: str, rel: str) -> str:
    return (Path(check_file).parent / "starter" / rel).read_text(encoding="utf-8")


def passed(message: str = "ok") -> NoReturn:
    print(f"PASS: {message}")
    sys.exit(0)
