"""App: one invocation's settings, where they came from, root and home, and shared services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from code_assistant.config_model import Config
    from code_assistant.mcp_client.manager import McpManager

__all__ = ["App"]


@dataclass
class App:
    """What `config.load_config` builds and every mode is given.

    The services are built on first use and then shared by every agent of the invocation;
    nothing here imports them before that, so `ca --version` stays fast.
    """

    config: Config
    sources: dict[str, str]  # key -> layer name (with file path for file layers)
    root: Path
    home: Path
    warnings: list[str] = field(default_factory=list)
    # Project-file values ignored because the project is not trusted (see trust.py).
    untrusted: dict[str, Any] = field(default_factory=dict)
    _mcp: McpManager | None = field(default=None, init=False, repr=False)

    @property
    def mcp(self) -> McpManager:
        """The MCP manager of the configured servers (made here, not yet connecting)."""
        if self._mcp is None:
            # The MCP SDK and its asyncio loop are imported only when a server is configured.
            from code_assistant.mcp_client.manager import McpManager

            self._mcp = McpManager(
                self.config.mcp.servers, root=self.root, log_dir=self.home / "logs"
            )
        return self._mcp
