"""A small MCP server for tests, over stdio or streamable HTTP on 127.0.0.1.

    python tests/mcp_servers/demo.py                  # stdio
    python tests/mcp_servers/demo.py --http           # prints `listening on URL`, then serves
    python tests/mcp_servers/demo.py --crash          # exits at once with an error on stderr
    python tests/mcp_servers/demo.py --silent         # reads requests, never answers

Tools: add, echo, fail (raises), lines (many lines), picture (image content), sleep,
secret (for deny lists), pid, die (the process exits mid-call), whoami (a header or env).
"""

# No `from __future__ import annotations`: MCPServer reads the tools' annotations at run time,
# and `Context` is imported inside build_server so that --crash and --silent start fast.
import argparse
import os
import socket
import sys
import time


def build_server():  # type: ignore[no-untyped-def]
    from mcp.server.mcpserver import Context, Image, MCPServer

    server = MCPServer("demo", log_level="WARNING")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def fail(message: str = "boom") -> str:
        """Always raises."""
        raise ValueError(message)

    @server.tool()
    def lines(count: int) -> str:
        """Return `count` numbered lines."""
        return "\n".join(f"line {i}" for i in range(1, count + 1))

    @server.tool()
    def picture() -> list:  # type: ignore[type-arg]
        """A caption and a tiny PNG."""
        return ["a red dot", Image(data=b"\x89PNG\r\n\x1a\n" + b"\0" * 40, format="png")]

    @server.tool()
    def sleep(seconds: float) -> str:
        """Sleep, then say so."""
        time.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def secret() -> str:
        """A tool the tests deny."""
        return "the secret"

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def die() -> str:
        """The server process exits in the middle of the call."""
        os._exit(3)

    @server.tool()
    def whoami(ctx: Context) -> str:
        """The X-Demo-User header (HTTP) or the DEMO_USER environment value (stdio)."""
        headers = ctx.headers or {}
        return headers.get("x-demo-user") or os.environ.get("DEMO_USER", "nobody")

    return server


def serve_http(server) -> None:  # type: ignore[no-untyped-def]
    import anyio
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"listening on http://127.0.0.1:{port}/mcp", flush=True)
    anyio.run(uvicorn.Server(config).serve, [sock])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--silent", action="store_true")
    args = parser.parse_args()
    if args.crash:
        print("demo: cannot open database /nonexistent/db.sqlite", file=sys.stderr)
        return 1
    if args.silent:
        for _ in sys.stdin:  # swallow every request
            pass
        return 0
    server = build_server()
    if args.http:
        serve_http(server)
    else:
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
