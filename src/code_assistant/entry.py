"""The `ca` entry point: answers --version without importing anything heavy."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from code_assistant import __version__

        print(f"ca {__version__}")
        return 0
    from code_assistant.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
