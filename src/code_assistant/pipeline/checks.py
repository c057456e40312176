"""Syntax checks of the files a phase wrote: compile Python; cargo check / tsc when present."""

from __future__ import annotations

import shutil
from pathlib import Path

CHECK_TIMEOUT = 300


def python_errors(root: Path, paths: list[str]) -> list[str]:
    """`path:line: message` for every written .py file that does not compile."""
    errors = []
    for rel in paths:
        path = root / rel
        if not rel.endswith(".py") or not path.is_file():
            continue
        try:
            compile(path.read_bytes(), rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            errors.append(f"{rel}:{exc.lineno or 0}: {exc.msg}")
        except ValueError as exc:  # NUL bytes in the source
            errors.append(f"{rel}:0: {exc}")
    return errors


def _tool_errors(root: Path, command: str, marker: str) -> list[str]:
    from code_assistant.tools.shell import run_command

    result = run_command(command, root.resolve(), CHECK_TIMEOUT, 200)
    if result.exit_code == 0:
        return []
    lines = [line.strip() for line in result.output.splitlines() if marker in line]
    return lines or [f"`{command}` failed with exit {result.exit_code}"]


def syntax_errors(root: Path, paths: list[str]) -> list[str]:
    """Compile errors in the written files; Rust and TypeScript only when their tools exist."""
    errors = python_errors(root, paths)
    rust = any(p.endswith(".rs") for p in paths) and (root / "Cargo.toml").is_file()
    if rust and shutil.which("cargo"):
        errors += _tool_errors(root, "cargo check --quiet --message-format short", "error")
    typescript = any(p.endswith((".ts", ".tsx")) for p in paths)
    if typescript and (root / "tsconfig.json").is_file() and shutil.which("tsc"):
        errors += _tool_errors(root, "tsc --noEmit --pretty false", "error TS")
    return errors
