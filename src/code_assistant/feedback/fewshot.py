"""Pick the stored pairs most like the current task and render them as short prompt examples."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from code_assistant.app import App
from code_assistant.backends.base import estimate_tokens
from code_assistant.feedback.pairs import Call, Pair, Step, project_id
from code_assistant.index.terms import query_terms

if TYPE_CHECKING:
    from code_assistant.agent.personas import Persona


MAX_EXAMPLES = 3
VALUE_CHARS = 60
# Arguments that carry code: a lesson shows the shape of a call, never another task's code
# (a small model copies it verbatim into the task at hand).
CODE_ARGUMENTS = frozenset({
    "content", "new", "old", "code", "patch", "diff", "source", "text", "file_text",
    "new_str", "old_str", "new_string", "old_string",
})  # fmt: skip
_FENCED = re.compile(r"(`{3,}|~{3,}).*?(?:\1|\Z)", re.S)
LINE_CHARS = 240
HEADER = (
    "# Lessons from earlier sessions\n"
    "Mistakes made before on similar work, and what worked instead. "
    "Do it the right way the first time."
)
LABELS = {
    "tool_errors": "a tool call that failed",
    "failed_commands": "a failing command, fixed",
    "explain_reprompts": "code shown instead of a tool call",
    "constrained_retries": "no tool call until forced",
    "text_tool_calls": "a tool call written as text",
    "user_good": "the user approved this",
    "user_bad": "the user rejected this",
}


def examples_block(loaded: App, persona: Persona | str, task: str = "") -> str:
    """The lessons section for `persona`'s system prompt, within config.feedback_tokens."""
    from code_assistant.feedback.store import open_store

    config = loaded.config
    if not config.feedback_enabled or not config.feedback_lessons or config.feedback_tokens <= 0:
        return ""
    try:
        pairs = open_store(loaded).read()
    except OSError:  # an unreadable store must not stop the session
        return ""
    if isinstance(persona, str):
        name, model = persona, ""
    else:
        name, model = persona.name, persona.model(config)
    ranked = rank(teachable(pairs, project_id(loaded.root)), name, task, model=model)
    return render_block(ranked, config.feedback_tokens)


def teachable(pairs: Sequence[Pair], project: str) -> list[Pair]:
    """The pairs that may become lessons in `project`: verified outcomes (a check passed, the
    user judged), learned in this very project, and with no call parsed from a model's text
    (such a recovery may be wrong, and it is a symptom, not a lesson)."""
    return [p for p in pairs if p.verified and not p.recovered and p.project_id == project]


def _useful(pair: Pair) -> bool:
    """A pair teaches something only if it shows what to do, or says why it was wrong."""
    return not pair.good.is_empty() or bool(pair.note.strip())


def _terms(pair: Pair) -> set[str]:
    calls = " ".join(c.name for c in [*pair.bad.calls, *pair.good.calls])
    return set(query_terms(f"{pair.task} {pair.note} {calls}"))


def rank(pairs: Sequence[Pair], persona: str, task: str, *, model: str = "") -> list[Pair]:
    """The persona's useful pairs, most similar to `task` first (IDF-weighted term overlap),
    then the same model, then the newest; of pairs teaching the same lesson, only the first."""
    candidates = [p for p in pairs if p.persona == persona and _useful(p)]
    terms = {id(pair): _terms(pair) for pair in candidates}
    frequency = Counter(term for found in terms.values() for term in found)
    wanted = set(query_terms(task))
    total = len(candidates)

    def score(pair: Pair) -> tuple[float, int, float]:
        overlap = wanted & terms[id(pair)]
        lexical = sum(math.log(1 + total / frequency[term]) for term in overlap)
        return (lexical, int(bool(model) and pair.model == model), pair.created)

    ranked: list[Pair] = []
    seen: set[str] = set()
    for pair in sorted(candidates, key=score, reverse=True):
        lesson = pair.fingerprint()
        if lesson not in seen:
            seen.add(lesson)
            ranked.append(pair)
    return ranked


def render_block(pairs: Sequence[Pair], budget: int, limit: int = MAX_EXAMPLES) -> str:
    """The header and as many rendered pairs as fit `budget` tokens (at most `limit`)."""
    used = estimate_tokens(HEADER)
    parts: list[str] = []
    for pair in pairs:
        if len(parts) >= limit:
            break
        text = render_pair(pair, len(parts) + 1)
        cost = estimate_tokens(text) + 1
        if used + cost <= budget:
            parts.append(text)
            used += cost
    return "\n\n".join([HEADER, *parts]) if parts else ""


def render_pair(pair: Pair, number: int) -> str:
    task = " ".join(pair.task.split())
    lines = [f"## Example {number}: {LABELS.get(pair.category, pair.category)}"]
    if task:
        lines.append(f"Task: {_cut(task, 120)}")
    if not pair.bad.is_empty():
        lines.append(f"Wrong: {_step(pair.bad)}")
        said = _first_result(pair.bad)
        if said:
            lines.append(f"Result: {said}")
    if pair.note.strip():
        lines.append(f"Note: {_cut(' '.join(pair.note.split()), LINE_CHARS)}")
    if not pair.good.is_empty():
        lines.append(f"Right: {_step(pair.good)}")
    return "\n".join(lines)


def _step(step: Step) -> str:
    if step.calls:
        shown = [render_call(c) for c in step.calls[-3:]]
        more = f"({len(step.calls) - 3} earlier calls) " if len(step.calls) > 3 else ""
        return more + " then ".join(shown)
    return _cut(" ".join(_FENCED.sub("(code not shown)", step.text).split()), LINE_CHARS)


def render_call(call: Call) -> str:
    """`name(key="value", ...)` with long values cut and code left out, as a model reads it."""
    arguments = ", ".join(
        f"{key}={_argument(key, value)}" for key, value in call.arguments.items()
    )
    return _cut(f"{call.name}({arguments})", LINE_CHARS)


def _argument(key: str, value: object) -> str:
    if key in CODE_ARGUMENTS and isinstance(value, str):
        lines = len(value.splitlines()) or 1
        return f"({lines} line{'s' if lines > 1 else ''} of that task's text, not shown)"
    return _cut(json.dumps(value, ensure_ascii=False), VALUE_CHARS)


def _first_result(step: Step) -> str:
    """The line of the result that says what went wrong (errors first, else the last line)."""
    for result in step.results:
        lines = [line.strip() for line in result.splitlines() if line.strip()]
        flagged = [line for line in lines if "error" in line.lower() or "fail" in line.lower()]
        chosen = flagged[0] if flagged else (lines[-1] if lines else "")
        if chosen:
            return _cut(chosen, LINE_CHARS)
    return ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
