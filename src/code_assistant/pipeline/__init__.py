"""Pipeline mode (`ca run REQ.md`): architect, implement, review, fix, test x3, docs."""

from __future__ import annotations

from code_assistant.pipeline.run import read_requirement, resume_run, start_run
from code_assistant.pipeline.state import PHASES, RunState, RunStore

__all__ = ["PHASES", "RunState", "RunStore", "read_requirement", "resume_run", "start_run"]
