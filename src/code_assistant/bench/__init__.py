"""`ca bench`: requirement suites through several runners, scored apart; HumanEval pass@k."""

from __future__ import annotations
