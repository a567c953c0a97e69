"""Pagination: PostHog's four list shapes, one normalised page, cursors that lose nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from mcp import Client

from mcp_server.app import App
from mcp_server.config import Settings
from mcp_server.pages import Position, Walk, arguments_digest, encode_cursor
from mcp_server.sandbox import DEMO_PROJECT_ID, LEGACY_KEY, embedded_transport
from mcp_server.server import build_server
from tests.conftest import FakePostHog, connect, error_text, payload
from tests.posthog_json import activity, element, insight, offset_page, stats_row

pytestmark = pytest.mark.anyio

# A key without dashboard:read, so that insight pages are walked without dashboard-name look-ups.
INSIGHTS_ONLY = ["insight:read"]


def offset_pages(items: list[Any], *, with_count: bool = True):  # type: ignore[no-untyped-def]
    def respond(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json=offset_page(items, offset, limit, with_count=with_count))

    return respond


def numbered_pages(items: list[Any]):  # type: ignore[no-untyped-def]
    def respond(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        page = int(request.url.params["page"])
        window = items[(page - 1) * limit : page * limit]
        more = page * limit < len(items)
        return httpx.Response(
            200,
            json={
                "results": window,
                "next": f"https://x/?page={page + 1}" if more else None,
                "previous": None,
                "total_count": len(items),
            },
        )

    return respond


async def walk(client: Any, tool: str, arguments: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """Follow next_cursor to the end; return every item and every page."""
    items: list[Any] = []
    seen_pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        page = payload(await client.call_tool(tool, {**arguments, **({"cursor": cursor} if cursor else {})}))
        seen_pages.append(page)
        items.extend(page["results"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, seen_pages
    raise AssertionError("the cursor never ended")


async def test_offset_pages_with_count_yield_every_insight_once() -> None:
    everything = [insight(n, basic=True) for n in range(1, 58)]
    fake = FakePostHog(scopes=INSIGHTS_ONLY).on("GET", "insights/", offset_pages(everything))
    async with connect(fake) as client:
        items, seen = await walk(client, "insights-list", {"limit": 10, "search": "signups"})
    assert [i["id"] for i in items] == list(range(1, 58))
    assert all(page["count"] == 57 for page in seen)
    assert len(seen) == 6
    assert all(r.params["search"] == "signups" for r in fake.tool_requests())


async def test_offset_pages_without_count_yield_every_stats_row_once() -> None:
    everything = [stats_row(n) for n in range(23)]
    fake = FakePostHog().on("GET", "elements/stats/", offset_pages(everything, with_count=False))
    async with connect(fake) as client:
        items, seen = await walk(client, "elements-stats-retrieve", {"limit": 5})
    assert [row["hash"] for row in items] == [row["hash"] for row in everything]
    assert all(page["count"] is None for page in seen)


async def test_an_older_server_answering_stats_with_a_bare_list_is_paged_here() -> None:
    everything = [stats_row(n) for n in range(12)]
    fake = FakePostHog().on("GET", "elements/stats/", everything)
    async with connect(fake) as client:
        items, seen = await walk(client, "elements-stats-retrieve", {"limit": 5})
    assert [row["hash"] for row in items] == [row["hash"] for row in everything]
    assert [len(page["results"]) for page in seen] == [5, 5, 2]


async def test_numbered_pages_yield_every_activity_entry_once() -> None:
    everything = [activity(n) for n in range(33)]
    fake = FakePostHog().on("GET", r"insights/12/activity/", numbered_pages(everything))
    async with connect(fake) as client:
        items, seen = await walk(client, "insights-activity-retrieve", {"id": 12, "limit": 7, "include_values": True})
    assert [i["detail"]["changes"][0]["before"] for i in items] == [f"Old {n}" for n in range(33)]
    assert seen[0]["count"] == 33
    assert [r.params["page"] for r in fake.tool_requests()] == ["1", "2", "3", "4", "5"]


async def test_a_bare_list_is_one_page() -> None:
    fake = FakePostHog().on("GET", "elements/values/", [{"name": f"v{n}"} for n in range(100)])
    async with connect(fake) as client:
        items, seen = await walk(client, "elements-values-list", {"key": "tag_name"})
    assert len(items) == 100 and len(seen) == 1 and seen[0]["count"] == 100


async def test_a_page_over_the_response_budget_is_cut_and_resumes_at_the_first_item_left_out() -> None:
    everything = [insight(n, basic=True) for n in range(1, 41)]
    fake = FakePostHog(scopes=INSIGHTS_ONLY).on("GET", "insights/", offset_pages(everything))
    async with connect(fake, response_budget=3000) as client:
        items, seen = await walk(client, "insights-list", {"limit": 20})
    assert [i["id"] for i in items] == list(range(1, 41))
    assert len(seen) > 2
    assert all(len(json.dumps(page, separators=(",", ":"))) <= 3000 for page in seen)
    offsets = [int(r.params["offset"]) for r in fake.tool_requests()]
    assert offsets == sorted(set(offsets)) and offsets[0] == 0


async def test_a_numbered_page_cut_by_the_budget_resumes_inside_the_page() -> None:
    everything = [activity(n) for n in range(12)]
    fake = FakePostHog().on("GET", r"insights/12/activity/", numbered_pages(everything))
    async with connect(fake, response_budget=1000) as client:
        items, _ = await walk(client, "insights-activity-retrieve", {"id": 12, "limit": 6, "include_values": True})
    assert [i["detail"]["changes"][0]["before"] for i in items] == [f"Old {n}" for n in range(12)]


async def test_an_object_over_the_budget_has_its_largest_field_shortened_with_a_note() -> None:
    big = insight(12, result=[{"data": list(range(3000)), "label": f"series {n}"} for n in range(5)])
    fake = FakePostHog().on("GET", "insights/12/", big)
    async with connect(fake, response_budget=20_000) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert len(json.dumps(result, separators=(",", ":"), ensure_ascii=False)) <= 20_000
    assert "result: first" in result["truncated"]
    assert "POSTHOG_MCP_RESPONSE_BUDGET" in result["truncated"]
    assert result["short_id"] == "Ab000012"


async def test_one_long_series_keeps_its_type_and_its_data_and_days_aligned_when_shortened() -> None:
    hours = 24 * 120
    long_series = {
        "data": [float(n % 97) for n in range(hours)],
        "days": [f"h{n}" for n in range(hours)],
        "count": 1.0,
        "label": "$pageview",
    }
    fake = FakePostHog().on("GET", "insights/12/", insight(12, result=[long_series]))
    async with connect(fake, response_budget=10_000) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert len(json.dumps(result, separators=(",", ":"), ensure_ascii=False)) <= 10_000
    (series,) = result["result"]
    kept = len(series["data"])
    assert 0 < kept < hours
    # Cut alike, then given once beside the results.
    assert result["days"] == [f"h{n}" for n in range(kept)]
    assert series["label"] == "$pageview"
    assert f"result[0].days: first {kept} of {hours} items (and data alike)" in result["truncated"]


async def test_a_cursor_from_another_tool_is_refused_without_a_request() -> None:
    fake = FakePostHog()
    cursor = encode_cursor("elements-list", Walk(arguments_digest({}), Position(), {}), Position(100))
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insights-list", {"cursor": cursor}))
    assert "issued by 'elements-list'" in text
    assert fake.tool_requests() == []


async def test_a_cursor_presented_with_other_arguments_is_refused() -> None:
    fake = FakePostHog(scopes=INSIGHTS_ONLY).on(
        "GET", "insights/", offset_pages([insight(n, basic=True) for n in range(30)])
    )
    async with connect(fake) as client:
        first = payload(await client.call_tool("insights-list", {"search": "a", "limit": 10}))
        text = error_text(await client.call_tool("insights-list", {"search": "b", "cursor": first["next_cursor"]}))
    assert "issued for other arguments" in text
    assert len(fake.tool_requests()) == 1


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"v":1,"t":"insights-list","a":"x","o":-5}').decode(),
        base64.urlsafe_b64encode(b"[1,2]").decode(),
    ],
)
async def test_a_garbled_or_forged_cursor_is_a_clear_error_and_no_request(cursor: str) -> None:
    fake = FakePostHog()
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insights-list", {"cursor": cursor}))
    assert "Invalid cursor" in text
    assert fake.tool_requests() == []


async def test_a_forged_position_out_of_range_is_refused() -> None:
    fake = FakePostHog()
    cursor = encode_cursor("elements-list", Walk(arguments_digest({}), Position(), {}), Position(10**9))
    async with connect(fake) as client:
        text = error_text(await client.call_tool("elements-list", {"cursor": cursor}))
    assert "out of range" in text
    assert fake.tool_requests() == []


async def test_raw_next_urls_never_reach_the_model() -> None:
    fake = FakePostHog().on("GET", "elements/", offset_pages([element(n) for n in range(1, 30)]))
    async with connect(fake) as client:
        page = payload(await client.call_tool("elements-list", {"limit": 10}))
    assert "http" not in json.dumps(page)
    assert set(page) == {"results", "count", "next_cursor"}


async def test_a_walk_through_insights_sees_each_once_while_an_insight_not_yet_seen_is_edited() -> None:
    # The sandbox orders like PostHog's InsightViewSet.order_queryset (posthog/api/insight.py): an edit bumps
    # last_modified_at, so in that order the edited insight would jump ahead of the walk and be missed.
    app = App.create(
        Settings(api_key=LEGACY_KEY, posthog_host="http://sandbox.test", project_id=DEMO_PROJECT_ID),
        transport=embedded_transport(),
    )
    try:
        async with Client(build_server(app)) as client:
            everything, _ = await walk(client, "insights-list", {"limit": 500})
            first = payload(await client.call_tool("insights-list", {"limit": 3}))
            seen = {item["id"] for item in first["results"]}
            unseen = next(item["id"] for item in reversed(everything) if item["id"] not in seen)
            payload(await client.call_tool("insight-update", {"id": unseen, "name": "Edited during the walk"}))
            rest, _ = await walk(client, "insights-list", {"limit": 3, "cursor": first["next_cursor"]})
    finally:
        await app.aclose()
    walked = [item["id"] for item in first["results"] + rest]
    assert len(everything) > 6
    assert sorted(walked) == sorted(item["id"] for item in everything)


@pytest.mark.parametrize(
    ("tool", "path", "arguments"),
    [
        ("insights-list", "insights/", {}),
        ("elements-stats-retrieve", "elements/stats/", {}),
        ("insights-activity-retrieve", r"insights/12/activity/", {"id": 12}),
    ],
)
async def test_an_empty_page_that_claims_more_ends_the_list_with_a_note(
    tool: str, path: str, arguments: dict[str, Any]
) -> None:
    empty = {"results": [], "next": "https://x/?offset=100", "previous": None, "count": 5, "total_count": 5}
    fake = FakePostHog().on("GET", path, empty)
    async with connect(fake) as client:
        page = payload(await client.call_tool(tool, arguments))
    assert page["results"] == [] and page["next_cursor"] is None
    assert "PostHog said more items follow but sent none" in page["note"]


async def test_a_short_numbered_page_that_links_to_another_moves_on_to_that_page() -> None:
    pages = {
        "1": {"results": [activity(0), activity(1)], "next": "https://x/?page=2", "previous": None, "total_count": 7},
        "2": {"results": [activity(5), activity(6)], "next": None, "previous": None, "total_count": 7},
    }
    fake = FakePostHog().on(
        "GET", r"insights/12/activity/", lambda request: httpx.Response(200, json=pages[request.url.params["page"]])
    )
    async with connect(fake) as client:
        items, seen = await walk(client, "insights-activity-retrieve", {"id": 12, "limit": 5, "include_values": True})
    assert [i["detail"]["changes"][0]["before"] for i in items] == ["Old 0", "Old 1", "Old 5", "Old 6"]
    assert [r.params["page"] for r in fake.tool_requests()] == ["1", "2"]
    assert len({page["next_cursor"] for page in seen}) == len(seen)


async def test_a_cursor_alone_fetches_the_next_page_with_the_arguments_it_was_issued_for() -> None:
    fake = FakePostHog(scopes=INSIGHTS_ONLY).on(
        "GET", "insights/", offset_pages([insight(n, basic=True) for n in range(30)])
    )
    async with connect(fake) as client:
        first = payload(await client.call_tool("insights-list", {"search": "signup", "insight": "TRENDS", "limit": 4}))
        second = payload(await client.call_tool("insights-list", {"cursor": first["next_cursor"]}))
    opening, following = fake.tool_requests()
    assert following.params == {**opening.params, "offset": "4"}
    assert following.params["search"] == "signup" and following.params["insight"] == "TRENDS"
    assert len(second["results"]) == 4


async def test_a_cursor_alone_may_change_the_limit() -> None:
    fake = FakePostHog(scopes=INSIGHTS_ONLY).on(
        "GET", "insights/", offset_pages([insight(n, basic=True) for n in range(30)])
    )
    async with connect(fake) as client:
        first = payload(await client.call_tool("insights-list", {"search": "a", "limit": 4}))
        payload(await client.call_tool("insights-list", {"cursor": first["next_cursor"], "limit": 10}))
    assert fake.tool_requests()[1].params == {**fake.tool_requests()[0].params, "offset": "4", "limit": "10"}


async def test_arguments_too_large_to_carry_must_be_repeated_beside_the_cursor() -> None:
    tags = [f"{n:02d}" + "t" * 78 for n in range(10)]
    fake = FakePostHog(scopes=INSIGHTS_ONLY).on(
        "GET", "insights/", offset_pages([insight(n, basic=True) for n in range(30)])
    )
    async with connect(fake) as client:
        first = payload(await client.call_tool("insights-list", {"tags": tags, "limit": 4}))
        alone = error_text(await client.call_tool("insights-list", {"cursor": first["next_cursor"]}))
        repeated = payload(
            await client.call_tool("insights-list", {"tags": tags, "limit": 4, "cursor": first["next_cursor"]})
        )
    assert "too large to carry" in alone and "repeat them exactly" in alone
    assert len(first["next_cursor"]) < 200
    assert len(repeated["results"]) == 4
    assert len(fake.tool_requests()) == 2


@pytest.mark.parametrize(
    ("carried", "says"),
    [({"limit": 100_000}, "limit"), ({"evil": 1}, "unknown argument 'evil'"), ({"short_id": "../../x"}, "short_id")],
)
async def test_arguments_a_hand_made_cursor_carries_are_validated_like_fresh_ones(
    carried: dict[str, Any], says: str
) -> None:
    state = {"v": 2, "t": "insights-list", "a": "0" * 16, "o": 0, "q": carried}
    cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    fake = FakePostHog()
    async with connect(fake) as client:
        text = error_text(await client.call_tool("insights-list", {"cursor": cursor}))
    assert "Invalid arguments for insights-list" in text and says in text
    assert fake.tool_requests() == []
