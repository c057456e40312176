"""The tool-calling loop: call the model, run the tools it asks for, repeat until it answers."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from code_assistant.agent import draft, stuck
from code_assistant.agent.draftrounds import DraftRounds
from code_assistant.agent.events import (
    DoneEvent,
    Event,
    ModelCallEvent,
    OnEvent,
    RetryEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    Transcript,
    WarningEvent,
)
from code_assistant.agent.failfocus import focus_note
from code_assistant.agent.grammar import (
    constrain_every_call,
    envelope_schema,
    parse_envelope,
    with_envelope_prompt,
)
from code_assistant.agent.repeatguard import RepeatGuard, Repeating
from code_assistant.agent.toolcalls import extract_tool_calls, resolve_tool_name
from code_assistant.agent.verify import (
    NOT_FOUND,
    PYTEST_NO_TESTS,
    Verifier,
    failure_message,
    first_run_note,
)
from code_assistant.backends.base import (
    Backend,
    ChatOptions,
    ChatResult,
    Message,
    ToolCall,
    Usage,
    estimate_tokens,
)
from code_assistant.errors import AlreadyMade, ToolError
from code_assistant.tools.registry import ToolContext, ToolOutput, ToolRegistry

CODE_BLOCK = re.compile(r"```[\w+-]*\n.*?```", re.S)
CORRECTIVE = (
    "You showed code but did not call a tool, so nothing was changed on disk. "
    "Do not print code. Call a tool now: write_file(path, content) to create or replace a "
    "file, or edit_file(path, old, new) to change one. Reply with the tool call only."
)


@dataclass
class Agent(DraftRounds):
    """A model with tools. Free of I/O: everything it does is reported through `on_event`."""

    backend: Backend
    model: str
    tools: ToolRegistry
    ctx: ToolContext
    options: ChatOptions = field(default_factory=ChatOptions)
    on_event: OnEvent | None = None
    max_steps: int = 30
    # The task asks for changes: code shown without a tool call is a failure to act.
    needs_action: bool = True
    stream: bool = True
    # auto: constrained only as a recovery; always: every call; never (see grammar.py)
    constrained_tool_calls: str = "auto"
    # Task mode: the check to run before "done" (verify.py); None: the model's word is final.
    verifier: Verifier | None = None
    # Task mode: the files a whole-file first answer writes (draft.py); None: no draft.
    draft: draft.Draft | None = None
    _first_run: str = field(default="", init=False, repr=False)
    _last_failure: str = field(default="", init=False, repr=False)  # for a redraft
    _stuck: stuck.StuckDetector = field(
        default_factory=stuck.StuckDetector, init=False, repr=False
    )

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def run(self, messages: list[Message]) -> Transcript:
        transcript = Transcript(messages=messages)
        self._stuck = stuck.StuckDetector()
        started = time.perf_counter()
        reprompted = False
        self._open_task(transcript, messages)
        done = self.draft is not None and self._drafted(transcript, messages)
        acted = transcript.tool_calls > 0  # the draft's writes
        while not done and transcript.model_calls < self.max_steps:
            result = self._chat(transcript, messages)
            calls = [self._known_name(c) for c in result.tool_calls]
            if not calls and result.text:
                calls = self._text_calls(result.text) or self._whole_files(transcript, result.text)
                transcript.recoveries.text_tool_calls += len(calls)
            if not calls and self._showed_code_instead(result, acted):
                if not reprompted:
                    reprompted = True
                    transcript.recoveries.explain_reprompts += 1
                    self.emit(RetryEvent("explain_reprompt"))
                    messages += [Message("assistant", result.text), Message("user", CORRECTIVE)]
                    continue
                calls = []
                if self.constrained_tool_calls != "never":
                    calls = self._constrained_call(transcript, messages)
                if not calls:
                    transcript.recoveries.gave_up += 1
                    transcript.stop_reason = "no_action"
                    transcript.final_text = result.text
                    break
            if not calls:
                transcript.final_text = result.text
                messages.append(Message("assistant", result.text))
                if self._check_failed(transcript, messages):
                    continue
                break
            messages.append(Message("assistant", result.text, tool_calls=calls))
            self._run_calls(transcript, messages, calls)
            acted = True
            if transcript.stop_reason == "stuck":
                if self._unstuck_by_check(transcript, messages, calls):
                    continue
                break
        else:
            if not done:
                transcript.stop_reason = "max_steps"
        transcript.seconds = time.perf_counter() - started
        self.emit(DoneEvent.of(transcript))
        return transcript

    def _chat(
        self, transcript: Transcript, messages: list[Message], options: ChatOptions | None = None,
        *, with_tools: bool = True,
    ) -> ChatResult:
        if options is None and constrain_every_call(
            self.constrained_tool_calls, self.backend.name
        ):
            return self._enveloped_chat(transcript, messages)
        options = options or self.options
        tools = self.tools.specs if options.format is None and with_tools else []
        self.emit(ModelCallEvent(self.model, step=transcript.model_calls + 1))
        # Constrained replies are JSON: their text is emitted once parsed, not token by token.
        stream = self.stream and options.format is None
        guard = RepeatGuard()

        def on_token(token: str) -> None:
            self.emit(TokenEvent(token))
            guard.feed(token)

        try:
            result = self.backend.chat(
                self.model, messages, tools=tools, options=options,
                on_token=on_token if stream else None,
            )
        except Repeating:
            result = _cut_short(guard, self.model, messages)
        transcript.model_calls += 1
        transcript.usage = transcript.usage + result.usage
        for warning in result.warnings:
            self.emit(WarningEvent(warning))
        return result

    def _showed_code_instead(self, result: ChatResult, acted: bool) -> bool:
        return (
            self.needs_action
            and not acted
            and "write_file" in self.tools
            and bool(CODE_BLOCK.search(result.text))
        )

    def _constrained_call(self, transcript: Transcript, messages: list[Message]) -> list[ToolCall]:
        """Last resort: ask again with the output constrained to the tool-call envelope."""
        transcript.recoveries.constrained_retries += 1
        self.emit(RetryEvent("constrained_output"))
        specs = self.tools.specs
        options = replace(self.options, format=envelope_schema(specs, allow_text=False))
        prompted = with_envelope_prompt(messages, specs, allow_text=False)
        result = self._chat(transcript, prompted, options)
        reply = parse_envelope(result.text, self.tools.names)
        if reply is None:
            return self._text_calls(result.text)
        return reply.calls

    def _text_calls(self, text: str) -> list[ToolCall]:
        """Calls written in the message text; positional arguments map to parameter order."""
        params = {t.name: list(t.parameters["properties"]) for t in self.tools}
        return extract_tool_calls(text, self.tools.names, params=params)

    def _known_name(self, call: ToolCall) -> ToolCall:
        """A native call to a near-miss name (`writefile`, `create_file`) goes to the real tool."""
        if call.name not in self.tools:
            call.name = resolve_tool_name(call.name, self.tools.names) or call.name
        return call

    def _enveloped_chat(self, transcript: Transcript, messages: list[Message]) -> ChatResult:
        """Every call constrained: the reply is a text answer or one well-formed tool call.

        A task's first reply must be a call: offered the choice, a 0.5B model answers a task
        such as "create hello.py that prints hello world" with the text "hello world"."""
        specs = self.tools.specs
        text = not (self.needs_action and "write_file" in self.tools and not transcript.tool_calls)
        options = replace(self.options, format=envelope_schema(specs, allow_text=text))
        prompted = with_envelope_prompt(messages, specs, allow_text=text)
        result = self._chat(transcript, prompted, options)
        reply = parse_envelope(result.text, self.tools.names)
        if reply is None:  # cut short (max_tokens): the loop's text recovery still applies
            return result
        if reply.text:
            self.emit(TokenEvent(reply.text))
        return replace(result, text=reply.text, tool_calls=reply.calls)

    def _run_calls(
        self, transcript: Transcript, messages: list[Message], calls: list[ToolCall]
    ) -> None:
        """Run the reply's calls in order; a call repeated without progress stops the task."""
        for index, call in enumerate(calls):
            call.id = call.id or f"call_{transcript.tool_calls}_{index}"
            if transcript.stop_reason == "stuck":
                output = "not run: the task stopped"  # every call needs its result message
            elif self._stuck.should_stop(call, len(self.ctx.changes)):
                transcript.stop_reason = "stuck"
                transcript.stuck_call = stuck.describe(call)
                transcript.final_text = stuck.stop_note(call)
                self.emit(WarningEvent(transcript.final_text))
                output = f"not run: {transcript.final_text}"
            else:
                messages.append(self._run_tool(transcript, call))
                continue
            messages.append(Message("tool", output, tool_call_id=call.id, name=call.name))

    def _unstuck_by_check(
        self, transcript: Transcript, messages: list[Message], calls: list[ToolCall]
    ) -> bool:
        """Stuck: before giving up, run the task's check. Passing while the model repeats a
        call that succeeded (a change it made, a run that worked), the work is done and only
        its "done" is missing. Failing, its
        output goes back to the model (within the verifier's rounds), which is more to go
        on than the call it kept repeating: True, the loop goes on. The count is kept, so the
        repeated call itself never runs again unless something changed."""
        if self.verifier is None or not self.ctx.changes:
            return False
        note = transcript.final_text
        transcript.stop_reason = "done"  # for now: the check decides
        if self._check_failed(transcript, messages):
            transcript.final_text, transcript.stuck_call = "", ""
            self.emit(RetryEvent("check_after_stuck"))
            return True
        if _out_of_rounds(transcript):  # it failed to the end
            return False
        if transcript.verified and any(self._stuck.repeats_a_success(c) for c in calls):
            transcript.final_text = f"{note}; the change is made and its check passed"
        else:
            transcript.stop_reason = "stuck"
        return False

    def _open_task(self, transcript: Transcript, messages: list[Message]) -> None:
        """A task that says its command fails starts with that command's output; a rename
        starts with the lines to change."""
        if self.verifier is None or messages[-1].role != "user":
            return
        opening = self.verifier.opening_note()
        if opening:
            messages[-1] = replace(messages[-1], content=f"{messages[-1].content}\n\n{opening}")
        check = self.verifier.first_run()
        if check is None or "run_shell" not in self.tools:
            return
        call = ToolCall("run_shell", {"command": check.command}, id="check_first")
        result, ok = self._execute(transcript, call, by_model=False)
        transcript.checks += 1
        if ok:  # refused by the user or the policy: the task starts as written
            focus = focus_note(self.ctx.root, result.text) if result.failed else ""
            note = first_run_note(check, result.text, result.failed, focus)
            self._first_run = draft.first_run_note(check.command, result.text, focus)
            messages[-1] = replace(messages[-1], content=f"{messages[-1].content}\n\n{note}")

    def _check_failed(self, transcript: Transcript, messages: list[Message]) -> bool:
        """Before "done": run the pending check; True when its failure went back to the model."""
        verifier = self.verifier
        self._last_failure = ""
        if verifier is None or "run_shell" not in self.tools:
            return False
        changed = [change.path for change in self.ctx.changes]
        missing = verifier.missing(changed)
        self._last_failure = missing
        if missing:
            transcript.verified = False
            if verifier.used >= verifier.rounds:  # what the task names is still not there
                transcript.stop_reason = "unverified"
                return False
            verifier.used += 1
            self.emit(RetryEvent("missing_definition"))
            messages.append(Message("user", missing))
            return True
        check = verifier.check_for(changed)
        if check is None:
            return False
        transcript.check_command = check.command
        if verifier.passed(check, len(self.ctx.changes)):
            transcript.verified = True
            return False
        call = ToolCall("run_shell", {"command": check.command}, id=f"check_{verifier.used}")
        result, ok = self._execute(transcript, call, by_model=False)
        transcript.checks += 1
        output, code = result.text, result.exit_code
        failed = result.failed or not check.shows(output)  # e.g. --help must list the new option
        if ok and not failed:
            transcript.verified = True
            return False
        if ok and (code == NOT_FOUND or (code == PYTEST_NO_TESTS and "pytest" in check.command)):
            return False  # no tests collected, or no such runner here: the task ends as before
        transcript.verified = False
        if verifier.used >= verifier.rounds or not ok:  # out of rounds, or the run was refused
            transcript.stop_reason = "unverified"
            return False
        verifier.used += 1
        left = verifier.rounds - verifier.used
        focus = focus_note(self.ctx.root, output)
        message = failure_message(check, output, left, focus, ran_failed=result.failed)
        self._last_failure = draft.check_note(check, output, focus, ran_failed=result.failed)
        messages.append(Message("user", message))
        return True

    def _run_tool(self, transcript: Transcript, call: ToolCall) -> Message:
        changes = len(self.ctx.changes)
        result, _ = self._execute(transcript, call)
        output, failed, made = result.text, result.failed, result.made
        if self.verifier is not None and call.name == "run_shell" and not failed:
            self.verifier.note_run(str(call.arguments.get("command", "")), changes)
        if self.verifier is not None and len(self.ctx.changes) > changes:
            progress = self.verifier.progress(call.name, str(call.arguments.get("path", "")))
            output = f"{output}\n{progress}" if progress else output
        spec = self.tools.get(call.name)
        note = self._stuck.record(
            call, failed=failed, changed=len(self.ctx.changes) > changes, made=made,
            is_change=spec is not None and spec.kind == "write", changes=len(self.ctx.changes),
        )
        if note:
            transcript.stuck_warnings += 1
            self.emit(RetryEvent("stuck_warning"))
            output = f"{output}\n\n{note}"
        return Message("tool", output, tool_call_id=call.id, name=call.name)

    def _execute(
        self, transcript: Transcript, call: ToolCall, by_model: bool = True
    ) -> tuple[ToolOutput, bool]:
        """Dispatch one call with its events: (its output, ran without a ToolError); a
        ToolError's output is failed too. ca's own check runs are not the model's calls:
        they count apart (Transcript.checks)."""
        transcript.tool_calls += by_model
        self.emit(ToolCallEvent(call.id, call.name, call.arguments))
        started = time.perf_counter()
        ok = True
        refusal = self.verifier.refusal(call.name, call.arguments) if self.verifier else ""
        try:
            if refusal and by_model:
                raise ToolError(refusal)
            output = self.tools.dispatch(call, self.ctx)
        except ToolError as exc:
            ok = False
            transcript.recoveries.tool_errors += by_model
            output = ToolOutput(f"error: {exc}", failed=True, made=isinstance(exc, AlreadyMade))
        if ok and output.failed:  # it ran and failed, e.g. a command's non-zero exit
            transcript.recoveries.failed_commands += by_model
        seconds = round(time.perf_counter() - started, 3)
        self.emit(ToolResultEvent(call.id, call.name, ok, output.failed, output.text, seconds))
        return output, ok


def _out_of_rounds(transcript: Transcript) -> bool:
    """The check ran out of rounds (set inside `_check_failed`, which a narrowed read of
    `stop_reason` right after assigning it would not see)."""
    return transcript.stop_reason == "unverified"


def _cut_short(guard: RepeatGuard, model: str, messages: list[Message]) -> ChatResult:
    """A reply ended because it repeated itself: what it said before the repetition (the
    server's usage report never came: estimated)."""
    prompt = sum(estimate_tokens(m.content) for m in messages)
    return ChatResult(
        text=guard.kept(),
        usage=Usage(prompt, estimate_tokens(guard.text)),
        model=model,
        warnings=["the reply began to repeat itself word for word; ca ended it there"],
    )
