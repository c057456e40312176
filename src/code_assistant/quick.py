"""Quick mode: one streamed answer from the architect model, no tools, no index."""

from __future__ import annotations

import sys

from code_assistant.app import App
from code_assistant.backends import Message, get_backend
from code_assistant.errors import UsageError
from code_assistant.workspace import chat_options


def quick_answer(loaded: App, question: str, *, json_out: bool = False) -> int:
    """Stream the answer to stdout (or print one JSON object with --json). Returns exit code."""
    from code_assistant.agent.personas import QUICK

    question = question.strip()
    if not question:
        raise UsageError("empty question: pass it as `ca -q \"...\"` or pipe it with `-q -`")
    config = loaded.config
    backend = get_backend(config)
    model = QUICK.model(config)
    messages = [Message("system", QUICK.prompt), Message("user", question)]
    options = chat_options(config)
    markdown = None
    on_token = None if json_out else _write_token
    if not json_out and sys.stdout.isatty():  # rendered like the REPL; a pipe gets raw text
        from rich.console import Console

        from code_assistant.repl.render import MarkdownStream

        markdown = MarkdownStream(Console(highlight=False))
        on_token = markdown.feed
    try:
        result = backend.chat(model, messages, options=options, on_token=on_token)
    finally:
        if markdown is not None:
            markdown.stop()
    for warning in result.warnings:
        print(f"ca: warning: {warning}", file=sys.stderr)
    if json_out:
        from code_assistant.jsonlines import result as emit_result

        emit_result(
            "quick",
            answer=result.text,
            model=result.model or model,
            backend=backend.name,
            usage={
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
            },
            seconds=round(result.seconds, 3),
        )
    elif markdown is None and not result.text.endswith("\n"):
        print()
    return 0


def _write_token(token: str) -> None:
    sys.stdout.write(token)
    sys.stdout.flush()
