"""Serving the MCP server: stdio for hosts that spawn it, SSE and streamable HTTP for hosts that connect."""

from __future__ import annotations

import logging

import anyio

from mcp_server.app import App
from mcp_server.config import Settings
from mcp_server.server import build_server

log = logging.getLogger(__name__)


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
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        await app.aclose()
