"""Verification before "done": the check a task or project names, run when the model skipped it.

A small model announces success for code it never ran. When the task names a command (in
backticks) or the project has a test command, and the model answers without a successful run
of it after its last change, ca runs it and feeds a failure back for a bounded number of rounds.
A task with nothing to run ends as before.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.agent import stuck, taskrules
from code_assistant.agent.context import named_paths
from code_assistant.backends.base import ToolCall

_RETRIED = ("edit_file", "write_file", "run_shell")  # calls a fresh start does not repeat
ROUNDS = 2  # failing checks fed back to the model before the task ends unverified
TAIL_LINES = 40
PYTEST_NO_TESTS = 5  # pytest's exit code when it collected nothing: there is nothing to check
NOT_FOUND = 127  # the shell found no such program: this machine cannot run the check

_RUNNERS = (
    "python", "python3", "pytest", "node", "npm", "npx", "cargo", "go", "make", "bash", "sh",
    "uv", "poetry", "ruby", "java", "deno", "bun",
)
_BACKTICKED = re.compile(r"`([^`\n]{2,200})`")
_PLAIN_RUN = re.compile(
    r"\b(?:python3?|node|deno|bun|ruby|bash|sh)\s+[\w./-]+\.(?:py|js|mjs|ts|rb|sh)\b"
)
_MENTIONS_TESTS = re.compile(r"\b(tests?|pytest|specs?)\b", re.I)
_SAYS_IT_FAILS = re.compile(
    r"\b(?:fails?|failing|crash(?:es|ed|ing)?|errors?|traceback|exception|broken)\b", re.I)
_PARSERS = re.compile(r"^\s*(?:import|from)\s+(?:argparse|optparse|click|typer)\b", re.M)
_OPTION = re.compile(r"(?<![\w-])--[a-z][\w-]*")
# "prints exactly: hello world", "that prints 'Done'": the text the task says a script prints.
_PRINTS = re.compile(
    r"\bprints?\b(?:\s+(?:out\s+)?exactly)?\s*"
    r"(?::\s*[\"'`]?(?P<colon>[^\n\"'`]*[^\s\"'`.,;])|[\"'`](?P<quoted>[^\"'`\n]+)[\"'`])",
    re.I,
)
_SCRIPT_RUNNERS = {".py": "python", ".js": "node", ".mjs": "node"}


@dataclass(frozen=True)
class Check:
    """A command that tells whether the task's change works."""

    command: str
    key: str  # a model's run_shell command containing this counts as running the check
    required: bool  # the task names it: run it even when no file changed
    expect: str = ""  # text the output must hold: only ca's own run can tell
    hint: str = ""  # what to do when the output lacks `expect`

    def matches(self, command: str) -> bool:
        return not self.expect and self.key in command

    def shows(self, rendered: str) -> bool:
        """Whether a rendered run of the check holds the expected text (not counting its
        `$ command` header line); SOME_OUTPUT: any output at all."""
        body = rendered.partition("\n")[2]
        if self.expect == SOME_OUTPUT:
            return bool(body.strip()) and body.strip() != NO_OUTPUT
        return not self.expect or self.expect in body


SOME_OUTPUT = "some output"  # Check.expect of a script the task says prints something
NO_OUTPUT = "(no output)"  # how run_shell renders a command that printed nothing


def named_command(task: str) -> str:
    """A command the task names: quoted in backticks (with its arguments), or written plainly
    as a runner and a script (`python report.py crashes`). Test runners come from the project."""
    for quoted in _BACKTICKED.findall(task):
        words = quoted.strip().split()
        first = words[0] if words else ""
        if first in _RUNNERS or first.startswith("./"):
            return str(quoted).strip()
    plain = _PLAIN_RUN.search(task)
    return plain.group(0) if plain else ""


def _key(command: str) -> str:
    """What identifies the command in the model's own runs: its script, or the test runner."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for word in words:
        if word.endswith((".py", ".js", ".mjs", ".ts", ".sh")):
            return word.removeprefix("./")
    for runner in ("pytest", "cargo test", "go test", "npm test", "npm run test", "make test"):
        if runner in command:
            return runner
    return command


def find_check(
    root: Path, task: str, configured: str = "", changed: Sequence[str] = ()
) -> Check | None:
    """The task's own command, else the project's test command (config, then detection),
    else a syntax check of the Python files the task changed."""
    from code_assistant.pipeline.testrunner import detect_test_command

    named = named_command(task)
    if named:
        return Check(named, _key(named), required=True)
    command = detect_test_command(root, configured)
    if command:
        return Check(command, _key(command), required=bool(_MENTIONS_TESTS.search(task)))
    return (_option_check(root, task, changed) or _prints_check(root, task, changed)
            or _compile_check(root, changed))


def _option_check(root: Path, task: str, changed: Sequence[str]) -> Check | None:
    """"Add a --shout option to greet.py": greet.py's --help must list --shout (a 1.5B model
    made the greeting upper case for everyone and called the option added)."""
    option = _OPTION.search(task)
    script = next((p for p in changed if p.endswith(".py") and p in task), "")
    if option is None or not script or not (root / script).is_file():
        return None
    try:
        source = (root / script).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not _PARSERS.search(source):  # only a parser library answers --help with its options
        return None
    command = f"{_python()} {shlex.quote(script)} --help"
    flag = option.group(0)
    hint = _argparse_hint(script, source, flag, task[option.end():]) or (
        f"Add {flag} to the options {script} defines (where it parses its command line), "
        "keeping the others.")
    return Check(command, script, required=False, expect=flag, hint=hint)


_ADD_ARGUMENT = re.compile(r"^([ \t]*)(\w+)\.add_argument\(.*\)[ \t]*$", re.M)
_TAKES_VALUE = re.compile(r"^\s*(?:=|[A-Z]{1,12}\b|<)")  # "--count N", "--out=FILE"


def _argparse_hint(script: str, source: str, flag: str, after: str) -> str:
    """The line to copy for an argparse option, placed after the script's last one-line
    add_argument (real 1.5B, told only "add --shout to the options", re-sent its old edit);
    "" when the script has no such line."""
    lines = list(_ADD_ARGUMENT.finditer(source))
    if not lines:
        return ""
    last = lines[-1]
    number = source.count("\n", 0, last.start()) + 1
    dest = flag.lstrip("-").replace("-", "_")
    kind = "" if _TAKES_VALUE.match(after) else ', action="store_true"'
    added = f'{last.group(1)}{last.group(2)}.add_argument("{flag}"{kind})'
    return (
        f"In {script}, line {number} is `{last.group().strip()}`. Add this line after it:\n"
        f"{added}\nthen use args.{dest} where {script} makes its output: the output changes "
        f"only when {flag} is given."
    )


def _python() -> str:
    return shutil.which("python3") or shutil.which("python") or sys.executable


def printed_text(task: str) -> str:
    """The text the task says a script prints ("" when it names none)."""
    match = _PRINTS.search(task)
    if match is None:
        return ""
    return (match.group("colon") or match.group("quoted") or "").strip()


def _prints_check(root: Path, task: str, changed: Sequence[str]) -> Check | None:
    """"Create hello.py that prints exactly: hello world": run hello.py, its output must show
    the text (a 0.5B model wrote the words themselves as hello.py and called it done)."""
    text = printed_text(task)
    script = next((p for p in changed if Path(p).suffix in _SCRIPT_RUNNERS and p in task), "")
    if not script or not (root / script).is_file():
        return None
    runner = _SCRIPT_RUNNERS[Path(script).suffix]
    program = _python() if runner == "python" else (shutil.which(runner) or runner)
    command = f"{program} {shlex.quote(script)}"
    if not text:
        # "Change scores.py so that it prints the results as CSV": real 1.5B wrote them to
        # scores.csv, ran the script, saw no output and called it done.
        if not _SAYS_PRINTS.search(task):
            return None
        hint = (f"When run, {script} must print its results to the terminal: print them "
                "with print(), not into a file.")
        return Check(command, script, required=False, expect=SOME_OUTPUT, hint=hint)
    hint = (f"When run, {script} must print {text}: write {script} as a "
            f"{'Python' if runner == 'python' else 'JavaScript'} program that prints it")
    return Check(command, script, required=False, expect=text, hint=hint)


_SAYS_PRINTS = re.compile(r"\b(?:so that it|it should|that|to|and) (?:also )?prints?\b", re.I)


def _compile_check(root: Path, changed: Sequence[str]) -> Check | None:
    """Nothing else to run: at least the changed Python files must compile (a small model
    may write a file of literal `\\n`s and call it done)."""
    files = sorted({p for p in changed if p.endswith(".py") and (root / p).is_file()})
    if not files:
        return None
    quoted = " ".join(shlex.quote(p) for p in files)
    return Check(f"{_python()} -m py_compile {quoted}", "py_compile", required=False)


@dataclass
class Verifier:
    """Task-mode verification state for one agent run."""

    root: Path
    task: str
    configured: str = ""
    rounds: int = ROUNDS
    used: int = 0
    passing: list[tuple[str, int]] = field(default_factory=list)  # (command, changes then)
    # Calls that got an earlier attempt at the task stuck (freshstart.py): not run again.
    tried: set[str] = field(default_factory=set)

    def note_run(self, command: str, changes: int) -> None:
        """Remember a model's successful run_shell: it may already be the check."""
        self.passing.append((command, changes))

    def check_for(self, changed: Sequence[str]) -> Check | None:
        """The check that applies now, or None: nothing to run, or nothing changed to check.
        Found at the end, not the start: tests the model wrote count too."""
        check = find_check(self.root, self.task, self.configured, changed)
        if check is None or (not changed and not check.required):
            return None
        return check

    def refusal(self, name: str, arguments: dict[str, object]) -> str:
        """Why a call is refused before it runs ("" when it may run): a task that says the
        tests show a bug in the code does not get its tests edited, a rename is not
        undone (a 1.5B model renames, looks, renames back, in a loop), and an edit does not
        delete a function the task does not name (1.5B: `sum` replaced by the new `product`)."""
        # Only changes and runs: a look is how to get unstuck (real 1.5B, js-fix-test: its
        # read_file of the test was refused while the refusal said "read the file again").
        if name in _RETRIED and stuck.signature(ToolCall(name, dict(arguments))) in self.tried:
            return (
                "not run: this exact call already got an earlier attempt at this task stuck. "
                "Do something different: read the file again, or change other lines."
            )
        if name not in ("edit_file", "write_file"):
            return ""
        pair = taskrules.rename_pair(self.task)
        if pair and name == "edit_file" and taskrules.reverses_rename(
            *pair, str(arguments.get("old", "")), str(arguments.get("new", ""))
        ):
            return (
                f"not changed: this edit puts {pair[0]} back, but the task renames {pair[0]} "
                f"to {pair[1]}: that part is done. "
                + taskrules.rename_progress(self.root, *pair)
            )
        if pair is None and name == "edit_file" and arguments.get("old") == arguments.get("new"):
            to_add = taskrules.not_yet_defined(self.root, self.task,
                                               str(arguments.get("path", "")))
            if to_add:
                return to_add
        if pair is None and name == "edit_file":
            dropped = taskrules.dropped_definitions(
                self.root, self.task, str(arguments.get("path", "")),
                str(arguments.get("old", "")), str(arguments.get("new", "")),
            )
            if dropped:
                return dropped
        if not taskrules.protects_tests(self.task):
            return ""
        from code_assistant.agent.context import imported_modules

        rel = str(arguments.get("path", "")).strip().removeprefix("./")
        prefix = f"{self.root.resolve().as_posix()}/"
        rel = rel.removeprefix(prefix)
        if not taskrules.is_test_path(rel) or not (self.root / rel).is_file():
            return ""
        refusal = taskrules.test_edit_refusal(rel, imported_modules(self.root, rel))
        if name == "edit_file" and arguments.get("old") == arguments.get("new"):
            refusal += " Also, old and new were the same: new must hold the changed lines."
        return refusal

    def missing(self, changed: Sequence[str]) -> str:
        """What the task promises and the project does not hold yet ("" when all there): a
        function it names, or a rename that left the old name somewhere."""
        pair = taskrules.rename_pair(self.task)
        if pair and taskrules.references(self.root, pair[0]):
            return "The task is not done: " + taskrules.rename_progress(self.root, *pair)
        if not changed:  # nothing written yet: the files the task names are where to look
            changed = named_paths(self.root, self.task)
        return taskrules.missing_definitions(self.root, self.task, changed)

    def progress(self, name: str, path: str = "") -> str:
        """A note after a successful change: how far a rename has got, that a function the
        task names is missing from the file's export list, or that the file now defines all
        the task names ("" otherwise)."""
        if name not in ("edit_file", "write_file"):
            return ""
        pair = taskrules.rename_pair(self.task)
        if pair is not None:
            return taskrules.rename_progress(self.root, *pair)
        if not path:
            return ""
        return (taskrules.unexported_definitions(self.root, self.task, path)
                or taskrules.defined_note(self.root, self.task, path))

    def opening_note(self) -> str:
        """What ca finds for the task before the model starts ("" for most tasks): every line
        a rename must change (a 1.5B model searched for the name again and again)."""
        pair = taskrules.rename_pair(self.task)
        if pair is None:
            return ""
        return "ca searched the project for you. " + taskrules.rename_progress(self.root, *pair)

    def first_run(self) -> Check | None:
        """The check to run before the model starts: the task says it fails or crashes, so
        its output is the first thing to read (a 1.5B model otherwise writes an essay on
        how one would debug it)."""
        if not _SAYS_IT_FAILS.search(self.task):
            return None
        check = find_check(self.root, self.task, self.configured)
        return check if check is not None and check.required else None

    def passed(self, check: Check, changes: int) -> bool:
        """Whether the model itself ran the check successfully after its last change."""
        return any(check.matches(cmd) and at == changes for cmd, at in self.passing)


def output_tail(output: str) -> str:
    """The last TAIL_LINES lines of a check's output: where its error is."""
    return "\n".join(output.rstrip().splitlines()[-TAIL_LINES:])


def first_run_note(check: Check, output: str, failed: bool, focus: str = "") -> str:
    """What ca's run before the model's first step showed, appended to the task message;
    `focus` (failfocus.py) shows the function to fix."""
    tail = output_tail(output)
    if not failed:
        return f"ca ran `{check.command}` before you started, and it passed:\n{tail}"
    how = (f"{focus}\nFix it with edit_file." if focus
           else "Read the error above, find its cause in the code and fix it with edit_file.")
    return (
        f"ca ran `{check.command}` before you started:\n{tail}\n\n{how} "
        "ca runs the same command again when you are done."
    )


def what_failed(check: Check, ran_failed: bool) -> str:
    """How a check failed, to follow "ca ran `COMMAND` ... and": it failed, or its output
    lacks what the check expects (`ran_failed` False: the command itself passed)."""
    if check.expect == SOME_OUTPUT and not ran_failed:
        return f"it printed nothing. {check.hint}"
    if check.expect and not ran_failed:
        return f"its output does not show {check.expect}. {check.hint}"
    return "it failed"


def failure_message(
    check: Check, output: str, rounds_left: int, focus: str = "", *, ran_failed: bool = True
) -> str:
    """The user message that sends a failing check back to the model; `ran_failed` False:
    the command passed but its output lacks what the check expects."""
    tail = output_tail(output)
    again = (
        "If the next check fails too, the task ends as failed."
        if rounds_left <= 0
        else "Then run the same command with run_shell."
    )
    return (
        f"The task is not done: ca ran `{check.command}` to check your change and "
        f"{what_failed(check, ran_failed)}.\n"
        f"{tail}\n\n"
        + (f"{focus}\nFix it with edit_file. " if focus else
           "Read the error above. Find the cause with read_file and fix it with edit_file. ")
        + f"{again} Do not answer that the task is done until it passes."
    )
