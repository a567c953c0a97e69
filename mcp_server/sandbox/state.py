"""What handlers work with: the shared Sandbox, the Call in flight, and how they reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_server.sandbox.dates import utc_now
from mcp_server.sandbox.faults import Faults
from mcp_server.sandbox.journal import Journal
from mcp_server.sandbox.keys import DemoKey
from mcp_server.sandbox.store import Store
from mcp_server.sandbox.throttle import RateLimiter


@dataclass
class Sandbox:
    """One sandbox's state, reachable as `app.state.sandbox`; tests may change the settings at any time.

    `async_seconds` is how long an asynchronous insight computation runs; `clock` is the time the sandbox
    lives in (replace it to move time forward); `ai_approved` False makes generate_metadata answer 403.
    """

    store: Store
    faults: Faults = field(default_factory=Faults)
    requests: Journal = field(default_factory=Journal)
    limiter: RateLimiter | None = None
    mcp_read_only_org: bool = False
    ai_approved: bool = True
    async_seconds: float = 1.0
    clock: Callable[[], datetime] = utc_now

    def now(self) -> datetime:
        """The sandbox's current time."""
        return self.clock()


@dataclass
class Call:
    """One authenticated, permitted request on its way to a handler."""

    sandbox: Sandbox
    request: Request
    key: DemoKey
    project_id: int
    params: dict[str, str]
    body: Any
    now: datetime

    store: Store = field(init=False)
    query: QueryParams = field(init=False)
    url: str = field(init=False)
    client: str | None = field(init=False)
    user_id: int = field(init=False)

    def __post_init__(self) -> None:
        # The absolute URL builds next/previous links; X-PostHog-Client goes on activity entries.
        self.store, self.query, self.url = self.sandbox.store, self.request.query_params, str(self.request.url)
        self.client, self.user_id = self.request.headers.get("x-posthog-client"), self.key.user_id


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer, compact as DRF renders it."""
    return JSONResponse(data, status, headers=headers)


def empty(status: int) -> Response:
    """An answer with no body at all (201 from viewed/cancel, 204, the DELETE insight 405)."""
    return Response(b"", status)
