"""Assembling a sandbox: storage, demo data, the API and control routes, and the in-process transport."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from mcp_server.sandbox import control
from mcp_server.sandbox.api import PostHogApi
from mcp_server.sandbox.faults import ConnectionDropped
from mcp_server.sandbox.seed import populate
from mcp_server.sandbox.state import Sandbox
from mcp_server.sandbox.store import Store
from mcp_server.sandbox.throttle import HOUR, MINUTE, RateLimiter


def create_app(
    db: str | None = None,
    *,
    seed: bool = True,
    rate_limit: int | None = None,
    rate_limit_hour: int | None = None,
    mcp_read_only_org: bool = False,
) -> Starlette:
    """A local PostHog for the insight and element endpoints, with its state at `app.state.sandbox`.

    `db` is a SQLite file (None: in memory); a file that already holds a sandbox is reused as it is, a new
    one gets the demo data (projects, users and dashboards only when `seed` is False). `rate_limit` and
    `rate_limit_hour` are the burst (per minute) and sustained (per hour) requests per key before 429 (None:
    none). `mcp_read_only_org` makes writes from MCP clients (by User-Agent) answer 403, as an organization
    with read-only MCP access does.
    """
    store = Store(db or ":memory:")
    if store.meta("populated") is None:
        populate(store, demo=seed)
    rates = [(rate_limit, MINUTE)] if rate_limit else []
    rates += [(rate_limit_hour, HOUR)] if rate_limit_hour else []
    sandbox = Sandbox(
        store,
        limiter=RateLimiter(rates) if rates else None,
        mcp_read_only_org=mcp_read_only_org,
    )
    app = Starlette(routes=[*control.routes(sandbox), Route("/{path:path}", PostHogApi(sandbox))])
    app.state.sandbox = sandbox
    return app


class EmbeddedTransport(httpx.ASGITransport):
    """httpx.ASGITransport that turns an injected dropped connection into the error httpx raises on a real one."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from exc


def embedded_transport(db: str | None = None) -> httpx.AsyncBaseTransport:
    """An httpx transport that serves requests from a sandbox in this process (see `create_app`)."""
    return EmbeddedTransport(create_app(db))
