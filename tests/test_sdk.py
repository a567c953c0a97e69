"""What mcp_server/sdk.py relies on in the MCP SDK and sse-starlette beyond their documented API.

A dependency upgrade that changes one of these fails here, by name. `request_headers` is pinned by the
per-request key tests in test_http.py, which fail if the SDK stops handing handlers the HTTP request.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from mcp.server.auth.middleware.bearer_auth import authorization_context
from sse_starlette.sse import AppStatus
from starlette.types import Scope

from mcp_server import sdk
from tests.conftest import FakePostHog
from tests.http_server import running

KEY_A = "phx_user_a_0000000000000000000000000000"
KEY_B = "phx_user_b_1111111111111111111111111111"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@pytest.fixture
def sse_status() -> Iterator[None]:
    """AppStatus is process-wide: put back what the test changed."""
    saved = AppStatus.should_exit, AppStatus.enable_automatic_graceful_drain
    try:
        yield
    finally:
        AppStatus.should_exit, AppStatus.enable_automatic_graceful_drain = saved


def principal(name: str) -> object:
    scope: Scope = {"type": "http"}
    sdk.bind_principal(scope, name)
    return authorization_context(scope["user"])


def test_a_bound_principal_is_what_the_sdk_compares_sessions_by() -> None:
    assert principal("a") == {"client_id": "a", "issuer": None, "subject": None}
    assert principal("a") == principal("a")
    assert principal("a") != principal("b")


@pytest.mark.anyio
async def test_an_sse_session_takes_messages_only_from_the_principal_that_opened_it() -> None:
    async with (
        running(FakePostHog(), transport="sse", api_key=None, per_request_keys=True) as url,
        httpx.AsyncClient() as http,
        http.stream("GET", f"{url}/sse", headers={"X-PostHog-Api-Key": KEY_A}) as stream,
    ):
        lines = stream.aiter_lines()
        assert await anext(lines) == "event: endpoint"
        endpoint = (await anext(lines)).removeprefix("data: ")
        hijack = await http.post(f"{url}{endpoint}", json=INIT, headers={"X-PostHog-Api-Key": KEY_B})
        owner = await http.post(f"{url}{endpoint}", json=INIT, headers={"X-PostHog-Api-Key": KEY_A})
    assert hijack.status_code == 404
    assert owner.status_code == 202


@pytest.mark.usefixtures("sse_status")
def test_held_sse_streams_outlast_uvicorn_exit_until_closed() -> None:
    AppStatus.should_exit = False
    sdk.hold_sse_streams()
    server = uvicorn.Server(uvicorn.Config(app=None))
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert AppStatus.should_exit is False
    sdk.close_sse_streams()
    assert AppStatus.should_exit is True


@pytest.mark.usefixtures("sse_status")
def test_without_holding_uvicorn_exit_ends_sse_streams_at_once() -> None:
    AppStatus.should_exit = False
    AppStatus.enable_automatic_graceful_drain = True
    uvicorn.Server(uvicorn.Config(app=None)).handle_exit(signal.SIGTERM, None)
    assert AppStatus.should_exit is True
