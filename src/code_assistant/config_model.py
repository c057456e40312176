"""The settings model: every setting with its default and description, and which are machine-only.

Loading the layers lives in config.py, which re-exports these names: import them from there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_serializer
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


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
    max_output_tokens: int = Field(
        4096, gt=0, description="Most tokens one reply may generate (a small model that "
        "repeats itself would otherwise run to the end of the context)"
    )
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
    task_restarts: int = Field(
        1, ge=0, le=3,
        description="Fresh starts of a one-shot task that got stuck or whose check still fails",
    )
    task_draft_lines: int = Field(
        150, ge=0,
        description="A one-shot task first answers with whole files when the files it is "
        "about hold at most this many lines (0: always edit through tools)",
    )
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
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *args: PydanticBaseSettingsSource,
        **kwargs: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Layers are merged by load_config (config.py), which records where each value came
        # from; pydantic-settings must not read the environment or files behind its back.
        return (init_settings,)


# serper_url: a project's ca.config must not send the machine's Serper key elsewhere.
# web_allow_private too: a cloned repository must not switch off the SSRF guard for itself.
MACHINE_ONLY = frozenset(
    {"sessions_dir", "feedback_dir", "mcp", "serper_url", "web_allow_private"}
)
SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password")


def is_machine_only(key: str) -> bool:
    return key in MACHINE_ONLY or key.endswith(SECRET_SUFFIXES)
