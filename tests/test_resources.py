"""Insights as resources: a template, a paginated list (recently modified first), reads behind the scope checks."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import PREFIX, FakePostHog, connect
from tests.posthog_json import insight, offset_page, series
from tests.test_pages import offset_pages

pytestmark = pytest.mark.anyio


async def test_the_insight_template_is_listed(mode: str) -> None:
    async with connect(FakePostHog(), mode) as client:
        templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["posthog://insights/{short_id}"]
    assert templates[0].mime_type == "application/json"


async def test_insights_are_listed_recently_modified_first_and_paged_with_mcp_cursors(mode: str) -> None:
    everything = [insight(n, basic=True) for n in range(1, 121)]
    fake = FakePostHog().on("GET", "insights/", offset_pages(everything))
    uris: list[str] = []
    async with connect(fake, mode) as client:
        cursor = None
        for _ in range(10):
            page = await client.list_resources(cursor=cursor)
            uris += [str(resource.uri) for resource in page.resources]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert uris == [f"posthog://insights/Ab{n:06d}" for n in range(1, 121)]
    first = fake.tool_requests()[0]
    assert first.params["order"] == "-last_modified_at"
    assert first.params["basic"] == "true"


async def test_reading_an_insight_returns_the_same_json_as_insight_get(mode: str) -> None:
    fake = FakePostHog().on("GET", "insights/Ab000012/", insight(12, result=[series()]))
    async with connect(fake, mode) as client:
        read = await client.read_resource("posthog://insights/Ab000012")
        tool = await client.call_tool("insight-get", {"id": "Ab000012"})
    (content,) = read.contents
    assert content.mime_type == "application/json"
    assert json.loads(content.text) == tool.structured_content  # type: ignore[union-attr]
    assert fake.tool_requests()[0].path == f"{PREFIX}insights/Ab000012/"


async def test_a_missing_insight_is_a_resource_not_found_error() -> None:
    fake = FakePostHog().on("GET", "insights/Zz999999/", httpx.Response(404, json={"detail": "Not found."}))
    async with connect(fake) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("posthog://insights/Zz999999")
    assert raised.value.error.code == -32002
    assert "was not found" in raised.value.error.message


async def test_an_unknown_uri_is_a_resource_not_found_error_without_a_request() -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("posthog://dashboards/1")
    assert raised.value.error.code == -32002
    assert fake.requests == []


@pytest.mark.parametrize("uri", ["posthog://insights/Ab000012\n", "posthog://insights/" + "x" * 100_000 + "!"])
async def test_a_uri_that_is_not_wholly_an_insight_is_refused_and_echoed_only_in_part(uri: str) -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource(uri)
    assert raised.value.error.code == -32002
    assert raised.value.error.message.startswith("Unknown resource 'posthog://insights/")
    assert len(raised.value.error.message) < 300
    assert fake.requests == []


async def test_a_key_without_insight_read_lists_no_resources_and_cannot_read_them() -> None:
    fake = FakePostHog(scopes=["element:read"])
    async with connect(fake) as client:
        listed = await client.list_resources()
        with pytest.raises(MCPError) as raised:
            await client.read_resource("posthog://insights/Ab000012")
    assert listed.resources == []
    assert "insight:read" in raised.value.error.message
    assert fake.tool_requests() == []


async def test_a_garbled_resource_cursor_is_an_invalid_params_error() -> None:
    fake = FakePostHog().on("GET", "insights/", offset_page([], 0, 50))
    async with connect(fake) as client:
        with pytest.raises(MCPError) as raised:
            await client.list_resources(cursor="not-a-cursor")
    assert raised.value.error.code == -32602


async def test_posthogs_failure_on_a_resource_read_is_an_internal_error_that_says_so() -> None:
    fake = FakePostHog().on("GET", "insights/Ab000012/", httpx.Response(500, json={"detail": "Server error."}))
    async with connect(fake) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("posthog://insights/Ab000012")
    assert raised.value.error.code == -32603
    assert raised.value.error.message.startswith("PostHog had an internal error (500) on insight-get")


async def test_a_resource_read_without_the_scope_is_an_invalid_params_error() -> None:
    fake = FakePostHog(scopes=["element:read"])
    async with connect(fake) as client:
        with pytest.raises(MCPError) as raised:
            await client.read_resource("posthog://insights/Ab000012")
    assert raised.value.error.code == -32602
    assert fake.tool_requests() == []
