"""App: one invocation's settings, where they came from, root and home, and shared services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from code_assistant.config_model import Config
    from code_assistant.mcp_client.manager import McpManager

__all__ = ["App", "Services"]


@dataclass
class Services:
    """What every agent of one invocation shares, each made on first use (see App)."""

    mcp: McpManager | None = None


@dataclass
class App:
    """What `config.load_config` builds and every mode is given.

    `services` is one object shared by the copies of an App (a pipeline step runs its agent
    on a copy rooted in its workspace): they all use the same MCP connections. Nothing here
    imports a service before it is used, so `ca --version` stays fast.
    """

    config: Config
    sources: dict[str, str]  # key -> layer name (with file path for file layers)
    root: Path
    home: Path
    warnings: list[str] = field(default_factory=list)
    # Project-file values ignored because the project is not trusted (see trust.py).
    untrusted: dict[str, Any] = field(default_factory=dict)
    services: Services = field(default_factory=Services, repr=False)

    @property
    def mcp(self) -> McpManager:
        """The MCP manager of the configured servers (made here, connecting once started)."""
        if self.services.mcp is None:
            # The MCP SDK and its asyncio loop are imported only when a server is configured.
            from code_assistant.mcp_client.manager import McpManager

            self.services.mcp = McpManager(
                self.config.mcp.servers, root=self.root, log_dir=self.home / "logs"
            )
        return self.services.mcp
