"""The HTTP transports over real sockets on 127.0.0.1: both transports, security checks, per-request keys."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from sse_starlette.sse import AppStatus

from mcp_server.catalog import TOOLS
from mcp_server.config import ConfigError
from mcp_server.sdk import close_sse_streams
from mcp_server.web import check_bind
from tests.conftest import PREFIX, FakePostHog, error_text, payload, settings
from tests.http_server import running
from tests.posthog_json import insight, offset_page

pytestmark = pytest.mark.anyio

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def http_client(url: str, headers: dict[str, str] | None = None) -> Any:
    return streamable_http_client(f"{url}/mcp", http_client=httpx2.AsyncClient(headers=headers or {}, timeout=30))


def fake_with_insights() -> FakePostHog:
    return FakePostHog().on("GET", "insights/", offset_page([insight(1, basic=True)], 0, 20))


async def test_streamable_http_lists_and_calls_tools(mode: str) -> None:
    fake = fake_with_insights()
    async with running(fake) as url, Client(http_client(url), mode=mode) as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        result = payload(await client.call_tool("insights-list", {}))
    assert result["results"][0]["id"] == 1


async def test_sse_lists_and_calls_tools() -> None:
    fake = fake_with_insights()
    async with running(fake, transport="sse") as url, Client(sse_client(f"{url}/sse"), mode="legacy") as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        result = payload(await client.call_tool("insights-list", {}))
    assert result["count"] == 1


async def test_healthz_needs_no_auth_and_reveals_only_liveness_and_version() -> None:
    async with running(FakePostHog(), auth_token="s3cret-token-value") as url, httpx.AsyncClient() as http:
        response = await http.get(f"{url}/healthz")
    from mcp_server import __version__

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_a_foreign_origin_is_refused_with_403() -> None:
    async with running(FakePostHog()) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INIT, headers={**MCP_HEADERS, "Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_a_rebinding_host_header_is_refused_with_421() -> None:
    async with running(FakePostHog()) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INIT, headers={**MCP_HEADERS, "Host": "evil.example:8000"})
    assert response.status_code == 421


async def test_sse_applies_the_same_host_check() -> None:
    async with running(FakePostHog(), transport="sse") as url, httpx.AsyncClient() as http:
        response = await http.get(f"{url}/sse", headers={"Host": "evil.example"})
    assert response.status_code == 421


async def test_a_local_origin_and_port_less_host_are_accepted() -> None:
    async with running(FakePostHog()) as url, httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/mcp", json=INIT, headers={**MCP_HEADERS, "Origin": "http://localhost:6274", "Host": "localhost"}
        )
    assert response.status_code == 200


async def test_an_oversized_body_is_refused_with_413() -> None:
    async with running(FakePostHog(), max_body=2000) as url, httpx.AsyncClient() as http:
        big = {**INIT, "params": {**INIT["params"], "padding": "x" * 5000}}  # type: ignore[dict-item]
        response = await http.post(f"{url}/mcp", content=json.dumps(big), headers=MCP_HEADERS)
    assert response.status_code == 413


@pytest.mark.parametrize("presented", [None, "wrong-token", "s3cret-token-valu"])
async def test_a_missing_or_wrong_bearer_token_is_refused_with_401(presented: str | None) -> None:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {presented}"} if presented else {})}
    async with running(FakePostHog(), auth_token="s3cret-token-value") as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INIT, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "s3cret" not in response.text


async def test_the_right_bearer_token_is_accepted_on_both_transports() -> None:
    fake = fake_with_insights()
    auth = {"Authorization": "Bearer s3cret-token-value"}
    async with (
        running(fake, auth_token="s3cret-token-value") as url,
        Client(http_client(url, auth), mode="legacy") as client,
    ):
        payload(await client.call_tool("insights-list", {}))
    async with (
        running(fake, auth_token="s3cret-token-value", transport="sse") as url,
        Client(sse_client(f"{url}/sse", headers=auth), mode="legacy") as client,
    ):
        payload(await client.call_tool("insights-list", {}))


def test_a_non_loopback_bind_without_a_token_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="POSTHOG_MCP_AUTH_TOKEN"):
        check_bind(settings(host="0.0.0.0", transport="http"))
    with pytest.raises(ConfigError, match="POSTHOG_MCP_ALLOWED_HOSTS"):
        check_bind(settings(host="0.0.0.0", transport="http", auth_token="t" * 32))
    check_bind(settings(host="0.0.0.0", transport="http", auth_token="t" * 32, allowed_hosts=("mcp.example.com",)))


async def test_a_non_loopback_bind_accepts_only_the_configured_hosts_including_port_less() -> None:
    from mcp_server.web import security_settings

    allowed = security_settings(settings(host="0.0.0.0", allowed_hosts=("mcp.example.com",))).allowed_hosts
    assert "mcp.example.com" in allowed
    assert "mcp.example.com:*" in allowed
    assert not any(host.startswith("127.0.0.1") for host in allowed)


KEY_A = "phx_user_a_0000000000000000000000000000"
KEY_B = "phx_user_b_1111111111111111111111111111"


def per_key_posthog() -> FakePostHog:
    """PostHog where key A may only read insights and key B may do everything."""
    fake = FakePostHog()
    scopes = {KEY_A: ["insight:read"], KEY_B: ["*"]}

    def key_info(request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(200, json={"scopes": scopes[key], "scoped_teams": []})

    def insights(request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        number = 1 if key == KEY_A else 2
        return httpx.Response(200, json=offset_page([insight(number, basic=True)], 0, 20))

    fake.on("GET", "/api/personal_api_keys/@current/", key_info)
    fake.on("GET", "insights/", insights)
    return fake


async def test_per_request_keys_never_mix_between_concurrent_sessions(mode: str) -> None:
    fake = per_key_posthog()
    results: dict[str, Any] = {}
    async with running(fake, api_key=None, per_request_keys=True) as url:

        async def session(name: str, key: str) -> None:
            async with Client(http_client(url, {"X-PostHog-Api-Key": key}), mode=mode) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                ids = []
                for _ in range(10):
                    ids.append(payload(await client.call_tool("insights-list", {}))["results"][0]["id"])
                    await anyio.lowlevel.checkpoint()
                results[name] = (names, ids)

        async with anyio.create_task_group() as group:
            group.start_soon(session, "a", KEY_A)
            group.start_soon(session, "b", KEY_B)
    names_a, ids_a = results["a"]
    names_b, ids_b = results["b"]
    assert names_a == {"insights-list", "insight-get", "insights-mark-viewed"}
    assert len(names_b) == len(TOOLS)
    assert set(ids_a) == {1}
    assert set(ids_b) == {2}
    lookups = [r.headers["authorization"] for r in fake.requests if r.path == "/api/personal_api_keys/@current/"]
    assert sorted(lookups) == [f"Bearer {KEY_A}", f"Bearer {KEY_B}"]
    calls = [r.headers["authorization"] for r in fake.tool_requests() if r.path == f"{PREFIX}insights/"]
    assert calls.count(f"Bearer {KEY_A}") == 10
    assert calls.count(f"Bearer {KEY_B}") == 10


async def test_a_session_opened_with_one_key_cannot_be_used_with_another() -> None:
    fake = per_key_posthog()
    async with running(fake, api_key=None, per_request_keys=True) as url, httpx.AsyncClient() as http:
        opened = await http.post(f"{url}/mcp", json=INIT, headers={**MCP_HEADERS, "X-PostHog-Api-Key": KEY_A})
        session_id = opened.headers["mcp-session-id"]
        hijack = await http.post(
            f"{url}/mcp",
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers={
                **MCP_HEADERS,
                "X-PostHog-Api-Key": KEY_B,
                "Mcp-Session-Id": session_id,
                "MCP-Protocol-Version": "2025-11-25",
            },
        )
    assert hijack.status_code == 404


async def test_per_request_keys_mode_refuses_a_request_without_a_key() -> None:
    async with running(per_key_posthog(), api_key=None, per_request_keys=True) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INIT, headers=MCP_HEADERS)
    assert response.status_code == 401
    assert "X-PostHog-Api-Key" in response.json()["detail"]


async def test_on_a_tokenless_loopback_bind_a_bearer_phx_key_carries_the_posthog_key() -> None:
    fake = per_key_posthog()
    async with (
        running(fake, api_key=None, per_request_keys=True) as url,
        Client(http_client(url, {"Authorization": f"Bearer {KEY_A}"}), mode="legacy") as client,
    ):
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {"insights-list", "insight-get", "insights-mark-viewed"}


def asgi_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_refused_sse_request_is_answered_once_and_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    async with running(FakePostHog(), transport="sse") as url, httpx.AsyncClient() as http:
        statuses = [(await http.get(f"{url}/sse", headers={"Host": "evil.example"})).status_code for _ in range(3)]
    assert statuses == [421, 421, 421]
    assert asgi_errors(caplog) == []


async def test_a_rebinding_host_is_neither_logged_nor_echoed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with running(FakePostHog()) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INIT, headers={**MCP_HEADERS, "Host": "evil.example"})
    assert response.status_code == 421
    assert "evil.example" not in response.text
    assert not [record for record in caplog.records if "evil.example" in record.getMessage()]


@pytest.mark.parametrize(("transport", "path"), [("http", "/mcp/"), ("sse", "/sse/"), ("sse", "/messages")])
async def test_a_trailing_slash_never_redirects_to_a_client_chosen_host(transport: str, path: str) -> None:
    async with running(FakePostHog(), transport=transport) as url, httpx.AsyncClient() as http:
        response = await http.request(
            "GET" if path.startswith("/sse") else "POST",
            f"{url}{path}",
            json=INIT,
            headers={**MCP_HEADERS, "Host": "evil.example"},
        )
    assert response.status_code in (404, 421)
    assert "location" not in response.headers
    assert "evil.example" not in response.text


async def test_the_endpoint_with_a_trailing_slash_serves_mcp_like_the_endpoint() -> None:
    fake = fake_with_insights()
    async with running(fake) as url:
        client_transport = streamable_http_client(f"{url}/mcp/", http_client=httpx2.AsyncClient(timeout=30))
        async with Client(client_transport, mode="legacy") as client:
            result = payload(await client.call_tool("insights-list", {}))
    assert result["results"][0]["id"] == 1


async def test_a_path_beside_the_endpoint_is_not_found() -> None:
    async with running(FakePostHog()) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcpx", json=INIT, headers=MCP_HEADERS)
    assert response.status_code == 404
    assert "/mcp" in response.json()["detail"]


async def test_the_guard_refuses_websockets_and_passes_lifespan_through() -> None:
    from mcp_server.web import Guard

    seen: list[str] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    guard = Guard(inner, settings())
    await guard({"type": "websocket", "path": "/mcp", "headers": []}, receive, send)
    await guard({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]
    assert sent[0]["type"] == "websocket.close"


UNUSABLE_KEYS = {
    "invisible": "\ufeffphx_user_a_0000000000000000000000000000",
    "non-ASCII": "phx_user_a_\u00e9000000000000000000000000000",
    "control": "phx_user_a_\x01000000000000000000000000000",
}


async def post_init_with_header(name: bytes, value: bytes) -> tuple[httpx.Response, FakePostHog]:
    fake = per_key_posthog()
    async with running(fake, api_key=None, per_request_keys=True) as url, httpx.AsyncClient() as http:
        response = await http.post(f"{url}/mcp", json=INIT, headers=[*MCP_HEADERS.items(), (name, value)])
    return response, fake


@pytest.mark.parametrize("kind", list(UNUSABLE_KEYS))
async def test_a_per_request_key_with_an_unusable_character_is_refused_naming_its_kind(kind: str) -> None:
    # What a client sends when the pasted key holds the character: its UTF-8 bytes in the header.
    response, fake = await post_init_with_header(b"x-posthog-api-key", UNUSABLE_KEYS[kind].encode())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_posthog_key"
    assert f"{kind} character" in response.json()["detail"]
    assert "copy the key again" in response.json()["detail"]
    assert "000000" not in response.text
    assert fake.requests == []


async def test_a_bearer_phx_key_with_a_zero_width_space_is_refused_too() -> None:
    response, fake = await post_init_with_header(b"authorization", "Bearer phx_\u200b00000000000000".encode())
    assert response.status_code == 401
    assert "invisible character" in response.json()["detail"]
    assert "000000" not in response.text
    assert fake.requests == []


async def test_an_sse_stream_cut_at_shutdown_ends_cleanly_and_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    lines = []
    try:
        async with (
            running(FakePostHog(), transport="sse") as url,
            httpx.AsyncClient() as http,
            http.stream("GET", f"{url}/sse") as stream,
        ):
            async for line in stream.aiter_lines():
                lines.append(line)
                # What the server's SIGTERM handling does (DrainingServer) once no call is in flight.
                close_sse_streams()
    finally:
        AppStatus.should_exit = False
    assert lines[0] == "event: endpoint"
    assert asgi_errors(caplog) == []


async def test_a_rejected_per_request_key_is_told_to_fix_the_key_header_not_the_server_setting() -> None:
    fake = per_key_posthog()
    rejected = {"type": "authentication_error", "code": "authentication_failed", "detail": "Invalid key."}
    fake.on("GET", "insights/", httpx.Response(401, json=rejected))
    async with (
        running(fake, api_key=None, per_request_keys=True) as url,
        Client(http_client(url, {"X-PostHog-Api-Key": KEY_A}), mode="legacy") as client,
    ):
        text = error_text(await client.call_tool("insights-list", {}))
    assert "PostHog rejected the API key" in text
    assert "X-PostHog-Api-Key" in text
    assert "POSTHOG_PERSONAL_API_KEY" not in text


async def test_a_rejected_per_request_key_without_a_project_is_told_about_the_key_header() -> None:
    fake = per_key_posthog()
    rejected = {"type": "authentication_error", "code": "authentication_failed", "detail": "Invalid key."}
    fake.on("GET", "/api/users/@me/", httpx.Response(401, json=rejected))
    async with (
        running(fake, api_key=None, per_request_keys=True, project_id=None) as url,
        Client(http_client(url, {"X-PostHog-Api-Key": KEY_A}), mode="legacy") as client,
    ):
        text = error_text(await client.call_tool("insights-list", {}))
    assert "X-PostHog-Api-Key" in text
    assert "POSTHOG_PERSONAL_API_KEY" not in text


async def test_a_per_request_key_never_reaches_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_server import backend
    from mcp_server.cli import RedactingFilter

    def leaky_read_page(*_: object) -> None:
        raise RuntimeError(f"bug while holding {KEY_A}")

    monkeypatch.setattr(backend.pages, "read_page", leaky_read_page)
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(RedactingFilter([]))  # what serve_http installs when the server itself holds no key
    logging.getLogger().addHandler(handler)
    try:
        async with (
            running(per_key_posthog(), api_key=None, per_request_keys=True) as url,
            Client(http_client(url, {"X-PostHog-Api-Key": KEY_A}), mode="legacy") as client,
        ):
            await client.call_tool("insights-list", {})
    finally:
        logging.getLogger().removeHandler(handler)
    assert "RuntimeError: bug while holding [redacted]" in output.getvalue()
    assert KEY_A[4:16] not in output.getvalue()
