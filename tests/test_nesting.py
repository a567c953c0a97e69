"""Replies nested deeper than any PostHog object: a result or an error result, never a protocol error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from mcp_server import resources, shaping
from tests.conftest import FakePostHog, connect, error_text, payload
from tests.posthog_json import insight

pytestmark = pytest.mark.anyio


def nested(levels: int) -> str:
    return '{"a":' * levels + '"bottom"' + "}" * levels


def reply_with(levels: int, template: dict[str, Any]) -> httpx.Response:
    """A JSON body with a subtree nested `levels` deep where the template holds "HOLE"."""
    text = json.dumps(template).replace('"HOLE"', nested(levels))
    return httpx.Response(200, content=text.encode(), headers={"content-type": "application/json"})


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


async def test_a_subtree_nested_300_levels_comes_back_cut_at_the_depth_limit_with_a_marker() -> None:
    fake = FakePostHog().on("GET", "insights/12/", reply_with(300, insight(12, result=[{"data": "HOLE"}])))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert depth(result) <= shaping.MAX_DEPTH
    assert shaping.TOO_DEEP in json.dumps(result, ensure_ascii=False)
    assert result["short_id"] == "Ab000012"
    assert result["result"][0]["data"]["a"]["a"]["a"]["a"]["a"]["a"]["a"]["a"]["a"]["a"]["a"]["a"]


@pytest.mark.parametrize("levels", [300, 900])
async def test_results_nested_deep_but_decodable_are_summarised_and_cut_not_a_bug(levels: int) -> None:
    """Results are walked (whole numbers, summaries) before the depth limit cuts them: the walk stops short."""
    fake = FakePostHog().on("GET", "insights/12/", reply_with(levels, insight(12, result=[{"data": "HOLE"}])))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert depth(result) <= shaping.MAX_DEPTH
    assert shaping.TOO_DEEP in json.dumps(result, ensure_ascii=False)


async def test_a_reply_nested_5000_levels_is_an_error_result_saying_so() -> None:
    fake = FakePostHog().on("GET", "insights/12/", reply_with(5000, insight(12, result=[{"data": "HOLE"}])))
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insight-get", {"id": 12}))
    assert "nested too deeply" in text
    assert "bug" not in text


async def test_an_error_body_nested_5000_levels_is_a_plain_error_result() -> None:
    body = nested(5000).encode()
    fake = FakePostHog().on("GET", "insights/12/", httpx.Response(400, content=body))
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insight-get", {"id": 12}))
    assert "PostHog rejected the request" in text
    assert "bug" not in text


async def test_a_deep_list_item_is_cut_like_any_other_reply() -> None:
    page = {"count": 1, "next": None, "previous": None, "results": [{**insight(1, basic=True), "tags": "HOLE"}]}
    fake = FakePostHog().on("GET", "insights/", reply_with(900, page))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-list", {}))
    assert depth(result) <= shaping.MAX_DEPTH + 2
    assert result["results"][0]["short_id"] == "Ab000001"


async def test_resources_list_skips_items_that_are_not_insight_objects() -> None:
    page = {"count": 4, "next": None, "previous": None, "results": [7, "x", None, insight(1, basic=True)]}
    fake = FakePostHog().on("GET", "insights/", page)
    async with connect(fake) as client:
        listed = await client.list_resources()
    assert [str(r.uri) for r in listed.resources] == ["posthog://insights/Ab000001"]


async def test_resources_list_ignores_names_and_short_ids_of_the_wrong_type() -> None:
    odd = [{**insight(2, basic=True), "name": 5, "description": ["x"]}, {**insight(3, basic=True), "short_id": 3}]
    page = {"count": 2, "next": None, "previous": None, "results": odd}
    fake = FakePostHog().on("GET", "insights/", page)
    async with connect(fake) as client:
        listed = await client.list_resources()
    (only,) = listed.resources
    assert (str(only.uri), only.title, only.description) == ("posthog://insights/Ab000002", None, None)


async def test_an_unexpected_failure_listing_resources_is_an_internal_error_not_code_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(resources, "execute", broken)
    async with connect(FakePostHog()) as client:
        with pytest.raises(MCPError) as raised:
            await client.list_resources()
        with pytest.raises(MCPError) as read:
            await client.read_resource("posthog://insights/Ab000012")
    assert (raised.value.error.code, read.value.error.code) == (types.INTERNAL_ERROR, types.INTERNAL_ERROR)
    assert "secret internals" not in raised.value.error.message + read.value.error.message
    assert "resources/list" in raised.value.error.message
