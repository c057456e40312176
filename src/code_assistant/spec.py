"""Spec mode: the architect interviews the user, then writes specs/<name>.md for `ca run`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from code_assistant.agent.personas import load_prompt
from code_assistant.backends.base import Backend, ChatOptions, Message
from code_assistant.errors import UsageError

SPECS_DIR = "specs"
MAX_NAME = 48
FINALIZE = (
    "Write the final requirement document now, from everything we discussed. Markdown only, "
    "no questions and no preamble; start with a `# ` title line and follow the structure you "
    "were given. Where something was left open, choose a sensible default and list it under "
    "Assumptions."
)
_TITLE = re.compile(r"^#\s+(.+)$", re.M)
_FENCED = re.compile(r"^```(?:markdown|md)?\s*\n(.*)\n```\s*$", re.S)


def spec_name(text: str) -> str:
    """A file-name-safe slug: lowercase ASCII words joined by '-', at most MAX_NAME long."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_NAME:
            break
        slug = candidate
    return slug or (words[0][:MAX_NAME] if words else "spec")


def unique_path(directory: Path, name: str) -> Path:
    """directory/name.md, or name-2.md, name-3.md ... when it exists (never overwrites)."""
    path = directory / f"{name}.md"
    number = 2
    while path.exists():
        path = directory / f"{name}-{number}.md"
        number += 1
    return path


def clean_document(text: str) -> str:
    """The model's document without a wrapping ```markdown fence; ends with one newline."""
    text = text.strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced.group(1).strip()
    return text + "\n"


@dataclass
class SpecInterview:
    """The interview so far; `reply` asks the next questions, `finalize` writes the document."""

    backend: Backend
    model: str
    options: ChatOptions
    root: Path
    messages: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.messages:
            self.messages = [Message("system", load_prompt("spec"))]

    @property
    def answered(self) -> int:
        return sum(1 for m in self.messages if m.role == "user")

    def reply(self, text: str, on_token: Callable[[str], None] | None = None) -> str:
        """The architect's next questions (or a summary) after the user's answer `text`."""
        history = [*self.messages, Message("user", text)]
        result = self.backend.chat(self.model, history, options=self.options, on_token=on_token)
        self.messages = [*history, Message("assistant", result.text)]
        return result.text

    def finalize(
        self, name: str | None = None, on_token: Callable[[str], None] | None = None
    ) -> Path:
        """Ask for the document, write it to specs/<name>.md (name from its title if not given)."""
        if self.answered == 0:
            raise UsageError("nothing to write yet: describe what you want to build first")
        history = [*self.messages, Message("user", FINALIZE)]
        result = self.backend.chat(self.model, history, options=self.options, on_token=on_token)
        document = clean_document(result.text)
        if not document.strip():
            raise UsageError("the model wrote an empty document; answer a question and retry")
        title = _TITLE.search(document)
        slug = spec_name(name or (title.group(1) if title else "") or self._first_answer())
        path = unique_path(self.root / SPECS_DIR, slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document, encoding="utf-8")
        self.messages = [*history, Message("assistant", result.text)]
        return path

    def _first_answer(self) -> str:
        return next((m.content for m in self.messages if m.role == "user"), "spec")
