"""The draft rounds of a task: a whole-file first answer (draft.py), written and checked,
before the tool loop; a part of Agent (loop.py) kept apart, as the loop needs only
`_drafted` before its first step and `_whole_files` on a reply of files instead of calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from code_assistant.agent import draft
from code_assistant.agent.draft import Draft
from code_assistant.agent.events import RetryEvent, Transcript
from code_assistant.backends.base import Message, ToolCall

if TYPE_CHECKING:
    from code_assistant.agent.events import Event
    from code_assistant.backends.base import ChatOptions, ChatResult
    from code_assistant.tools.registry import ToolContext, ToolRegistry


class DraftRounds:
    """Agent's draft rounds; the attributes and methods below are Agent's."""

    if TYPE_CHECKING:
        ctx: ToolContext
        tools: ToolRegistry
        options: ChatOptions
        draft: Draft | None
        _first_run: str
        _last_failure: str

        def emit(self, event: Event) -> None: ...
        def _chat(
            self, transcript: Transcript, messages: list[Message],
            options: ChatOptions | None = None, *, with_tools: bool = True,
        ) -> ChatResult: ...
        def _run_calls(
            self, transcript: Transcript, messages: list[Message], calls: list[ToolCall]
        ) -> None: ...
        def _check_failed(self, transcript: Transcript, messages: list[Message]) -> bool: ...
        def _known_name(self, call: ToolCall) -> ToolCall: ...
        def _text_calls(self, text: str) -> list[ToolCall]: ...

    def _drafted(self, transcript: Transcript, messages: list[Message]) -> bool:
        """The whole-file first answer (draft.py): one call without tools, its files written
        with write_file as if the model had called it, then the task's check. True when that
        finished the task (a change made, its check passed or there is none). A failing
        check is answered whole once more (draft.REDRAFTS), shown the failure, before the
        tool loop goes on from the last failure; a reply changing nothing goes to the loop."""
        files = self.draft
        if files is None or "write_file" not in self.tools:
            return False
        note = self._first_run
        for round_ in range(1 + draft.REDRAFTS):
            calls, said = self._draft_reply(transcript, messages, files, note, first=round_ == 0)
            if not calls:
                return False
            changes = len(self.ctx.changes)
            self.ctx.seen_files.update(files.editable)  # shown whole: they count as read
            messages.append(Message("assistant", said, tool_calls=calls))
            self._run_calls(transcript, messages, calls)
            if len(self.ctx.changes) == changes:
                return False  # every write refused: the model reads why and goes on with tools
            for message in messages[-len(calls):]:  # the loop goes on from the files as they are
                path = next(str(c.arguments["path"]) for c in calls if c.id == message.tool_call_id)
                message.content += "\n" + draft.now_reads(self.ctx, path)
            if not self._check_failed(transcript, messages):
                break
            if not self._last_failure:
                return False
            note = self._last_failure
        else:
            return False
        if transcript.stop_reason == "unverified":
            return True
        transcript.final_text = said or "wrote " + ", ".join(
            str(c.arguments["path"]) for c in calls)
        messages.append(Message("assistant", transcript.final_text))
        return True

    def _draft_reply(
        self, transcript: Transcript, messages: list[Message], files: Draft, note: str,
        *, first: bool,
    ) -> tuple[list[ToolCall], str]:
        """One whole-file answer: its files as write_file calls, and what it says. The first
        draft is asked again once when it writes nothing (an echo, prose, the file as it
        was), and a reply of tool calls after all is run as the loop's first step; a
        redraft writing nothing leaves the failure to the loop."""
        asked = draft.draft_messages(self.ctx.root, files, note)
        result = self._chat(transcript, asked, self.options, with_tools=False)
        # a redraft keeps every definition the file now has: a snippet is not a fix
        found = draft.writes(self.ctx.root, files, result.text, whole=not first)
        if first and not found and not self._reply_calls(result):
            self.emit(RetryEvent("draft_reprompt"))
            why = draft.reprompt(self.ctx.root, files, result.text)
            asked = draft.draft_messages(self.ctx.root, files, note, why=why)
            result = self._chat(transcript, asked, self.options, with_tools=False)
            found = draft.writes(self.ctx.root, files, result.text)
        asked_tools = self._reply_calls(result) if first and not found else []
        if asked_tools:
            messages.append(Message("assistant", result.text, tool_calls=asked_tools))
            self._run_calls(transcript, messages, asked_tools)
        calls = [
            ToolCall("write_file", {"path": path, "content": content},
                     id=f"draft_{transcript.model_calls}_{index}")
            for index, (path, content) in enumerate(found)
        ]
        return calls, draft.prose(result.text)

    def _reply_calls(self, result: ChatResult) -> list[ToolCall]:
        """The tool calls a reply asks for, native or written out as text."""
        return [self._known_name(c) for c in result.tool_calls] or self._text_calls(result.text)

    def _whole_files(self, transcript: Transcript, text: str) -> list[ToolCall]:
        """After a draft, a reply of whole files instead of calls (real 1.5B answered a failing
        cargo test so) is written like the draft's, when each keeps every definition its
        file has: a snippet is not a whole file."""
        if self.draft is None:
            return []
        return [
            ToolCall("write_file", {"path": path, "content": content},
                     id=f"draft_{transcript.model_calls}_{index}")
            for index, (path, content) in enumerate(
                draft.writes(self.ctx.root, self.draft, text, whole=True))
        ]
