"""When to constrain model calls to the tool-call envelope (backends/envelope.py has the rest).

The envelope's names are re-exported here for the agent loop and older imports.
"""

from __future__ import annotations

from code_assistant.backends.envelope import (
    CALL_ID,
    Envelope,
    envelope_json,
    envelope_prompt,
    envelope_schema,
    parse_envelope,
    with_envelope_prompt,
)

__all__ = [
    "CALL_ID",
    "CONSTRAINED_BY_DEFAULT",
    "CONSTRAIN_MODES",
    "Envelope",
    "constrain_every_call",
    "envelope_json",
    "envelope_prompt",
    "envelope_schema",
    "parse_envelope",
    "with_envelope_prompt",
]

CONSTRAIN_MODES = ("auto", "always", "never")
# Backends whose every call is constrained under "auto". None now: the embedded backend renders
# tools with the model's own chat template, and a real Qwen2.5-Coder-0.5B wrote better calls
# that way than inside the envelope (asked for hello.py, it wrote `print('hello world')`
# natively but the bare text "hello world" in the envelope). The envelope stays the recovery.
CONSTRAINED_BY_DEFAULT: frozenset[str] = frozenset()


def constrain_every_call(mode: str, backend_name: str) -> bool:
    """Whether every model call is constrained to the envelope (else only as a recovery)."""
    if mode not in CONSTRAIN_MODES:
        raise ValueError(f"constrained_tool_calls must be one of {CONSTRAIN_MODES}, not {mode!r}")
    return mode == "always" or (mode == "auto" and backend_name in CONSTRAINED_BY_DEFAULT)
