"""MCP servers the MCP client tests start as real subprocesses."""
