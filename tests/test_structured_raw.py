"""Structured replies from a grammar-constrained llama.cpp may hold raw control characters."""

from __future__ import annotations

import pytest

from code_assistant.agent.structured import parse_json_reply


def test_a_raw_newline_inside_a_string_parses() -> None:
    reply = '{"intent": "implementation", "answer": "```python\n# a.py\nx = 1\n"} '
    assert parse_json_reply(reply) == {"intent": "implementation",
                                       "answer": "```python\n# a.py\nx = 1\n"}


def test_no_json_at_all_is_still_an_error() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        parse_json_reply("I would create shout.py")
