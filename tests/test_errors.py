"""Every PostHog failure becomes an isError result that says what to do, never a protocol error."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import FakePostHog, connect, error_text

pytestmark = pytest.mark.anyio


def posthog_error(status: int, code: str, detail: str, attr: str | None = None, **headers: str) -> httpx.Response:
    kind = {
        400: "validation_error",
        401: "authentication_error",
        403: "authentication_error",
        404: "invalid_request",
        429: "throttled_error",
    }.get(status, "server_error")
    return httpx.Response(status, json={"type": kind, "code": code, "detail": detail, "attr": attr}, headers=headers)


async def call_failing(answer: httpx.Response, tool: str = "insight-get", arguments: dict | None = None) -> str:
    fake = FakePostHog()
    fake.on("GET", r"insights/.*", answer)
    fake.on("POST", r"insights/.*", answer)
    fake.on("PATCH", r"insights/.*", answer)
    fake.on("GET", r"elements/.*", answer)
    async with connect(fake) as client:
        return error_text(await client.call_tool(tool, arguments if arguments is not None else {"id": 12}))


async def test_400_names_posthogs_field_and_detail() -> None:
    text = await call_failing(
        posthog_error(400, "invalid_input", "This query can't be saved: source.series: Field required", "query"),
        "insight-update",
        {"id": 12, "query": {"kind": "TrendsQuery"}},
    )
    assert "in field 'query'" in text
    assert "This query can't be saved: source.series: Field required" in text


async def test_posthog_text_that_ends_in_a_full_stop_is_not_given_a_second_one() -> None:
    answer = posthog_error(400, "invalid_input", "Ensure this field has no more than 400 characters.", "description")
    answer.headers["X-Request-Id"] = "req-7"
    text = await call_failing(answer, "insight-update", {"id": 12, "name": "x"})
    assert "Ensure this field has no more than 400 characters (PostHog request id req-7). Fix the arguments." in text
    assert ".." not in text


async def test_a_refusal_and_an_unusual_status_quote_posthog_with_one_full_stop() -> None:
    refused = await call_failing(posthog_error(403, "permission_denied", "You don't have access to the project."))
    teapot = await call_failing(posthog_error(418, "teapot", "I'm a teapot."))
    assert refused.endswith("(403): You don't have access to the project.")
    assert teapot.endswith("answered 418 to insight-get: I'm a teapot.")


async def test_401_says_the_key_is_invalid() -> None:
    text = await call_failing(
        posthog_error(
            401, "authentication_failed", "Personal API key found in request Authorization header is invalid."
        )
    )
    assert "rejected the API key" in text and "POSTHOG_PERSONAL_API_KEY" in text


async def test_an_authentication_failure_sent_as_403_is_still_an_invalid_key() -> None:
    text = await call_failing(posthog_error(403, "authentication_failed", "Personal API key ... is invalid."))
    assert "rejected the API key" in text


async def test_403_names_the_missing_scope() -> None:
    text = await call_failing(posthog_error(403, "permission_denied", "API key missing required scope 'insight:read'"))
    assert "lacks the scope 'insight:read' that insight-get needs" in text


async def test_a_403_that_is_not_about_scopes_is_reported_as_posthog_said_it() -> None:
    detail = (
        "Your organization restricts MCP access to read-only. An organization admin can change this in your "
        "organization settings."
    )
    text = await call_failing(posthog_error(403, "permission_denied", detail), "insight-delete")
    assert detail in text
    assert "scope" not in text


async def test_404_says_what_was_not_found() -> None:
    text = await call_failing(posthog_error(404, "not_found", "Not found."))
    assert "Insight 12 was not found in project 42" in text
    assert "insights-list" in text


async def test_404_on_a_list_points_at_the_project() -> None:
    text = await call_failing(posthog_error(404, "not_found", "Project not found."), "elements-list", {})
    assert "project 42" in text and "POSTHOG_PROJECT_ID" in text


async def test_429_beyond_the_retry_budget_says_when_to_retry() -> None:
    text = await call_failing(
        posthog_error(
            429, "throttled", "Request was throttled. Expected available in 50 seconds.", **{"Retry-After": "50"}
        )
    )
    assert "rate-limiting" in text and "in 50 seconds" in text


async def test_500_on_a_read_says_to_retry_later() -> None:
    text = await call_failing(httpx.Response(500, text="<html>Server Error</html>"))
    assert "internal error (500)" in text and "Retry later" in text


async def test_500_on_a_write_says_to_check_before_retrying() -> None:
    text = await call_failing(httpx.Response(502, text="Bad gateway"), "insight-update", {"id": 12, "name": "x"})
    assert "not repeated automatically" in text and "insight-get" in text


async def test_a_success_answer_that_is_not_json_is_reported() -> None:
    text = await call_failing(httpx.Response(200, text="<html>login</html>"))
    assert "not JSON" in text and "POSTHOG_HOST" in text


async def test_a_redirect_is_not_followed_and_names_the_host_to_use() -> None:
    text = await call_failing(httpx.Response(307, headers={"Location": "https://eu.posthog.com/api/projects/42/"}))
    assert "redirect" in text and "https://eu.posthog.com/api/projects/42/" in text


async def test_an_unreachable_host_is_reported_without_a_traceback() -> None:
    text = await call_failing(httpx.ConnectError("connection refused"))  # type: ignore[arg-type]
    assert "could not be reached" in text and "Nothing was changed" in text


async def test_an_unexpected_reply_shape_is_reported() -> None:
    fake = FakePostHog().on("GET", "insights/", {"unexpected": True})
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insights-list", {}))
    assert "was not a page with `results`" in text


async def test_a_bug_in_the_server_is_an_error_result_not_a_protocol_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_server import backend

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(backend.pages, "request_params", broken)
    async with connect(FakePostHog()) as client:
        text = error_text(await client.call_tool("elements-list", {}))
    assert "failed internally while running elements-list (RuntimeError)" in text


async def test_an_unknown_tool_is_a_json_rpc_invalid_params_error(mode: str) -> None:
    from mcp.shared.exceptions import MCPError

    async with connect(FakePostHog(), mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("insights-delete-everything", {})
    assert raised.value.error.code == -32602
    assert "insights-list" in raised.value.error.message


async def test_a_tools_list_cursor_we_never_issued_is_a_json_rpc_error(mode: str) -> None:
    from mcp.shared.exceptions import MCPError

    async with connect(FakePostHog(), mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.list_tools(cursor="bogus")
    assert raised.value.error.code == -32602


async def test_an_unknown_tool_name_is_echoed_only_in_part() -> None:
    from mcp.shared.exceptions import MCPError

    name = "insight-" + "x" * 1_000_000
    async with connect(FakePostHog()) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool(name, {})
    message = raised.value.error.message
    assert message.startswith("Unknown tool 'insight-xxx")
    assert "insights-list" in message
    assert len(message) < 1000


async def test_tools_list_answers_with_the_configured_tools_when_the_scope_look_up_breaks() -> None:
    from mcp import Client

    from mcp_server.catalog import TOOLS
    from mcp_server.server import build_server
    from tests.conftest import make_app

    def broken(_: object) -> object:
        raise RuntimeError("unexpected")

    app = make_app(FakePostHog())
    try:
        async with Client(build_server(app, broken), mode="legacy") as client:  # type: ignore[arg-type]
            listed = await client.list_tools()
    finally:
        await app.aclose()
    assert [tool.name for tool in listed.tools] == [tool.name for tool in TOOLS]
