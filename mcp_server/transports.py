"""Serving the MCP server: stdio for hosts that spawn it, SSE and streamable HTTP for hosts that connect."""

from __future__ import annotations

import logging
import sys

import anyio

from mcp_server.app import App
from mcp_server.config import Settings
from mcp_server.server import build_server

log = logging.getLogger(__name__)

SANDBOX_BANNER = """\
posthog-mcp: serving MCP over stdio on the SANDBOX (a local PostHog with demo data, not your real project).
Connect an MCP host to this command, or try it from a terminal:
  posthog-mcp --sandbox tools
  posthog-mcp --sandbox call insights-list '{"search": "signup", "limit": 3}'
Press Ctrl+C to stop."""


def serve(settings: Settings) -> int:
    """Serve until the host disconnects (stdio) or the process is told to stop (HTTP)."""
    if settings.transport == "stdio":
        anyio.run(serve_stdio, settings)
        return 0
    from mcp_server.web import serve_http

    return serve_http(settings)


async def serve_stdio(settings: Settings) -> None:
    """Serve one host over this process's stdin and stdout."""
    from mcp.server.stdio import stdio_server

    app = App.create(settings)
    server = build_server(app)
    if settings.sandbox and sys.stdin.isatty():
        print(SANDBOX_BANNER, file=sys.stderr, flush=True)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        await app.aclose()
