"""Where the server relies on its dependencies beyond their handler and transport API, each use in one place.

tests/test_sdk.py pins every one, so that an upgrade that changes them fails there, by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from sse_starlette.sse import AppStatus
from starlette.requests import Request
from starlette.types import Scope

Context = ServerRequestContext[Any, Any]


def request_headers(ctx: Context) -> Mapping[str, str] | None:
    """The headers of the HTTP request behind a handler's call (case-insensitive), or None over stdio."""
    request = ctx.request
    return request.headers if isinstance(request, Request) else None


def bind_principal(scope: Scope, principal: str) -> None:
    """Make `principal` the request's user: the SDK's transports bind each session to the user that opened it."""
    scope["user"] = AuthenticatedUser(AccessToken(token="", client_id=principal, scopes=[]))


def hold_sse_streams() -> None:
    """Keep event streams open when uvicorn is told to exit, until `close_sse_streams` (process-wide)."""
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]


def close_sse_streams() -> None:
    """End every event stream of the process."""
    AppStatus.should_exit = True
