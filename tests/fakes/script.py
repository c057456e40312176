"""What the fake model server answers: the Script of replies, token estimates and embeddings."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MODELS = (
    "qwen2.5-coder:7b",
    "qwen2.5-coder:14b",
    "qwen2.5-coder:1.5b",
    "llama3.2:3b",
    "nomic-embed-text",
)
REPLY_KEYS = frozenset(
    {
        "text", "tool_calls", "error", "delay", "chunk_delay", "model",
        "disconnect", "usage", "finish_reason", "cut_stream", "raw_body",
    }
)
OLLAMA_DEFAULT_NUM_CTX = 2048

Reply = dict[str, Any]
ReplyFunction = Callable[[dict[str, Any]], Reply | str]
ReplySource = Reply | str | ReplyFunction


def normalise_reply(reply: Reply | str) -> Reply:
    """A reply as a dict with known keys only; a bare string is shorthand for {"text": s}."""
    if isinstance(reply, str):
        return {"text": reply}
    if not isinstance(reply, dict):
        raise ValueError(f"a reply must be a dict or a string, not {type(reply).__name__}")
    unknown = sorted(set(reply) - REPLY_KEYS)
    if unknown:
        known = ", ".join(sorted(REPLY_KEYS))
        raise ValueError(f"unknown reply key {unknown[0]!r} (known: {known})")
    for call in reply.get("tool_calls") or []:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ValueError(f"a tool call needs a 'name': {call!r}")
        if not isinstance(call.get("arguments", {}), dict):
            raise ValueError(f"tool call arguments must be an object: {call!r}")
    error = reply.get("error")
    if error is not None and not isinstance(error, dict):
        raise ValueError(f"'error' must be an object with status and message: {error!r}")
    return dict(reply)


def _check_source(reply: ReplySource) -> ReplySource:
    return reply if callable(reply) else normalise_reply(reply)


@dataclass
class Script:
    """The models that exist and the replies the server gives, first in first out."""

    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    replies: list[ReplySource] = field(default_factory=list)
    default: ReplySource | None = None
    embedding_dim: int = 64
    # (text, dim) -> vector for every embeddings endpoint; None: the hashed bag of words.
    # A real embedder here lets a test tell meaning from shared words.
    embedder: Callable[[str, int], list[float]] | None = None

    def __post_init__(self) -> None:
        self.models = list(self.models)
        self.replies = [_check_source(r) for r in self.replies]
        if self.default is not None:
            self.default = _check_source(self.default)
        if self.embedding_dim < 1:
            raise ValueError("embedding_dim must be positive")

    def embed(self, text: str, dim: int) -> list[float]:
        return (self.embedder or embed_text)(text, dim)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Script:
        unknown = sorted(set(data) - {"models", "replies", "default", "embedding_dim"})
        if unknown:
            raise ValueError(f"unknown script key {unknown[0]!r}")
        return cls(
            models=list(data.get("models") or DEFAULT_MODELS),
            replies=list(data.get("replies") or []),
            default=data.get("default"),
            embedding_dim=int(data.get("embedding_dim") or 64),
        )

    @classmethod
    def load(cls, path: str | Path) -> Script:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def canonical_model(name: str) -> str:
    """Ollama's name for a model: a bare name means the ':latest' tag."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last or not name else f"{name}:latest"


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def prompt_tokens(messages: Sequence[Any] | None) -> int:
    """About four characters a token over every message's content and tool calls."""
    chars = 0
    for message in messages or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):  # OpenAI content parts
            chars += sum(len(str(p.get("text", ""))) for p in content if isinstance(p, dict))
        if message.get("tool_calls"):
            chars += len(json.dumps(message["tool_calls"]))
    return math.ceil(chars / 4)


def completion_tokens(reply: Reply) -> int:
    calls = reply.get("tool_calls") or []
    chars = len(reply.get("text") or "") + (len(json.dumps(calls)) if calls else 0)
    return max(1, math.ceil(chars / 4))


def split_text(text: str) -> list[str]:
    """Word-sized stream pieces that join back to exactly the text."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def split_fragments(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


_WORD = re.compile(r"[A-Za-z0-9_]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def embedding_words(text: str) -> list[str]:
    """Lowercased words, plus the parts of snake_case and camelCase identifiers."""
    words: list[str] = []
    for token in _WORD.findall(text):
        words.append(token.lower())
        parts = [p for piece in token.split("_") for p in _CAMEL.findall(piece)]
        if len(parts) > 1:
            words.extend(p.lower() for p in parts)
    return words


def embed_text(text: str, dim: int) -> list[float]:
    """A hashed bag of words, L2-normalised: texts sharing words are near in cosine."""
    vector = [0.0] * dim
    for word in embedding_words(text) or [""]:
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        # Counts only add up, so no text cancels out to a zero vector (cosine would be NaN).
        vector[int.from_bytes(digest, "little") % dim] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def is_zero_keep_alive(value: Any) -> bool:
    """keep_alive 0, 0.0, "0", "0s", "0m": unload as soon as the request is answered."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return value == 0
    return bool(re.fullmatch(r"\s*0+(\.0*)?\s*(ns|us|ms|s|m|h)?\s*", str(value)))
