"""Layered configuration: CLI > CA_* env > project ca.config > machine config > defaults."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_serializer
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from code_assistant.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT_FILE = "ca.config"
STATE_DIR = ".ca"  # per-project state (index, runs): rebuildable, never committed
LAYERS = ("default", "global", "project", "env", "cli")


class McpServer(BaseModel):
    """One MCP server: `command` + `args` (stdio) or `url` (streamable HTTP).

    Codex's key names (http_headers, enabled_tools, disabled_tools, startup_timeout_sec,
    tool_timeout_sec) and Claude Code's `type` are accepted too, so a block can be copied.
    Unknown keys are kept and reported by `ca mcp list` rather than refused.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str = ""  # stdio | http (streamable HTTP); empty: from command / url
    command: str = ""
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str = ""  # stdio working directory; empty: the project root
    url: str = ""
    headers: dict[str, str] = Field(
        default_factory=dict, validation_alias=AliasChoices("headers", "http_headers")
    )
    bearer_token_env_var: str = ""  # sends `Authorization: Bearer $VAR` (HTTP)
    enabled: bool = True
    tools: list[str] = Field(  # offer only these tools (glob patterns); empty: all
        default_factory=list, validation_alias=AliasChoices("tools", "enabled_tools")
    )
    allow: list[str] = Field(default_factory=list)  # tools that need no approval (globs)
    deny: list[str] = Field(  # tools never offered (globs)
        default_factory=list, validation_alias=AliasChoices("deny", "disabled_tools")
    )
    timeout: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("timeout", "startup_timeout_sec")
    )
    tool_timeout: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("tool_timeout", "tool_timeout_sec")
    )

    @field_serializer("env", "headers")
    def _mask(self, values: dict[str, str]) -> dict[str, str]:
        # Dumps feed `ca config show`: env values and headers often hold tokens.
        return dict.fromkeys(values, "***")


class McpConfig(BaseModel):
    servers: dict[str, McpServer] = Field(default_factory=dict)


class Config(BaseSettings):
    """Every setting, with its built-in default sized for a 32 GB CPU-only machine."""

    model_config = SettingsConfigDict(env_prefix="CA_", extra="forbid", validate_default=True)

    # Backend
    backend: Literal["ollama", "openai", "llamacpp", "anthropic"] = Field(
        "ollama", description="Model backend: ollama, openai (any /v1 server), llamacpp, anthropic"
    )
    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama server address")
    openai_base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="OpenAI-compatible server (llama.cpp, vLLM, ...)"
    )
    openai_api_key: str = Field("", description="Key for the OpenAI-compatible server")
    anthropic_api_key: str = Field("", description="Anthropic API key (benchmark only)")
    anthropic_base_url: str = Field("", description="Anthropic API base URL override")
    anthropic_model: str = Field("claude-sonnet-4-6", description="Cloud model for `ca bench`")
    llamacpp_model_path: str = Field("", description="GGUF file for the embedded backend")
    request_timeout: float = Field(600.0, gt=0, description="Seconds to wait for one model call")
    max_retries: int = Field(2, ge=0, le=10, description="Retries of transient backend errors")

    # Models per persona
    architect_model: str = Field("qwen2.5-coder:7b", description="Plans, classifies, answers -q")
    implementer_model: str = Field("qwen2.5-coder:14b", description="Writes the code (tools)")
    reviewer_model: str = Field("qwen2.5-coder:14b", description="Reviews changed files")
    tester_model: str = Field("qwen2.5-coder:14b", description="Writes and runs tests")
    docs_model: str = Field("qwen2.5-coder:7b", description="Writes README usage")
    embedding_model: str = Field("nomic-embed-text", description="Embeddings for retrieval")

    # Generation
    num_ctx: int = Field(8192, gt=0, description="Context window sent on every call (fixed)")
    temperature: float = Field(0.2, ge=0, le=2, description="Sampling temperature")
    keep_alive: str = Field("10m", description="How long Ollama keeps a model loaded")
    constrained_tool_calls: Literal["auto", "always", "never"] = Field(
        "auto", description="Constrain tool calls with a JSON grammar/schema"
    )

    # Agent and tools
    approval: Literal["ask", "auto", "deny"] = Field(
        "ask", description="Approval of writes and commands: ask, auto, deny"
    )
    allow_commands: list[str] = Field(
        default_factory=list, description="Shell patterns that never need approval"
    )
    deny_commands: list[str] = Field(
        default_factory=lambda: ["sudo *", "rm -rf /*", "rm -rf ~*", "git push*"],
        description="Shell patterns that are always refused",
    )
    max_steps: int = Field(30, gt=0, description="Model calls per task before the agent stops")
    shell_timeout: int = Field(120, gt=0, description="Default run_shell timeout in seconds")
    tool_output_lines: int = Field(
        120, gt=10, description="Lines of tool output kept (head + tail; errors are at the end)"
    )

    # Pipeline
    one_model_at_a_time: bool = Field(True, description="Unload a model before switching")
    test_command: str = Field("", description="Test command; empty: detect pytest/cargo/npm/go")
    test_rounds: int = Field(3, ge=1, le=10, description="Tester rounds in pipeline mode")
    checkpoint: Literal["commit", "ref", "none"] = Field(
        "ref", description="Git checkpoint after each pipeline phase"
    )
    implementer_samples: int = Field(1, ge=1, le=20, description="Best-of-n implementer attempts")

    # Codebase context
    index_exclude: list[str] = Field(
        default_factory=lambda: [
            "node_modules", "vendor", "third_party", "dist", "build", ".venv", "venv",
            "target", "__pycache__", ".git", ".ca", "*.min.js",
        ],
        description="Paths skipped by the index (gitignore syntax)",
    )
    symbol_map_tokens: int = Field(1024, ge=0, description="Token budget of the symbol map")
    retrieval_top_k: int = Field(6, ge=0, description="Code chunks injected before answers")
    retrieval_tokens: int = Field(1500, ge=0, description="Token budget of injected chunks")

    # Sessions and memory
    history_tokens: int = Field(6000, gt=0, description="History budget before compaction")
    project_memory: Literal["first", "all"] = Field(
        "first", description="Load AGENTS.md and CLAUDE.md (else code_assistant.md), or all"
    )
    sessions_dir: str = Field("", description="Where sessions are stored (machine-only)")
    feedback_dir: str = Field("", description="Where feedback pairs are stored (machine-only)")
    feedback_enabled: bool = Field(
        True, description="Record corrections from sessions and inject them as examples"
    )
    feedback_tokens: int = Field(
        600, ge=0, description="Token budget of injected examples (0: record only)"
    )
    feedback_lessons: bool = Field(
        True,
        description="Show verified lessons of this project (tests passed, or /feedback) in"
        " prompts; false records pairs but injects none",
    )

    # Web
    web_search_enabled: bool = Field(False, description="Offer web_search to the model")
    web_search_provider: Literal["duckduckgo", "serper"] = Field(
        "duckduckgo", description="Search provider"
    )
    serper_api_key: str = Field("", description="Serper API key (machine-only)")
    serper_url: str = Field(
        "https://google.serper.dev/search", description="Serper endpoint (machine-only)"
    )
    web_allow_private: bool = Field(False, description="Allow fetch_url to private addresses")
    web_timeout: float = Field(20.0, gt=0, description="Seconds per web request")
    web_max_bytes: int = Field(2_000_000, gt=0, description="Largest body fetch_url reads")
    web_max_tokens: int = Field(4000, gt=0, description="Token budget of a fetched page")

    mcp: McpConfig = Field(default_factory=McpConfig, description="MCP servers")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Layers are merged by load_config, which records where each value came from.
        return (init_settings,)


# serper_url: a project's ca.config must not send the machine's Serper key elsewhere.
# web_allow_private too: a cloned repository must not switch off the SSRF guard for itself.
MACHINE_ONLY = frozenset(
    {"sessions_dir", "feedback_dir", "mcp", "serper_url", "web_allow_private"}
)
SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password")


def is_machine_only(key: str) -> bool:
    return key in MACHINE_ONLY or key.endswith(SECRET_SUFFIXES)


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
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


@dataclass
class LoadedConfig:
    config: Config
    sources: dict[str, str]  # key -> layer name (with file path for file layers)
    warnings: list[str] = field(default_factory=list)
    root: Path = field(default_factory=Path.cwd)
    home: Path = field(default_factory=ca_home)
    # Resources shared by every agent of one invocation (the MCP connections), made on demand.
    services: dict[str, Any] = field(default_factory=dict)
    # Project-file values ignored because the project is not trusted (see trust.py).
    untrusted: dict[str, Any] = field(default_factory=dict)


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
        raise ConfigError(
            f"{origin}: unknown setting {unknown[0]!r} (see `ca config show` for valid keys)"
        )


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
) -> LoadedConfig:
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
    return LoadedConfig(config, sources, warnings, root, home, untrusted=untrusted)


def default_sessions_dir(loaded: LoadedConfig) -> Path:
    value = loaded.config.sessions_dir
    return Path(value).expanduser() if value else loaded.home / "sessions"


def default_feedback_dir(loaded: LoadedConfig) -> Path:
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


def ensure_project_file(loaded: LoadedConfig) -> Path | None:
    """On the first run in a project (a git repository), write its commented ca.config.

    Returns the path when it was written. Outside a repository nothing is written: `ca` run
    in a home or scratch directory must not leave files behind (`ca config init` still can).
    """
    if not (loaded.root / ".git").exists():
        return None
    path = loaded.root / PROJECT_FILE
    return path if write_config_file(path, "project") else None


def effective_values(loaded: LoadedConfig) -> list[tuple[str, Any, str]]:
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
