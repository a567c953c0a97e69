"""Run the HTTP transports in the test's event loop, on a real socket on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import uvicorn

from mcp_server.app import App
from mcp_server.web import _bound_socket, create_web_app
from tests.conftest import FakePostHog, no_sleep, settings


@asynccontextmanager
async def serving(app: App) -> AsyncIterator[str]:
    """The base URL of the app's HTTP server while it runs; uvicorn logs through the root logger, as `serve_http`
    has it."""
    sock = _bound_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_web_app(app), log_level="warning", lifespan="on", log_config=None))
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no start-up event
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@asynccontextmanager
async def running(fake: FakePostHog, **overrides: Any) -> AsyncIterator[str]:
    """The base URL of a server whose PostHog is `fake`, while it runs."""
    app = App.create(settings(**overrides), transport=httpx.MockTransport(fake.handle), sleep=no_sleep)
    async with serving(app) as url:
        yield url
