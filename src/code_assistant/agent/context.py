"""Context up front, as aider does: the files a task names go into its first message.

A small model that must discover a file first often never reads it, or overwrites it
unread. Files the task names (a path, or a bare file name found in the project) and the
project-local Python modules they import are attached, numbered as read_file shows them,
within a small budget, and count as read for write_file.
"""

from __future__ import annotations

import re
from pathlib import Path

from code_assistant.agent.taskrules import is_test_path, protects_tests
from code_assistant.errors import ToolError
from code_assistant.tools.registry import ToolContext

MAX_FILES = 4
FILE_MAX_LINES = 300
FILE_MAX_BYTES = 12 * 1024  # a bigger file is named, not attached: read_file pages through it
TOTAL_MAX_BYTES = 24 * 1024  # about 6k tokens: leaves room in an 8k context for the work
_TOKEN = re.compile(r"[\w./\\-]+")
_EDGE = ".,;:!?-/\\"
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)


def named_paths(root: Path, task: str) -> list[str]:
    """Project files the task names, in the order it names them (paths or bare file names)."""
    from code_assistant.tools.paths import walk_files

    found: list[str] = []
    by_name: dict[str, list[str]] | None = None
    for token in _TOKEN.findall(task):
        token = token.strip(_EDGE).removeprefix("./")
        if "." not in token and "/" not in token:
            continue
        rel = _inside(root, token)
        if rel is None and "/" not in token:
            if by_name is None:
                by_name = {}
                for path in walk_files(root):
                    by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
            matches = by_name.get(token, [])
            rel = matches[0] if len(matches) == 1 else None  # an ambiguous name is not guessed
        if rel is not None and rel not in found:
            found.append(rel)
    return found


def _inside(root: Path, rel: str) -> str | None:
    """`rel` when it is a regular file inside the root (no escape through .. or links)."""
    try:
        target = (root / rel).resolve()
        target.relative_to(root.resolve())
    except (OSError, ValueError):
        return None
    return target.relative_to(root.resolve()).as_posix() if target.is_file() else None


def imported_modules(root: Path, rel: str) -> list[str]:
    """Project-local modules a file imports (`from pricing import x` -> pricing.py;
    `require('./titlecase')` or `import ... from './titlecase.js'` -> titlecase.js)."""
    if not rel.endswith((".py", *_JS)):
        return []
    try:
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    base = Path(rel).parent
    if not rel.endswith(".py"):
        return _js_imports(root, rel, base, text)
    found = []
    for names in _IMPORT.findall(text):
        module = (names[0] or names[1]).lstrip(".")
        if not module:
            continue
        path = module.replace(".", "/")
        for candidate in (base / f"{path}.py", Path(f"{path}.py"), Path(path) / "__init__.py"):
            hit = _inside(root, candidate.as_posix())
            if hit is not None and hit != rel:
                found.append(hit)
                break
    return found


_JS = (".js", ".mjs", ".cjs", ".ts")
_JS_IMPORT = re.compile(r"""(?:\brequire\(\s*|\bfrom\s+|^\s*import\s+)['"](\.{1,2}/[^'"]+)['"]""",
                        re.M)


def _js_imports(root: Path, rel: str, base: Path, text: str) -> list[str]:
    found = []
    for spec in _JS_IMPORT.findall(text):
        for candidate in (spec, *(spec + suffix for suffix in _JS), f"{spec}/index.js"):
            hit = _inside(root, (base / candidate).as_posix())
            if hit is not None and hit != rel and hit not in found:
                found.append(hit)
                break
    return found


def attach_named_files(ctx: ToolContext, task: str) -> str:
    """The task's first message: the files it names (and their local imports), then the task."""
    from code_assistant.tools.files import read_file

    named = named_paths(ctx.root, task)
    wanted = list(named)
    for rel in named:
        wanted += [m for m in imported_modules(ctx.root, rel) if m not in wanted]
    if protects_tests(task):  # the code to fix comes first: a 1.5B model edits the first file
        wanted.sort(key=is_test_path)
    blocks: list[str] = []
    total = 0
    for rel in wanted[:MAX_FILES]:
        try:
            size = (ctx.root / rel).stat().st_size
        except OSError:
            continue
        if size > FILE_MAX_BYTES or total + size > TOTAL_MAX_BYTES:
            continue
        try:
            shown = read_file(ctx, rel, end_line=FILE_MAX_LINES)
        except ToolError:
            continue  # binary or unreadable: the model can still look at it with its tools
        total += size
        blocks.append(f"## {rel}\n{shown}")
    new = new_files(ctx.root, task)
    # A small model asked to create hello.py reads it, or edits it, first: say it is new.
    note = (
        "\n\n" + "\n".join(f"{rel} does not exist yet: create it with write_file." for rel in new)
        if new else ""
    )
    if not blocks:
        return f"{task}{note}" if note else task
    return (
        "The files this task is about, as read_file shows them (the line numbers are not "
        "part of the files). They count as read. To change one, call edit_file with old "
        "copied exactly from these lines.\n\n"
        + "\n\n".join(blocks)
        + f"\n\n# Task\n{task}{note}"
    )


_SOURCE_SUFFIXES = (
    ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".rs", ".go", ".java", ".rb", ".sh",
    ".c", ".h", ".cpp", ".md", ".txt", ".json", ".toml", ".yaml", ".yml", ".ini", ".cfg",
    ".html", ".css", ".csv",
)


def new_files(root: Path, task: str) -> list[str]:
    """File names the task mentions that are not in the project (files it may create)."""
    found: list[str] = []
    for token in _TOKEN.findall(task):
        token = token.strip(_EDGE).removeprefix("./")
        if not token.endswith(_SOURCE_SUFFIXES) or token.startswith(("/", "..")):
            continue
        if not (root / token).exists() and token not in found and not _named_elsewhere(
            root, token
        ):
            found.append(token)
    return found


def _named_elsewhere(root: Path, name: str) -> bool:
    """A bare name the project has under some folder (`utils.py` for src/utils.py)."""
    if "/" in name:
        return False
    from code_assistant.tools.paths import walk_files

    return any(path.rsplit("/", 1)[-1] == name for path in walk_files(root))
