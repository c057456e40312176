"""Pipeline progress: a live console view (phase, model, elapsed, calls) or JSON events."""

from __future__ import annotations

import json
import sys
import time
from types import TracebackType
from typing import Any, TextIO

from code_assistant.agent.events import (
    Event,
    ModelCallEvent,
    RetryEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    WarningEvent,
)
from code_assistant.render import brief_args

JSON_OUTPUT_CHARS = 4000  # tool output in --json events; the transcript keeps all of it


class JsonProgress:
    """One JSON object per line: pipeline events and the agents' events, tagged with the phase."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from code_assistant.redact import Redactor, secret_values

        self.stream = stream or sys.stdout
        self.redactor = Redactor(secret_values())

    def __enter__(self) -> JsonProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, payload: dict[str, Any]) -> None:
        self.stream.write(json.dumps(self.redactor.data(payload), default=str) + "\n")
        self.stream.flush()

    def agent(self, phase: str, event: Event) -> None:
        if isinstance(event, TokenEvent):
            return
        data = event.to_dict()
        if isinstance(event, ToolResultEvent) and len(event.output) > JSON_OUTPUT_CHARS:
            data["output"] = event.output[-JSON_OUTPUT_CHARS:]
        self.write({"event": data.pop("event"), "phase": phase, **data})

    def pipeline(self, kind: str, **data: Any) -> None:
        self.write({"event": kind, **data})


class _StatusLine:
    """Rendered on every refresh, so the elapsed time ticks without events."""

    def __init__(self) -> None:
        self.phase = ""
        self.model = ""
        self.started = time.monotonic()
        self.model_calls = 0
        self.tool_calls = 0

    def __rich__(self) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"[bold]{self.phase}[/] · {self.model} · {elapsed:.0f}s · "
            f"{self.model_calls} model calls · {self.tool_calls} tool calls"
        )


class ConsoleProgress:
    """A line per phase and per tool call, under a live status line when on a terminal."""

    def __init__(self, stream: TextIO | None = None, live: bool = True) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)
        self.line = _StatusLine()
        self._live = live and self.console.is_terminal
        self._status: Any = None

    def __enter__(self) -> ConsoleProgress:
        if self._live:
            self._status = self.console.status(self.line)
            self._status.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def print(self, text: str) -> None:
        self.console.print(text)

    def agent(self, phase: str, event: Event) -> None:
        match event:
            case ModelCallEvent(model=model):
                self.line.model_calls += 1
                self.line.model = model
            case ToolCallEvent(name=name, arguments=arguments):
                self.line.tool_calls += 1
                self.print(f"  [cyan]⏺ {name}[/]({brief_args(arguments)})")
            case ToolResultEvent(ok=False, output=output):
                first = output.strip().split("\n", 1)[0][:160]
                self.print(f"    [red]✗ {_escape(first)}[/]")
            case RetryEvent(strategy=strategy):
                self.print(f"    [yellow]↻ recovering: {strategy}[/]")
            case WarningEvent(message=message):
                self.print(f"    [yellow]warning: {_escape(message)}[/]")

    def pipeline(self, kind: str, **data: Any) -> None:
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(data)

    def _on_run_start(self, data: dict[str, Any]) -> None:
        verb = "resuming" if data.get("resumed") else "starting"
        self.print(f"[bold]ca run[/] {verb} {data['run_id']} at phase {data['phase']}")

    def _on_phase_start(self, data: dict[str, Any]) -> None:
        self.line.phase, self.line.model = data["phase"], data["model"]
        self.line.started = time.monotonic()
        self.line.model_calls = self.line.tool_calls = 0
        self.print(f"[bold blue]▶ {data['phase']}[/] [dim]({data['model']})[/]")

    def _on_phase_end(self, data: dict[str, Any]) -> None:
        mark = {"done": "[green]✓[/]", "skipped": "[dim]–[/]"}.get(data["status"], "[red]✗[/]")
        note = f" · {_escape(data['note'])}" if data.get("note") else ""
        self.print(
            f"{mark} {data['phase']} {data['status']} in {data['seconds']:.1f}s · "
            f"{data['model_calls']} model calls · {data['tool_calls']} tool calls{note}"
        )

    def _on_plan(self, data: dict[str, Any]) -> None:
        self.print(f"  [dim]intent {data['intent']}: {_escape(data['summary'])}[/]")
        for criterion in data["criteria"]:
            self.print(f"  [dim]• {_escape(criterion)}[/]")

    def _on_unload(self, data: dict[str, Any]) -> None:
        self.print(f"  [dim]unloaded {data['model']} before {data['next_model']}[/]")

    def _on_question(self, data: dict[str, Any]) -> None:
        self.print(f"  [magenta]? {_escape(data['question'])}[/]")
        self.print(f"  [magenta]→ {_escape(data['answer'][:300])}[/]")

    def _on_findings(self, data: dict[str, Any]) -> None:
        counts = ", ".join(f"{n} {level}" for level, n in data["counts"].items())
        self.print(f"  review: {counts}")

    def _on_test_round(self, data: dict[str, Any]) -> None:
        colour = "green" if data["ok"] else "red"
        self.print(
            f"  [{colour}]tests round {data['round']}: {data['passed']} passed, "
            f"{data['failed']} failed, {data['errors']} errors "
            f"({data['collected']} collected, exit {data['exit_code']})[/]"
        )

    def _on_sample_start(self, data: dict[str, Any]) -> None:
        self.print(f"  [bold]◆ sample {data['sample']} of {data['of']}[/]")

    def _on_sample_score(self, data: dict[str, Any]) -> None:
        outcome = (f"error: {_escape(data['error'])}" if data["error"] else
                   f"{data['passed']} passed, {data['failed']} failed, {data['errors']} errors")
        self.print(f"  sample {data['sample']}: {outcome} · {data['diff_lines']} diff lines")

    def _on_sample_review(self, data: dict[str, Any]) -> None:
        self.print(f"  sample {data['sample']}: {data['findings']} review findings")

    def _on_samples_kept(self, data: dict[str, Any]) -> None:
        self.print(f"  [green]kept sample {data['sample']} of {data['of']}[/]")

    def _on_warning(self, data: dict[str, Any]) -> None:
        self.print(f"  [yellow]warning: {_escape(str(data['message']))}[/]")

    def _on_run_end(self, data: dict[str, Any]) -> None:
        colour = "green" if data["status"] == "done" else "yellow"
        self.print(f"[bold {colour}]run {data['run_id']} {data['status']}[/] · report: "
                   f"{data['report']}")
        if data.get("hint"):
            self.print(f"[yellow]{_escape(data['hint'])}[/]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
