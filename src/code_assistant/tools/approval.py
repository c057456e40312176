"""Approval policy for actions on the user's machine: ask, auto or deny, plus command patterns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from code_assistant.tools import cmdpolicy

# ask(tool, summary, detail) -> "y" | "n" | "a" (always for this tool) | "n: what to do instead"
AskFn = Callable[[str, str, str], str]

READ_ONLY = frozenset({"read_file", "list_dir", "glob_files", "find_symbols", "search_code"})


@dataclass
class Approver:
    policy: str = "ask"  # ask | auto | deny
    allow_commands: Sequence[str] = ()
    deny_commands: Sequence[str] = ()
    ask: AskFn | None = None
    always: set[str] = field(default_factory=set)
    reason: str = ""  # why the last refusal happened when the user was not asked
    instruction: str = ""  # what the user said to do instead, with the last refusal
    # The tools whose actions were refused in this run: a task whose writes were all
    # refused did not happen, whatever the model says.
    refused: list[str] = field(default_factory=list)

    def approve(self, tool: str, summary: str, detail: str = "") -> bool:
        """Decide one action. `summary` is the command for run_shell, the path for writes."""
        allowed = self._decide(tool, summary, detail)
        if not allowed:
            self.refused.append(tool)
        return allowed

    def _decide(self, tool: str, summary: str, detail: str) -> bool:
        self.reason = self.instruction = ""
        if tool == "run_shell":
            verdict = cmdpolicy.decide(summary, self.allow_commands, self.deny_commands)
            if verdict == "deny":
                self.reason = "deny_commands"
                return False
            if verdict == "allow":
                return True
        if self.policy == "auto" or tool in self.always:
            return True
        if self.policy == "deny" or self.ask is None:
            return False
        answer, _, instruction = self.ask(tool, summary, detail).partition(":")
        answer = answer.strip().lower()
        if answer in ("a", "always"):
            self.always.add(tool)
            return True
        if answer in ("y", "yes"):
            return True
        self.instruction = instruction.strip()
        return False
