"""code-assistant: a fully local, multi-agent coding assistant for small open models."""

__version__ = "0.1.0"
