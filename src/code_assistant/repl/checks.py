"""Cheap checks the REPL makes before it spends a model call: is the backend up, and is a
message so trivial ("thanks", "hi") that asking the classifier model would be waste."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from code_assistant.errors import BackendError

if TYPE_CHECKING:
    from code_assistant.backends.base import Backend


# Whole messages only: "thanks, now add a flag" is a request and still goes to the classifier.
_TRIVIAL = re.compile(
    r"^(?:hi|hello|hey|yo|thanks|thank you|thx|ty|ok|okay|cool|great|nice|perfect|got it|"
    r"good|awesome|sure|yes|no|nope|yep|bye|good ?bye|good (?:morning|evening|night))"
    r"(?: (?:there|so much|a lot|very much|again|!+))*[\s!.?]*$",
    re.IGNORECASE,
)


def is_trivial(text: str) -> bool:
    """A greeting or acknowledgement: answered directly, without a classifier call."""
    return bool(_TRIVIAL.match(" ".join(text.split())))


def backend_warning(backend: Backend) -> str:
    """"" when the backend answers; else why not, for a warning at the REPL's start."""
    try:
        backend.list_models()
    except BackendError as exc:
        return str(exc)
    except Exception:  # a backend that cannot list: say nothing rather than guess
        return ""
    return ""
