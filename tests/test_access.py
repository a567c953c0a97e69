"""Scopes, read-only mode, the allow-list and project resolution, at list time and at call time."""

from __future__ import annotations

import httpx
import pytest

from mcp_server.catalog import TOOLS
from tests.conftest import PREFIX, FakePostHog, connect, error_text, payload
from tests.posthog_json import insight, offset_page

pytestmark = pytest.mark.anyio

READ_TOOLS = {
    "insights-list",
    "insight-get",
    "insights-mark-viewed",
    "elements-list",
    "element-get",
    "elements-stats-retrieve",
    "elements-values-list",
}


async def listed(client: object) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}  # type: ignore[attr-defined]


async def test_a_read_scoped_key_sees_only_the_tools_its_scopes_allow(mode: str) -> None:
    fake = FakePostHog(scopes=["insight:read", "element:read"])
    async with connect(fake, mode) as client:
        assert await listed(client) == READ_TOOLS


async def test_write_scope_implies_read_scope() -> None:
    fake = FakePostHog(scopes=["insight:write"])
    async with connect(fake) as client:
        names = await listed(client)
    assert {"insights-list", "insight-get", "insight-create", "insight-delete", "insight-generate-metadata"} <= names
    assert "elements-list" not in names


async def test_star_and_empty_scopes_grant_everything() -> None:
    for scopes in (["*"], []):
        async with connect(FakePostHog(scopes=scopes)) as client:
            assert len(await listed(client)) == len(TOOLS)


async def test_a_tool_outside_the_keys_scopes_is_refused_by_name_without_a_request(mode: str) -> None:
    fake = FakePostHog(scopes=["insight:read"])
    async with connect(fake, mode) as client:
        result = await client.call_tool("insight-create", {"query": {"kind": "TrendsQuery", "series": []}})
    message = error_text(result)
    assert "insight-create needs the API key scope 'insight:write'" in message
    assert "insight:read" in message
    assert fake.tool_requests() == []


async def test_legacy_only_tools_are_hidden_from_and_refused_to_a_scoped_key_without_their_fallback() -> None:
    fake = FakePostHog(scopes=["insight:read", "insight:write"])
    async with connect(fake) as client:
        names = await listed(client)
        my_last_viewed = await client.call_tool("insights-my-last-viewed", {})
        cancel = await client.call_tool("insight-query-cancel", {"client_query_id": "abc"})
    assert "insights-my-last-viewed" not in names
    assert "insight-query-cancel" not in names
    assert "only a legacy unscoped key" in error_text(my_last_viewed)
    assert "insight-query-cancel needs the API key scope 'query:read'" in error_text(cancel)
    assert fake.tool_requests() == []


async def test_a_scoped_key_with_the_fallbacks_scope_is_offered_the_legacy_only_tool() -> None:
    async with connect(FakePostHog(scopes=["query:read"])) as client:
        names = await listed(client)
    assert "insight-query-cancel" in names
    assert "insights-my-last-viewed" not in names


async def test_a_star_key_may_try_the_legacy_only_tools_and_hears_posthogs_refusal() -> None:
    refusal = httpx.Response(
        403,
        json={
            "type": "authentication_error",
            "code": "permission_denied",
            "detail": "This action does not support personal API key access",
            "attr": None,
        },
    )
    fake = FakePostHog(scopes=["*"]).on("GET", "insights/my_last_viewed/", refusal)
    async with connect(fake) as client:
        result = await client.call_tool("insights-my-last-viewed", {})
    assert "refuses insights-my-last-viewed's endpoint to every scoped personal API key" in error_text(result)


async def test_a_failed_scope_lookup_filters_nothing_and_posthogs_403_is_translated() -> None:
    fake = FakePostHog()
    fake.on("GET", "/api/personal_api_keys/@current/", httpx.Response(500, text="boom"))
    fake.on(
        "POST",
        "insights/",
        httpx.Response(
            403,
            json={
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "API key missing required scope 'insight:write'",
                "attr": None,
            },
        ),
    )
    async with connect(fake) as client:
        assert len(await listed(client)) == len(TOOLS)
        result = await client.call_tool("insight-create", {"query": {"kind": "TrendsQuery", "series": []}})
    assert "lacks the scope 'insight:write'" in error_text(result)


async def test_scopes_are_looked_up_once_and_cached() -> None:
    fake = FakePostHog(scopes=["insight:read"]).on("GET", "insights/", offset_page([], 0, 20))
    async with connect(fake) as client:
        await client.list_tools()
        await client.call_tool("insights-list", {})
        await client.call_tool("insights-list", {})
    lookups = [r for r in fake.requests if r.path == "/api/personal_api_keys/@current/"]
    assert len(lookups) == 1


async def test_read_only_mode_hides_and_refuses_every_tool_that_is_not_read_only(mode: str) -> None:
    fake = FakePostHog()
    async with connect(fake, mode, read_only=True) as client:
        names = await listed(client)
        result = await client.call_tool("element-delete", {"id": 3})
    assert names == READ_TOOLS - {"insights-mark-viewed"} | {
        "insights-activity-retrieve",
        "insights-my-last-viewed",
        "insight-generate-metadata",
        "query-run",
        "query-get",
        "event-definitions-list",
        "property-definitions-list",
        "dashboards-list",
    }
    assert "runs read-only" in error_text(result)
    assert fake.tool_requests() == []


async def test_the_allow_list_hides_and_refuses_other_tools() -> None:
    fake = FakePostHog()
    async with connect(fake, tools=frozenset({"insights-list", "insight-get"})) as client:
        names = await listed(client)
        result = await client.call_tool("insight-delete", {"id": 3})
    assert names == {"insights-list", "insight-get"}
    assert "not in this server's allow-list" in error_text(result)
    assert fake.tool_requests() == []


async def test_project_comes_from_a_key_scoped_to_exactly_one_project() -> None:
    fake = FakePostHog(scoped_teams=[77]).on("GET", "/api/projects/77/insights/", offset_page([], 0, 20))
    async with connect(fake, project_id=None) as client:
        payload(await client.call_tool("insights-list", {}))
    assert fake.tool_requests()[0].path == "/api/projects/77/insights/"


async def test_project_falls_back_to_the_key_owners_current_project() -> None:
    fake = FakePostHog()
    fake.on("GET", "/api/users/@me/", {"id": 1, "team": {"id": 5, "project_id": 5}})
    fake.on("GET", "/api/projects/5/insights/12/", insight(12))
    async with connect(fake, project_id=None) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
        payload(await client.call_tool("insight-get", {"id": 12}))
    assert result["url"].endswith("/project/5/insights/Ab000012")
    assert [r.path for r in fake.tool_requests()].count("/api/users/@me/") == 1


async def test_without_any_way_to_find_the_project_every_call_says_to_set_it() -> None:
    fake = FakePostHog()
    fake.on(
        "GET",
        "/api/users/@me/",
        httpx.Response(
            403,
            json={
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "API key missing required scope 'user:read'",
                "attr": None,
            },
        ),
    )
    async with connect(fake, project_id=None) as client:
        result = await client.call_tool("insights-list", {})
    assert "set POSTHOG_PROJECT_ID" in error_text(result)
    assert not any(r.path.startswith("/api/projects/") for r in fake.requests)


async def test_an_unreachable_posthog_is_reported_as_such_when_the_project_is_worked_out() -> None:
    fake = FakePostHog()
    fake.on("GET", "/api/personal_api_keys/@current/", httpx.ConnectError("connection refused"))
    fake.on("GET", "/api/users/@me/", httpx.ConnectError("connection refused"))
    async with connect(fake, project_id=None) as client:
        text = error_text(await client.call_tool("insights-list", {}))
    assert text.startswith("PostHog could not be reached at https://posthog.example.com")
    assert "POSTHOG_PROJECT_ID" not in text
    assert not any(r.path.startswith("/api/projects/") for r in fake.requests)


async def test_a_posthog_outage_during_the_project_look_up_is_not_blamed_on_the_configuration() -> None:
    fake = FakePostHog().on("GET", "/api/users/@me/", httpx.Response(503, text="upstream unavailable"))
    async with connect(fake, project_id=None) as client:
        text = error_text(await client.call_tool("insights-list", {}))
    assert "internal error (503)" in text
    assert "POSTHOG_PROJECT_ID" not in text


async def test_a_configured_project_is_used_without_asking(fake: FakePostHog) -> None:
    fake.on("GET", "insights/", offset_page([], 0, 20))
    async with connect(fake) as client:
        payload(await client.call_tool("insights-list", {}))
    assert [r.path for r in fake.tool_requests()] == [f"{PREFIX}insights/"]


def test_per_request_accounts_are_remembered_by_key_bounded_in_number_and_age() -> None:
    from mcp_server.accounts import Account, AccountCache

    made: list[str] = []

    def make(key: str) -> Account:
        made.append(key)
        return Account(key, None)  # type: ignore[arg-type]

    cache = AccountCache(make, max_size=2, ttl=900)
    first = cache.get("phx_a")
    assert cache.get("phx_a") is first
    cache.get("phx_b")
    cache.get("phx_c")
    assert cache.get("phx_a") is not first
    assert made == ["phx_a", "phx_b", "phx_c", "phx_a"]
    expiring = AccountCache(make, ttl=0)
    assert expiring.get("phx_d") is not expiring.get("phx_d")
