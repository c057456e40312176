"""Project trust: settings a cloned ca.config may change only after the user trusts it.

A repository's `ca.config` is written by whoever wrote the repository. Settings that relax
safety (approval, command lists, the test command the pipeline runs unasked) or that say
where prompts and the machine's keys go (backend URLs, a keyed backend) are honoured from it
only once the user has trusted that project. Trust is stored in the machine directory per
project path and per digest of those values, so a later change to any of them asks again,
while edits to other settings (models, budgets) do not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from code_assistant.errors import ConfigError
from code_assistant.fileio import atomic_write

TRUST_FILE = "trusted_projects.json"

# Keys that relax safety: with them a project could run commands without asking.
SAFETY_KEYS = ("approval", "allow_commands", "deny_commands", "test_command")
# Keys that say where the user's prompts (and the machine's keys) are sent.
ROUTING_KEYS = ("ollama_host", "openai_base_url", "anthropic_base_url")
# A project choosing one of these backends sends it the machine's key for it.
KEYED_BACKENDS = {"openai": "openai_api_key", "anthropic": "anthropic_api_key"}
GATED_KEYS = (*SAFETY_KEYS, *ROUTING_KEYS, "backend")


def gated_values(project: Mapping[str, Any], machine: Mapping[str, Any]) -> dict[str, Any]:
    """The project-file values that need trust. `machine`: the global and env layers merged.

    `backend` needs trust only when it would send a key the machine holds: a project may
    still pick ollama or the embedded backend on its own.
    """
    values = {k: project[k] for k in (*SAFETY_KEYS, *ROUTING_KEYS) if k in project}
    backend = project.get("backend")
    if isinstance(backend, str) and machine.get(KEYED_BACKENDS.get(backend, "")):
        values["backend"] = backend
    return values


def digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _store(home: Path) -> Path:
    return home / TRUST_FILE


def _key(root: Path) -> str:
    return str(root.resolve())


def _read(home: Path) -> dict[str, Any]:
    try:
        data = json.loads(_store(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged: nothing is trusted, which is the safe reading
    return data if isinstance(data, dict) else {}


def is_trusted(home: Path, root: Path, values: Mapping[str, Any]) -> bool:
    entry = _read(home).get(_key(root))
    return isinstance(entry, dict) and entry.get("digest") == digest(values)


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Serialise read-modify-write of the trust file across processes."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / (TRUST_FILE + ".lock"), "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: last writer wins
            pass
        yield


def _write(home: Path, data: dict[str, Any]) -> None:
    # Private like the rest of the machine's home: which directories this user trusts.
    atomic_write(_store(home), json.dumps(data, indent=2, sort_keys=True), mode=0o600)


def record_trust(home: Path, root: Path, values: Mapping[str, Any]) -> None:
    """Trust these values of this project (until any of them changes)."""
    try:
        with _locked(home):
            data = _read(home)
            data[_key(root)] = {
                "digest": digest(values),
                "values": dict(values),
                "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            _write(home, data)
    except OSError as exc:
        raise ConfigError(
            f"cannot record trust in {_store(home)} ({exc.strerror or exc}); "
            "check that the machine config directory (CA_HOME) is writable"
        ) from None


def revoke_trust(home: Path, root: Path) -> bool:
    """Forget this project's trust; True if it was trusted."""
    with _locked(home):
        data = _read(home)
        found = data.pop(_key(root), None) is not None
        if found:
            _write(home, data)
    return found


def describe(values: Mapping[str, Any]) -> list[str]:
    """One `key = value` line per gated value, as TOML would show it (secrets masked)."""
    from code_assistant.redact import redact

    return [f"  {key} = {redact(json.dumps(value))}" for key, value in values.items()]


def interactive(stdin: TextIO | None = None, stderr: TextIO | None = None) -> bool:
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    return bool(stdin and stdin.isatty() and stderr and stderr.isatty())


def ask_trust(project_file: Path, values: Mapping[str, Any]) -> bool:
    """The one-time prompt: show what the project file would change, ask y/N on the terminal."""
    lines = [
        f"ca: {project_file} changes settings that need your trust:",
        *describe(values),
        "  (they can run commands without asking or send your prompts and keys elsewhere)",
    ]
    print("\n".join(lines), file=sys.stderr)
    try:
        answer = input("Trust this project's settings? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
