"""redact(): the one function that keeps keys and tokens out of transcripts, logs and errors."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_assistant.redact import RedactFilter, redact, redact_data

# Built from parts so that no scanner mistakes these test values for real leaked keys.
OPENAI = "sk-" + "proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4"
ANTHROPIC = "sk-" + "ant-" + "api03-" + "x" * 30
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITLAB = "glpat-" + "aB3dE6gH9jK2mN5pQ8sT"
SLACK = "xoxb-" + "1234567890-abcdefghij"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
HF = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
JWT = ".".join(
    ["eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "dozjgNryP4J3jVmNHl0w5N_XgL0n"]
)


@pytest.mark.parametrize("token", [OPENAI, ANTHROPIC, GITHUB, GITLAB, SLACK, AWS, GOOGLE, HF,
                                   STRIPE, JWT])
def test_provider_tokens_are_masked_wherever_they_appear(token: str) -> None:
    for text in (token, f"error: bad key {token}.", f"key='{token}'", f"(\n{token}\n)"):
        out = redact(text)
        assert token not in out
        assert "***" in out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Authorization: Bearer abcdefghijklmnopqrstuvwx", "Authorization: Bearer ***"),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "authorization: Basic ***"),
        ('{"Authorization": "token 0123456789"}', '{"Authorization": "token ***"}'),
        ("curl -H 'X-API-KEY: 0123456789abcdef'", "curl -H 'X-API-KEY: ***'"),
        ('{"api_key": "abcdef123456", "model": "m"}', '{"api_key": "***", "model": "m"}'),
        ("OPENAI_API_KEY=abcdef123456 ca -q hi", "OPENAI_API_KEY=*** ca -q hi"),
        ("password: hunter2222", "password: ***"),
        ("client_secret = 'a1b2c3d4e5'", "client_secret = '***'"),
        ("GET https://api.x/v1?key=abcd1234&q=1 failed", "GET https://api.x/v1?key=***&q=1 failed"),
        ("https://api.x/v1?q=1&access_token=abcd1234#top", "https://api.x/v1?q=1&access_token=***#top"),
        ("clone https://bob:s3cr3t@git.example.com/r.git", "clone https://bob:***@git.example.com/r.git"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\nNzaC1\n-----END OPENSSH PRIVATE KEY-----\n"
         "after", "***\nafter"),
    ],
)
def test_labelled_values_lose_the_value_and_keep_the_label(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens: 4000",
        "num_ctx = 8192",
        'password = input("Password: ")',
        "token = tokens[0]",
        "api_key = os.environ['KEY']",
        "a basic understanding of bearer bonds",
        "the secret is to keep functions small",
        "https://example.com/search?q=python+json&page=2",
        "https://docs.python.org/3/library/json.html",
        "def get_token(self) -> str:",
        "sk-short",
    ],
)
def test_ordinary_text_and_code_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_configured_secret_values_are_masked_even_without_a_known_shape() -> None:
    secret = "plainvalue-9f8e7d"
    text = f"serper said: invalid key {secret} (and again: {secret})"
    assert redact(text, (secret,)) == "serper said: invalid key *** (and again: ***)"
    assert redact(text) == text  # without being told, it has no way to know
    assert redact("abc xyz", ("", "abc")) == "abc xyz"  # empty and very short values are skipped


def test_longer_secret_wins_over_its_prefix() -> None:
    assert redact("key=alpha-beta-gamma", ("alpha", "alpha-beta-gamma")) == "key=***"


def test_redact_data_walks_json_like_values() -> None:
    data = {"role": "tool", "content": f"used {OPENAI}",
            "calls": [{"args": {"header": "x", "n": 3, "keys": (GITHUB, "ok")}}]}
    out = redact_data(data)
    assert out == {"role": "tool", "content": "used ***",
                   "calls": [{"args": {"header": "x", "n": 3, "keys": ("***", "ok")}}]}
    assert redact_data(["my-own-secret"], ["my-own-secret"]) == ["***"]


def test_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactFilter(secrets=("machine-secret-1",)))
    logger = logging.getLogger("test_redact.filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s and %r", OPENAI, {"k": "machine-secret-1"})
        try:
            raise ValueError(f"bad token {GITHUB}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "calling with *** and {'k': '***'}" in text
    assert "ValueError: bad token ***" in text
    for secret in (OPENAI, GITHUB, "machine-secret-1"):
        assert secret not in text


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
_SEP = st.sampled_from([" ", "\n", "=", ":", "'", '"', "(", ",", "/"])


@given(_TEXT, _SEP, st.sampled_from([OPENAI, ANTHROPIC, GITHUB, SLACK, AWS, GOOGLE, HF, JWT]),
       _SEP, _TEXT)
def test_a_known_token_never_survives_any_surroundings(
    before: str, sep1: str, token: str, sep2: str, after: str
) -> None:
    assert token not in redact(before + sep1 + token + sep2 + after)


@given(_TEXT, st.text(min_size=4, max_size=30), _TEXT)
def test_a_given_secret_never_survives(before: str, secret: str, after: str) -> None:
    assert secret not in redact(before + secret + after, (secret,))


@given(_TEXT)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
