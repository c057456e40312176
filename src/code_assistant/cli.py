"""The typer app: parses arguments, builds Config, calls one function per command."""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer vendors click since 0.20-something; older releases use click itself
    from typer._click import core as click_core
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover
    from click import core as click_core  # type: ignore[no-redef]
    from click import exceptions as click_exc  # type: ignore[no-redef]

from code_assistant import __version__
from code_assistant.agent.personas import MODEL_KEYS
from code_assistant.app import App
from code_assistant.commands import COMMAND_MODULES, JsonOut
from code_assistant.errors import CAError, UsageError

# Global options that take a value: the first token after them is not a command.
_VALUE_OPTIONS = {"-q", "--quick", "--backend", "--model", "--num-ctx", "--resume", "--cwd"}
_SINGLE_DASH_LONG = re.compile(r"^-[A-Za-z][A-Za-z-]+$")


def _plain_help(command: Any) -> None:
    """Help without Python types (`<list[str]>`, `good|bad <str>`): options get a metavar
    (N for numbers, else the option's name), arguments show their name only."""
    for param in command.params:
        if param.param_type_name == "argument":
            if param.metavar is None:
                param.metavar = param.name.upper() + ("..." if param.nargs == -1 else "")
            param.display_type_rich = lambda ctx: None  # instance attribute: this one only
        elif not getattr(param, "is_flag", False) and param.metavar is None:
            try:
                shown = str(param.display_type(None))  # typer's "<int range>", "<str>"
            except Exception:  # a typer without it: names only
                shown = ""
            numeric = shown.startswith(("<int", "<float"))
            longest = max(param.opts, key=len).lstrip("-").replace("-", "_").upper()
            param.metavar = "N" if numeric else longest
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class DefaultGroup(TyperGroup):
    """`ca "do this"` runs the one-shot task; `-req-file` is refused, not read as `-r eq-file`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_help(self)

    def parse_args(self, ctx: click_core.Context, args: list[str]) -> list[str]:
        args = list(args)
        for token in args:
            if token == "--":
                break
            if _SINGLE_DASH_LONG.match(token):
                raise click_exc.UsageError(
                    f"unknown option {token!r}: long options take two dashes (-{token})"
                )
        position = 0
        while position < len(args):
            token = args[position]
            if token == "--resume" and (
                position + 1 >= len(args) or args[position + 1].startswith("-")
                or args[position + 1] in self.commands
            ):
                args.insert(position + 1, "latest")
            if token in _VALUE_OPTIONS:
                position += 2
                continue
            if token.startswith("-"):
                position += 1
                continue
            if token not in self.commands:
                _refuse_command_typo(token, self.commands)
                args.insert(position, "do")
            args = _hoist_global_options(args, position)
            break
        return super().parse_args(ctx, args)


# Global options users type after the command, as with aider and codex (`ca run REQ.md
# --yes`): they move in front of it. Those a subcommand also defines stay where they are.
_HOISTED = {"--yes": 0, "-y": 0, "--backend": 1, "--num-ctx": 1, "--cwd": 1, "--model": 1}
_OWN_OPTIONS = {"feedback": {"--model"}}


def _hoist_global_options(args: list[str], command_at: int) -> list[str]:
    command = args[command_at]
    own = _OWN_OPTIONS.get(command, set())
    head, tail = args[:command_at], args[command_at:]
    kept: list[str] = []
    index = 1
    kept.append(tail[0])
    while index < len(tail):
        token = tail[index]
        if token == "--":
            kept.extend(tail[index:])
            break
        if command == "do" and not token.startswith("-") and " " not in token:
            # Unquoted task words: a "--yes" among them is text. A quoted sentence is one
            # token, so `ca "add a flag" --yes` still approves.
            kept.extend(tail[index:])
            break
        name = token.split("=", 1)[0]
        if name in _HOISTED and name not in own:
            takes = _HOISTED[name] if "=" not in token else 0
            head.extend(tail[index : index + 1 + takes])
            index += 1 + takes
            continue
        kept.append(token)
        index += 1
    return head + kept


def _refuse_command_typo(token: str, commands: Any) -> None:
    """`ca serach "x"` is a mistyped command, not a task for the agent. Other single words
    stay tasks (`ca look`), as with `claude "word"`."""
    import difflib

    if " " in token:
        return
    close = difflib.get_close_matches(token, list(commands), n=1, cutoff=0.75)
    if close:
        raise click_exc.UsageError(
            f"unknown command {token!r}; did you mean `ca {close[0]}`? "
            f'(a task: ca do {token} ... or ca "{token} ...")'
        )


# Files this invocation created (path, content): a failed first run takes them back.
_CREATED: list[tuple[Any, bytes]] = []


def _take_back_created() -> None:
    """A first task that failed leaves no untracked ca.config behind (unless edited since)."""
    for path, content in _CREATED:
        try:
            if path.read_bytes() == content:  # quietly: the error line stays the only one
                path.unlink()
        except OSError:
            pass
    _CREATED.clear()


@dataclass
class GlobalOptions:
    """Options given before any command; they form the CLI config layer."""

    cli: dict[str, Any] = field(default_factory=dict)
    json: bool = False
    cwd: str | None = None

    def load(self, *, project: bool = False) -> App:
        """The layered config. `project`: a command that works on the project (REPL, task,
        pipeline, index), whose first run in a repository writes a commented ca.config."""
        from pathlib import Path

        from code_assistant.config import ensure_project_file, find_project_root, load_config

        if self.cwd and not Path(self.cwd).is_dir():
            raise UsageError(f"--cwd {self.cwd}: no such directory")
        root = find_project_root(Path(self.cwd) if self.cwd else None)
        loaded = load_config(root, self.cli)
        if project and loaded.untrusted and not self.json:
            loaded = self._ask_trust(loaded)
        from code_assistant.embedded import apply_default

        apply_default(loaded)  # no backend chosen, no Ollama: embedded llama.cpp
        for warning in loaded.warnings:
            print(f"ca: warning: {warning}", file=sys.stderr)
        if project and (written := ensure_project_file(loaded)):
            print(f"ca: created {written} (commented defaults: edit it to pick models)",
                  file=sys.stderr)
            _CREATED.append((written, written.read_bytes()))
        return loaded

    def _ask_trust(self, loaded: App) -> App:
        """The one-time trust prompt on a terminal; elsewhere the gated values stay ignored.

        Like Codex, neither --yes nor a non-interactive run implies trust: --yes approves
        the model's actions, it does not let the repository choose what needs approval.
        """
        from code_assistant import trust
        from code_assistant.config import PROJECT_FILE, load_config

        if not trust.interactive():
            return loaded
        if not trust.ask_trust(loaded.root / PROJECT_FILE, loaded.untrusted):
            return loaded
        trust.record_trust(loaded.home, loaded.root, loaded.untrusted)
        return load_config(loaded.root, self.cli)


app = typer.Typer(
    cls=DefaultGroup,
    add_completion=True,  # ca --install-completion / --show-completion (bash, zsh, fish)
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="code-assistant: a local coding agent for small open models.\n\n"
    "\b\n"  # click keeps this block as written: the examples stay aligned
    "  ca                           interactive session (REPL)\n"
    '  ca "add a --verbose flag"    one-shot task with tools in this project\n'
    '  ca -q "question"             one streamed answer, no tools\n'
    "  ca COMMAND --help            help on one command",
)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    quick: str | None = typer.Option(
        None, "-q", "--quick", metavar="QUESTION",
        help="Ask one question, streamed, no tools ('-': stdin)."
    ),
    backend: str | None = typer.Option(
        None, "--backend", metavar="NAME", help="ollama, openai, llamacpp or anthropic."
    ),
    model: str | None = typer.Option(
        None, "--model", metavar="NAME", help="Use this model for every persona."
    ),
    num_ctx: int | None = typer.Option(
        None, "--num-ctx", metavar="N", help="Context window (tokens)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve every action (no prompts)."),
    json_out: JsonOut = False,
    resume: str | None = typer.Option(
        None, "--resume", metavar="ID", help="Resume a session (ID or latest)."
    ),
    spec: bool = typer.Option(False, "--spec", help="Start the REPL in spec mode."),
    cwd: str | None = typer.Option(
        None, "--cwd", metavar="DIR", help="Run as if started in this directory."
    ),
    version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit."),
) -> None:
    if version:
        print(f"ca {__version__}")
        raise typer.Exit(0)
    cli: dict[str, Any] = {"backend": backend, "num_ctx": num_ctx}
    if model:
        cli.update(dict.fromkeys(MODEL_KEYS, model))
    if yes:
        cli["approval"] = "auto"
    options = GlobalOptions(cli=cli, json=json_out, cwd=cwd)
    ctx.obj = options
    if ctx.invoked_subcommand is not None:
        return
    if quick is not None:
        from code_assistant.quick import quick_answer

        question = read_stdin() if quick == "-" else quick
        raise typer.Exit(quick_answer(options.load(), question, json_out=json_out))
    from code_assistant.repl.session import start_repl

    raise typer.Exit(start_repl(options.load(project=True), resume=resume, spec=spec))


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def run(args: list[str]) -> int:
    """Run the CLI; every expected failure is one line on stderr and an exit code (and,
    with --json, an `error` event on stdout)."""
    from code_assistant.jsonlines import wanted
    from code_assistant.redact import install_log_redaction, secret_values

    install_log_redaction(secret_values())
    failure = _run_app(args)
    if failure not in (0, 130) and not (isinstance(failure, tuple) and failure[1] == 130):
        _take_back_created()  # an interrupted run is resumed: its config stays
    if isinstance(failure, int):
        return failure
    message, code, kind = failure
    bare = kind == "Interrupted"  # Ctrl-C outside any task: nothing more to say
    print("ca: interrupted" if bare else f"ca: error: {message}", file=sys.stderr)
    if wanted(args):
        from code_assistant.jsonlines import error

        error(message, code, kind)
    return code


def _run_app(args: list[str]) -> int | tuple[str, int, str]:
    """The exit code, or (message, exit code, error kind) of a failure."""
    try:
        result = app(args=args, prog_name="ca", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except click_exc.UsageError as exc:
        return f"{exc.format_message()} (see `{_help_hint(exc)}`)", 2, "UsageError"
    except (typer.Abort, KeyboardInterrupt):
        return "interrupted", 130, "Interrupted"
    except CAError as exc:
        from code_assistant.redact import redact

        return redact(str(exc)), exc.exit_code, type(exc).__name__
    except click_exc.ClickException as exc:
        return exc.format_message(), exc.exit_code, "UsageError"
    return result if isinstance(result, int) else 0


def _help_hint(exc: click_exc.UsageError) -> str:
    """`ca index --help` for a usage error inside `ca index`, not the top-level help."""
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else "ca"
    return f"{path or 'ca'} --help"


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 become U+FFFD, not a traceback."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read()
    return bytes(stream.read()).decode("utf-8", "replace")


def options_of(ctx: typer.Context) -> GlobalOptions:
    """The global options of the invocation (commands call this, not ctx.obj directly)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, GlobalOptions):
        raise UsageError("internal: global options missing")
    return obj
