"""A first answer in whole files: for a task about a few small files, the model writes them out.

Real Qwen2.5-Coder-1.5B on the task suite (s27b) finished more tasks as aider's one whole-file
reply (9/18, about 25 s each) than through ca's tool loop (4/18): writing a 30-line file out
whole is easier for it than copying `old` exactly, and it takes one call instead of five.
So a one-shot task whose files are small first asks for them whole, with no tools; ca writes
what comes back through write_file (its guards, approval and diffs), then runs the task's
check as after any change. Passing, the task is done in one call; failing, the tool loop goes
on from there with the failure, as after any change. A reply without a usable file changes
nothing and the loop starts as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from code_assistant.agent.context import imported_modules, named_paths, new_files
from code_assistant.agent.taskrules import is_test_path, protects_tests
from code_assistant.agent.verify import Check, output_tail, what_failed
from code_assistant.backends.base import Message
from code_assistant.errors import ToolError
from code_assistant.tools.registry import ToolContext

# A failing draft is answered whole once more, shown the failure, before the tool loop (as
# aider answers a failing test run), since the loop's edit_file calls are where real 1.5B goes
# wrong. Not shown to help on its own yet: in s29a/s29b the redraft gave the same file back
# (diagnose-crash) or the same wrong test (write-tests); it costs one call on a failing draft.
REDRAFTS = 1
MAX_PROJECT_FILES = 6  # a task naming no file drafts the whole project only when it is this small
WALK_LIMIT = 200  # files of any kind: a bigger tree is not a small project
_PROMPT = (Path(__file__).parent / "prompts" / "draft.md")
_LANGUAGES = {
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".rs": "rust", ".go": "go", ".java": "java", ".rb": "ruby",
    ".sh": "bash", ".c": "c", ".h": "c", ".cpp": "cpp", ".json": "json", ".toml": "toml",
    ".yaml": "yaml", ".yml": "yaml", ".md": "markdown", ".html": "html", ".css": "css",
}
_CODE = tuple(s for s in _LANGUAGES if s not in (".md", ".json", ".yaml", ".yml"))
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_PATH_WORD = re.compile(r"[\w./-]*\w\.\w+")
# "# ... rest of the file unchanged ...", "// ...": a reply that leaves code out
_ELIDED = re.compile(
    r"^\s*(?:(?:#|//|/\*)\s*)?(?:\.\.\.|…)\s*(?:\*/)?\s*$"
    r"|\b(?:rest of|remaining|existing|other) (?:the )?(?:code|file|functions?|methods?)\b"
    r"|\b(?:unchanged|stays the same|as before)\s*(?:\.\.\.|…)?\s*(?:\*/)?\s*$",
    re.I | re.M,
)


@dataclass(frozen=True)
class Draft:
    """A task's whole-file first answer: the files it changes, only reads, or creates."""

    task: str
    editable: tuple[str, ...]
    readonly: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def writable(self) -> tuple[str, ...]:
        return self.editable + self.new


def plan_draft(root: Path, task: str, max_lines: int) -> Draft | None:
    """The files a whole-file first answer is about, or None when the task is not for one:
    they hold more than `max_lines` lines together (0 turns drafts off), or there are none.
    They are the files the task names and their local imports; a task naming none, in a
    project of at most MAX_PROJECT_FILES code files, is about all of them. Tests a task says
    show a bug are read-only."""
    if max_lines <= 0:
        return None
    named = named_paths(root, task)
    wanted = list(named)
    for rel in named:
        wanted += [m for m in imported_modules(root, rel) if m not in wanted]
    new = tuple(new_files(root, task))
    if not wanted and not new:
        wanted = _small_project(root)
    texts = {rel: _text(root, rel) for rel in wanted}
    if any(text is None for text in texts.values()):
        return None  # binary, unreadable or not a file: the tool loop can look at it
    if sum(len(text.splitlines()) for text in texts.values() if text) > max_lines:
        return None
    tests_fixed = protects_tests(task)
    editable = tuple(rel for rel in wanted if not (tests_fixed and is_test_path(rel)))
    readonly = tuple(rel for rel in wanted if rel not in editable)
    if not editable and not new:
        return None
    return Draft(task, editable, readonly, new)


def _small_project(root: Path) -> list[str]:
    from code_assistant.tools.paths import walk_files

    walked = list(walk_files(root, limit=WALK_LIMIT + 1))
    code = [rel for rel in walked if rel.endswith(_CODE)]
    small = 0 < len(code) <= MAX_PROJECT_FILES and len(walked) <= WALK_LIMIT
    return sorted(code) if small else []


def _text(root: Path, rel: str) -> str | None:
    try:
        data = (root / rel).read_bytes()
        return None if b"\0" in data else data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def draft_messages(root: Path, files: Draft, note: str = "", *, why: str = "") -> list[Message]:
    """The draft's conversation, laid out as aider lays out its whole-file chat: the system
    prompt (steps: work out the change, say it, write the files), one worked example, the
    files in a message of their own (whole, no line numbers: the answer must not have them
    either) with a short assistant reply, then the task in the last message with `note`
    (what ca ran before the model started, or how a draft failed) and how to answer.

    `why` (the re-ask, after a reply that wrote nothing) lays it out again with the files,
    the task and why the first answer wrote nothing in ONE message: asked again in the same
    chat, real 1.5B copied the short assistant line out a second time (cli-flag in s28c); a
    different layout gets a different answer, though in one message it has copied the user
    message out too (s29a)."""
    blocks = [_listing(rel, _text(root, rel) or "") for rel in files.editable]
    parts = ["Here are the files of my project that this task is about:\n\n"
             + "\n\n".join(blocks)] if blocks else []
    if files.readonly:
        shown = "\n\n".join(_listing(rel, _text(root, rel) or "") for rel in files.readonly)
        parts.append(f"These are right: read them, and do not change them.\n\n{shown}")
    for rel in files.new:
        parts.append(f"{rel} does not exist yet. Write it whole if the task asks for it.")
    system = Message("system", _PROMPT.read_text(encoding="utf-8"))
    asked = [files.task, *([note] if note else []), *([why] if why else []), _answer_line(files)]
    if why:
        return [system, *_EXAMPLE, Message("user", "\n\n".join([*parts, *asked]))]
    return [
        system,
        *_EXAMPLE,
        Message("user", "\n\n".join(parts)),
        Message("assistant", "Ok, any changes I propose will be to those files."),
        Message("user", "\n\n".join(asked)),
    ]


_EXAMPLE_ANSWER = ("KM_PER_MILE = 1.609344\n\n\ndef to_km(miles: float) -> float:\n"
                   "    return round(miles * KM_PER_MILE, 2)\n")
# One worked answer before the real chat, as aider gives its whole-file coder: with it, real
# 1.5B said what was wrong before writing the file (aider solved fix-failing-test and
# output-format in s29a, ca's draft without it gave the file back or echoed the last line).
# Its file is not one a task can write: a copied example is not written.
_EXAMPLE = (
    Message("user", "units.py\n```python\nKM_PER_MILE = 1.609344\n\n\n"
                    "def to_km(miles: float) -> float:\n    return miles * KM_PER_MILE\n```\n\n"
                    "Make to_km round its result to 2 decimals."),
    Message("assistant", "Ok, I will:\n\n1. Round what to_km returns to 2 decimals with "
                         f"round(..., 2).\n\nunits.py\n```python\n{_EXAMPLE_ANSWER}```"),
)


def reprompt(root: Path, files: Draft, reply: str) -> str:
    """Why a draft reply wrote nothing, said to the model when it is asked again: real 1.5B
    answered with the task message, or with the last assistant line, copied out; or gave
    the file back as it was."""
    parsed = parse_files(reply, files)
    if not parsed:
        return "Your first answer to this wrote out no file."
    if all(_without_path_comment(path, content, _text(root, path) or "") == _text(root, path)
           for path, content in parsed):
        return ("Your first answer to this gave the file back as it already is, so nothing "
                "changed. Make the change the task asks for.")
    return "Your first answer to this left code out. Write each file whole."


def _answer_line(files: Draft) -> str:
    """How to answer, with this task's own file names (a small model copies a sample name)."""
    names = files.writable
    which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
    return (
        f"Answer with each file you change ({which}) as it must be after the change: its "
        "path alone on one line, then the whole file in a fenced code block. Keep every "
        "line the task does not ask you to change."
    )


def _listing(rel: str, text: str) -> str:
    fence = "````" if "```" in text else "```"
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{rel}\n{fence}{_LANGUAGES.get(PurePosixPath(rel).suffix, '')}\n{body}{fence}"


def parse_files(text: str, files: Draft) -> list[tuple[str, str]]:
    """The (path, content) pairs of a whole-file reply, in order, for the files the draft may
    write: a fenced block under its path, or with the path in its info string; a reply of
    one block is that file when the draft has only one. A block cut short (no closing
    fence) or naming no writable file is left out; a file given twice keeps the last."""
    lines = text.split("\n")
    blocks: list[tuple[str, str]] = []  # (path or "", content)
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening.group("fence")
        close = next((j for j in range(index + 1, len(lines))
                      if lines[j].strip() == fence), None)
        if close is None:
            break  # cut short: the rest of the reply is not a whole file
        inner = lines[index + 1:close]
        # the path alone on the block's first line, maybe with a second fence under it: real
        # 1.5B "```rust\nsrc/lib.rs\n```rust\n...```", real 0.5B "```python\nhello.py\n..."
        nested = inner[0].strip().removeprefix("./") if inner else ""
        if nested in files.writable:
            inner = inner[2:] if len(inner) > 1 and _FENCE.match(inner[1]) else inner[1:]
        else:
            nested = ""
        body = "".join(f"{line}\n" for line in inner)
        path = (nested or _path_in(opening.group("info"), files)
                or _path_in(_line_before(lines, index), files)
                or _commented_path(lines[index + 1] if close > index + 1 else "", files))
        blocks.append((path, body))
        index = close + 1
    if len(blocks) == 1 and not blocks[0][0] and len(files.writable) == 1:
        blocks = [(files.writable[0], blocks[0][1])]
    found: dict[str, str] = {}
    for path, content in blocks:
        if path:
            found.pop(path, None)
            found[path] = content
    return list(found.items())


def writes(root: Path, files: Draft, text: str, *, whole: bool = False) -> list[tuple[str, str]]:
    """The files of a reply worth writing: each without a first line naming its own path
    (real 1.5B began report.py with `# report.py`), and not when it is what the file holds
    already or says it leaves code out ("# ... rest of the code"); `whole`: nor when it drops
    a definition the file has (a reply in the tool loop may show just the changed part)."""
    from code_assistant.tools.writeguards import removed_definitions

    found = []
    for path, content in parse_files(text, files):
        before = _text(root, path) if (root / path).exists() else ""
        if before is None:
            continue
        content = _without_path_comment(path, content, before)
        if not content.strip() or content in (before, _EXAMPLE_ANSWER) or elides(before, content):
            continue
        if _fence_lines(path, content) - _fence_lines(path, before):
            continue  # the chat's markup inside the file: not code
        if whole and removed_definitions(before, content):
            continue
        found.append((path, content))
    return found


_COMMENT = re.compile(r"^\s*(?:#|//|/\*|--|<!--)\s*(?P<path>[\w./-]+?)\s*(?:\*/|-->)?\s*$")


def _fence_lines(path: str, text: str) -> set[str]:
    """The lines of a file that are Markdown code fences; none counted in Markdown itself."""
    if path.endswith((".md", ".markdown", ".rst", ".txt")):
        return set()
    return {line.strip() for line in text.splitlines() if _FENCE.match(line.strip())}


def _commented_path(line: str, files: Draft) -> str:
    """The writable file a block's first line names as a comment (`# report.py`)."""
    match = _COMMENT.match(line)
    return _path_in(match.group("path"), files) if match else ""


def _without_path_comment(path: str, content: str, before: str) -> str:
    first, newline, rest = content.partition("\n")
    match = _COMMENT.match(first)
    if match is None or before.startswith(first) or match.group("path").removeprefix("./") not in (
        path, PurePosixPath(path).name
    ):
        return content
    return rest if newline else ""


def _line_before(lines: list[str], index: int) -> str:
    """The last non-blank line before a fence, when it is one of the two just above it."""
    for back in (1, 2):
        if index - back >= 0 and lines[index - back].strip():
            return lines[index - back]
    return ""


def _path_in(line: str, files: Draft) -> str:
    """The writable file a line names (`stats.py`, `**src/lib.rs**`, `File: stats.py:`), by
    path or by a base name only one of them has; "" when none."""
    for word in reversed(_PATH_WORD.findall(line)):
        word = str(word).removeprefix("./")
        if word in files.writable:
            return word
        matches = [rel for rel in files.writable if PurePosixPath(rel).name == word]
        if len(matches) == 1:
            return matches[0]
    return ""


def first_run_note(command: str, output: str, focus: str = "") -> str:
    """What ca's run of the task's check before the model started showed (verify.py), for
    the draft: its last lines and where to look."""
    shown = f"ca ran `{command}` before you started:\n{output_tail(output)}"
    return f"{shown}\n\n{focus}" if focus else shown


def check_note(check: Check, output: str, focus: str = "", *, ran_failed: bool = True) -> str:
    """A failing check after a draft, for the redraft: what ca ran, how it failed, its last
    lines and where to look; no tool names (the redraft has none)."""
    shown = (f"ca ran `{check.command}` after your change and {what_failed(check, ran_failed)}:"
             f"\n{output_tail(output)}")
    return f"{shown}\n\n{focus}" if focus else shown


def now_reads(ctx: ToolContext, rel: str) -> str:
    """A drafted file as the tool loop will go on from it: numbered, as read_file shows it."""
    from code_assistant.agent.context import FILE_MAX_LINES
    from code_assistant.tools.files import read_file

    try:
        shown = str(read_file(ctx, rel, end_line=FILE_MAX_LINES))
    except ToolError:
        return ""
    return f"{rel} now reads:\n{shown}"


def elides(before: str, after: str) -> bool:
    """Whether a whole-file answer leaves code out in words ("# ... rest of the code ...")
    that the file did not have: written, it would delete that code."""
    return any(match.group(0) not in before for match in _ELIDED.finditer(after))


def prose(text: str) -> str:
    """The reply without its code blocks and the path lines above them: what it says it did."""
    kept: list[str] = []
    inside = ""
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if inside:
            inside = "" if line.strip() == inside else inside
        elif opening is not None:
            inside = opening.group("fence")
            if kept and _PATH_WORD.fullmatch(kept[-1].strip(" *#`:")):
                kept.pop()
        else:
            kept.append(line)
    return " ".join(" ".join(kept).split())[:400]
