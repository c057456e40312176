"""The pip command that adds an extra to this checkout.

A PyPI project named `code-assistant` exists and is not this one, so `pip install
'code-assistant[mcp]'` would fetch someone else's package: hints name the local checkout."""

from __future__ import annotations

from pathlib import Path


def pip_extra(extra: str) -> str:
    # src layout: src/code_assistant/install_hint.py -> the checkout holds pyproject.toml.
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return f"pip install -e '{checkout}[{extra}]'"
    return f"pip install -e '.[{extra}]' in the code-assistant checkout"
