"""Layered configuration: CLI > CA_* env > project ca.config > machine config > defaults."""

from __future__ import annotations

import contextlib
import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_settings import EnvSettingsSource

from code_assistant.app import App
from code_assistant.config_model import (
    MACHINE_ONLY,
    SECRET_SUFFIXES,
    Config,
    McpConfig,
    McpServer,
    is_machine_only,
)
from code_assistant.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "LAYERS",
    "MACHINE_ONLY",
    "PROJECT_FILE",
    "SECRET_SUFFIXES",
    "STATE_DIR",
    "Config",
    "McpConfig",
    "McpServer",
    "ca_home",
    "default_feedback_dir",
    "default_sessions_dir",
    "effective_values",
    "ensure_ignored_dir",
    "ensure_project_file",
    "find_project_root",
    "is_machine_only",
    "load_config",
    "read_toml",
    "render_config_file",
    "write_config_file",
]

PROJECT_FILE = "ca.config"
STATE_DIR = ".ca"  # per-project state (index, runs): rebuildable, never committed
LAYERS = ("default", "global", "project", "env", "cli")


def ca_home(env: Mapping[str, str] | None = None) -> Path:
    """The machine-only directory: $CA_HOME or ~/.code-assistant."""
    env = os.environ if env is None else env
    return Path(env.get("CA_HOME") or Path.home() / ".code-assistant")


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory holding ca.config or .git, else the start directory."""
    start = (start or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / PROJECT_FILE).exists() or (candidate / ".git").exists():
            return candidate
    return start


def ensure_ignored_dir(path: Path) -> Path:
    """Create a state directory that git ignores by itself (a `.gitignore` of `*` inside),
    so `.ca/` never shows up in `git status` and the user's .gitignore stays untouched."""
    path.mkdir(parents=True, exist_ok=True)
    marker = path / ".gitignore"
    if not marker.exists():
        marker.write_text("*\n", encoding="utf-8")
    return path


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; errors name the file, line and column."""
    if path.exists() and not path.is_file():  # a FIFO would block the read forever
        raise ConfigError(f"{path}: not a regular file; a config file must be a plain file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    source = EnvSettingsSource(Config, env_prefix="CA_", case_sensitive=False)
    source.env_vars = {k.lower(): v for k, v in env.items()}
    try:
        values = source()
    except Exception as exc:  # pydantic-settings raises SettingsError for bad JSON lists
        raise ConfigError(f"environment: {exc}") from None
    return {k: v for k, v in values.items() if k in Config.model_fields}


def _check_keys(data: dict[str, Any], origin: str) -> None:
    unknown = sorted(set(data) - set(Config.model_fields))
    if unknown:
        # A near name (`numctx` -> `num_ctx`) is far more useful than the list of every key.
        close = difflib.get_close_matches(unknown[0], list(Config.model_fields), n=1)
        hint = f"did you mean `{close[0]}`?" if close else "see `ca config show` for valid keys"
        raise ConfigError(f"{origin}: unknown setting {unknown[0]!r} ({hint})")


def _untrusted(
    project: dict[str, Any], machine: Mapping[str, Any], home: Path, root: Path
) -> dict[str, Any]:
    """Remove (and return) the project values that need trust when it is not given."""
    from code_assistant import trust

    gated = trust.gated_values(project, machine)
    if not gated or trust.is_trusted(home, root, gated):
        return {}
    for key in gated:
        del project[key]
    return gated


def load_config(
    root: Path | None = None,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> App:
    """Merge the five layers, validate, and record which layer each value came from."""
    env = os.environ if env is None else env
    root = root or find_project_root()
    home = ca_home(env)
    warnings: list[str] = []
    global_path = home / "config.toml"
    project_path = root / PROJECT_FILE

    global_layer = read_toml(global_path)
    _check_keys(global_layer, str(global_path))
    project_layer = read_toml(project_path)
    _check_keys(project_layer, str(project_path))
    for key in [k for k in project_layer if is_machine_only(k)]:
        del project_layer[key]
        warnings.append(
            f"ignored {key!r} in {project_path}: it is machine-only; set it in "
            f"{global_path} or the CA_{key.upper()} environment variable"
        )
    env_layer = _env_layer(env)
    untrusted = _untrusted(project_layer, {**global_layer, **env_layer}, home, root)
    if untrusted:
        warnings.append(
            f"ignored {', '.join(untrusted)} in {project_path}: this project is not trusted; "
            "review them with `ca config show`, then run `ca trust` to honour them"
        )
    layers: list[tuple[str, dict[str, Any]]] = [
        (f"global ({global_path})", global_layer),
        (f"project ({project_path})", project_layer),
        ("env", env_layer),
        ("cli", {k: v for k, v in (cli or {}).items() if v is not None}),
    ]
    merged: dict[str, Any] = {}
    sources = {key: "default" for key in Config.model_fields}
    for label, layer in layers:
        for key, value in layer.items():
            merged[key] = value
            sources[key] = label
    try:
        config = Config(**merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "?"
        where = sources.get(key, "?")
        raise ConfigError(
            f"invalid setting {key} = {error.get('input')!r} (from {where}): {error['msg']}"
        ) from None
    return App(config, sources, root, home, warnings, untrusted)


def default_sessions_dir(loaded: App) -> Path:
    value = loaded.config.sessions_dir
    return Path(value).expanduser() if value else loaded.home / "sessions"


def default_feedback_dir(loaded: App) -> Path:
    value = loaded.config.feedback_dir
    return Path(value).expanduser() if value else loaded.home / "feedback"


def render_config_file(scope: Literal["project", "global"]) -> str:
    """A commented TOML file listing every setting at its default (secrets only globally)."""
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"code-assistant {scope} configuration."))
    doc.add(tomlkit.comment("Precedence: CLI flags > CA_* env > ca.config > global > defaults."))
    if scope == "project":
        doc.add(tomlkit.comment("Machine-only keys (API keys, storage dirs) are refused here."))
    doc.add(tomlkit.nl())
    defaults = Config()
    for key, info in Config.model_fields.items():
        if key == "mcp" or (scope == "project" and is_machine_only(key)):
            continue
        value = getattr(defaults, key)
        doc.add(tomlkit.comment(info.description or key))
        line = tomlkit.item(value)
        # Project values are all commented out: an active line would beat the machine config.
        if key.endswith(SECRET_SUFFIXES) or scope == "project":
            doc.add(tomlkit.comment(f"{key} = {line.as_string()}"))
        else:
            doc.add(key, line)
    if scope == "global":
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment("[mcp.servers.NAME]  command = ..., args = [...], env = {...}"))
    return tomlkit.dumps(doc)


def write_config_file(path: Path, scope: Literal["project", "global"]) -> bool:
    """Write a commented config file unless one exists (never overwritten). True if written."""
    if path.exists():
        return False
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    # A temp name per process and a hard link that fails when the file exists: two first
    # runs racing each other neither collide on the temp file nor overwrite each other.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render_config_file(scope))
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if path.exists():
                return False
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    os.chmod(path, 0o644)  # mkstemp's 0600 would hide a project file from the team
    return True


def ensure_project_file(loaded: App) -> Path | None:
    """On the first run in a project (a git repository), write its commented ca.config.

    Returns the path when it was written. Outside a repository nothing is written: `ca` run
    in a home or scratch directory must not leave files behind (`ca config init` still can).
    """
    if not (loaded.root / ".git").exists():
        return None
    path = loaded.root / PROJECT_FILE
    return path if write_config_file(path, "project") else None


def effective_values(loaded: App) -> list[tuple[str, Any, str]]:
    """(key, value, layer) for every setting; secrets are shown redacted."""
    from code_assistant.redact import redact_data

    rows = []
    for key in Config.model_fields:
        value = getattr(loaded.config, key)
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if key.endswith(SECRET_SUFFIXES) and value:
            value = "***"
        value = redact_data(value)  # a password inside a URL, a token in a header
        source = loaded.sources[key]
        if key in loaded.untrusted:
            source += " (UNTRUSTED ca.config value ignored)"
        rows.append((key, value, source))
    return rows
