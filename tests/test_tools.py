"""Every tool: the request PostHog receives and the result the model sees."""

from __future__ import annotations

import httpx
import pytest

from mcp_server import __version__
from tests.conftest import HOST, KEY, PREFIX, FakePostHog, connect, payload
from tests.posthog_json import USER, activity, element, insight, offset_page, series, stats_row

pytestmark = pytest.mark.anyio


async def test_insights_list_asks_for_basic_insights_with_filters_and_returns_summaries(
    fake: FakePostHog, mode: str
) -> None:
    fake.scopes = ["insight:read"]  # without dashboard:read, dashboards stay bare ids
    fake.on("GET", "insights/", offset_page([insight(1, basic=True), insight(3, basic=True)], 0, 20))
    async with connect(fake, mode) as client:
        result = payload(
            await client.call_tool(
                "insights-list", {"search": "signups", "tags": ["growth"], "insight": "TRENDS", "favorited": True}
            )
        )
    (seen,) = fake.tool_requests()
    assert seen.route == f"GET {PREFIX}insights/"
    assert seen.params == {
        "basic": "true",
        "search": "signups",
        "tags": '["growth"]',
        "insight": "TRENDS",
        "favorited": "true",
        "limit": "20",
        "offset": "0",
    }
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["x-posthog-client"] == "mcp"
    assert seen.headers["user-agent"].startswith(f"posthog-mcp/{__version__}")
    assert result["count"] == 2
    assert result["next_cursor"] is None
    first = result["results"][0]
    # favorited false and saved true are the usual values, left out; dates are days; the creator is named once.
    assert first == {
        "id": 1,
        "short_id": "Ab000001",
        "name": "Weekly signups 1",
        "kind": "TrendsQuery",
        "tags": ["growth", "weekly-review"],
        "dashboards": [3, 9],
        "created_by": 7,
        "created_at": "2026-10-01",
        "last_modified_at": "2026-11-25",
        "last_viewed_at": "2026-11-26",
    }
    assert result["results"][1]["name"] == "Pageview count 3"
    assert result["url_template"] == f"{HOST}/project/42/insights/{{short_id}}"
    assert result["users"] == {"7": "Ada Lovelace"}


async def test_insights_list_gives_only_the_unusual_favorited_and_saved_values(fake: FakePostHog) -> None:
    usual, unusual = insight(1, basic=True), {**insight(2, basic=True), "favorited": True, "saved": False}
    fake.on("GET", "insights/", offset_page([usual, unusual], 0, 20))
    async with connect(fake) as client:
        first, second = payload(await client.call_tool("insights-list", {}))["results"]
    assert "favorited" not in first and "saved" not in first
    assert (second["favorited"], second["saved"]) == (True, False)


async def test_insights_list_names_each_creator_once_by_name_or_else_email(fake: FakePostHog) -> None:
    nameless = {"id": 8, "first_name": "", "last_name": "", "email": "ops@hedgebox.net"}
    items = [insight(1, basic=True), insight(2, basic=True), {**insight(3, basic=True), "created_by": nameless}]
    fake.on("GET", "insights/", offset_page([*items, {**insight(4, basic=True), "created_by": None}], 0, 20))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-list", {}))
    assert [item.get("created_by") for item in result["results"]] == [7, 7, 8, None]
    assert result["users"] == {"7": "Ada Lovelace", "8": "ops@hedgebox.net"}


async def test_an_empty_insights_page_has_no_url_template_or_users(fake: FakePostHog) -> None:
    fake.on("GET", "insights/", offset_page([], 0, 20))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-list", {}))
    assert result == {"results": [], "count": 0, "next_cursor": None}


async def test_recently_viewed_insights_share_the_lists_url_template(fake: FakePostHog) -> None:
    fake.on("GET", "insights/my_last_viewed/", [insight(5, basic=True)])
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-my-last-viewed", {}))
    (only,) = result["results"]
    assert "url" not in only
    assert result["url_template"].replace("{short_id}", only["short_id"]) == f"{HOST}/project/42/insights/Ab000005"


async def test_insight_get_keeps_series_data_and_days_but_not_what_repeats_the_query(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", insight(12, result=[series()]))
    async with connect(fake) as client:
        got = payload(await client.call_tool("insight-get", {"id": 12}))
    (result,) = got["result"]
    assert set(result) == {"data", "label", "summary"}
    # Series over the same days give them once, beside the results.
    assert got["days"][0] == "2026-11-01"


async def test_insight_get_returns_query_and_results_without_cache_or_permission_fields(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", insight(12, result=[series()]))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"GET {PREFIX}insights/12/"
    assert seen.params == {}
    assert result["result"][0]["data"][:3] == [120, 157, 194]
    assert result["query"]["source"]["kind"] == "TrendsQuery"
    assert result["last_refresh"] == "2026-11-26T08:00:00Z"
    assert result["url"] == f"{HOST}/project/42/insights/Ab000012"
    for noise in (
        "cache_target_age",
        "is_cached",
        "effective_privilege_level",
        "user_access_level",
        "filters_hash",
        "hogql",
        "dashboard_tiles",
        "filters",
        "timezone",
        "next_allowed_client_refresh",
    ):
        assert noise not in result


async def test_insight_get_by_short_id_with_blocking_refresh_answers_fresh_results_in_one_request(
    fake: FakePostHog,
) -> None:
    fake.on("GET", "insights/Ab000012/", insight(12, result=[series()]))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": "Ab000012", "refresh": "blocking"}))
    (seen,) = fake.tool_requests()
    assert seen.params == {"refresh": "async"}
    assert result["result"]
    assert "client_query_id" not in result


async def test_an_async_refresh_names_its_computation_for_insight_query_cancel(fake: FakePostHog) -> None:
    running = {
        **insight(12),
        "result": None,
        "query_status": {"id": "ph-query-7", "complete": False, "query_async": True, "team_id": 42},
    }
    fake.on("GET", "insights/12/", running)
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12, "refresh": "async"}))
    (seen,) = fake.tool_requests()
    assert seen.params["refresh"] == "async"
    assert len(seen.params["client_query_id"]) == 36
    assert result["query_status"] == {"id": "ph-query-7", "complete": False}
    assert result["client_query_id"] == "ph-query-7"
    assert "note" not in result


async def test_an_async_refresh_returns_the_id_it_sent_when_posthog_reports_none(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", insight(12, result=[series()]))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12, "refresh": "lazy_async"}))
    assert result["client_query_id"] == fake.tool_requests()[0].params["client_query_id"]


async def test_insight_get_without_cached_results_says_how_to_compute_them(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", insight(12, result=None))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": "12"}))
    assert result["result"] is None
    assert "refresh=blocking" in result["note"]


async def test_insight_create_wraps_a_bare_trends_query_and_saves_by_default(fake: FakePostHog) -> None:
    fake.scopes = ["insight:write"]
    fake.on("POST", "insights/", lambda request: httpx.Response(201, json=insight(99)))
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-create", {"name": "Pageviews", "query": query}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"POST {PREFIX}insights/"
    assert seen.body == {"name": "Pageviews", "query": {"kind": "InsightVizNode", "source": query}, "saved": True}
    assert result["id"] == 99
    assert result["url"] == f"{HOST}/project/42/insights/Ab000099"
    assert "result" not in result


async def test_insight_create_wraps_a_bare_hogql_query_in_a_data_visualization_node(fake: FakePostHog) -> None:
    fake.scopes = ["insight:write"]
    fake.on("POST", "insights/", lambda request: httpx.Response(201, json=insight(5)))
    query = {"kind": "HogQLQuery", "query": "select count() from events"}
    async with connect(fake) as client:
        payload(await client.call_tool("insight-create", {"query": query, "saved": False}))
    (seen,) = fake.tool_requests()
    assert seen.body == {"query": {"kind": "DataVisualizationNode", "source": query}, "saved": False}


async def test_insight_update_sends_only_the_fields_given(fake: FakePostHog) -> None:
    fake.on("PATCH", "insights/12/", insight(12))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-update", {"id": 12, "name": "Renamed", "tags": []}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"PATCH {PREFIX}insights/12/"
    assert seen.body == {"name": "Renamed", "tags": []}
    assert result["short_id"] == "Ab000012"


async def test_insight_update_with_deleted_false_restores(fake: FakePostHog) -> None:
    fake.on("PATCH", "insights/12/", insight(12))
    async with connect(fake) as client:
        payload(await client.call_tool("insight-update", {"id": 12, "deleted": False}))
    assert fake.tool_requests()[0].body == {"deleted": False}


async def test_insight_delete_is_a_soft_delete_by_patch(fake: FakePostHog) -> None:
    fake.on("PATCH", "insights/12/", {**insight(12), "deleted": True})
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-delete", {"id": 12}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"PATCH {PREFIX}insights/12/"
    assert seen.body == {"deleted": True}
    assert result == {"ok": True, "id": 12, "short_id": "Ab000012", "name": "Pageview count 12", "deleted": True}


async def test_activity_uses_numbered_pages_and_leaves_values_out(fake: FakePostHog) -> None:
    fake.on(
        "GET", r"insights/12/activity/", {"results": [activity(1)], "next": None, "previous": None, "total_count": 1}
    )
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-activity-retrieve", {"id": 12}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"GET {PREFIX}insights/12/activity/"
    assert seen.params == {"limit": "20", "page": "1"}
    assert result == {
        "results": [
            {
                "activity": "updated",
                "created_at": "2026-11-02T10:00:00Z",
                "user": {"first_name": "Ada", "email": "ada@hedgebox.net"},
                "detail": {"name": "New", "short_id": "Ab000012", "changes": [{"action": "changed", "field": "name"}]},
            }
        ],
        "count": 1,
        "next_cursor": None,
    }


async def test_activity_with_include_values_keeps_before_and_after(fake: FakePostHog) -> None:
    fake.on("GET", r"insights/12/activity/", {"results": [activity(1)], "next": None, "total_count": 1})
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-activity-retrieve", {"id": 12, "include_values": True}))
    change = result["results"][0]["detail"]["changes"][0]
    assert change == {"action": "changed", "field": "name", "before": "Old 1", "after": "New"}
    assert "include_values" not in fake.tool_requests()[0].params


async def test_my_last_viewed_returns_a_bare_list_as_a_page(fake: FakePostHog) -> None:
    fake.on("GET", "insights/my_last_viewed/", [insight(n, basic=True) for n in (4, 2)])
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-my-last-viewed", {}))
    assert fake.tool_requests()[0].params == {}
    assert [i["id"] for i in result["results"]] == [4, 2]
    assert result["count"] == 2
    assert result["next_cursor"] is None


async def test_mark_viewed_posts_ids_and_acknowledges_the_empty_answer(fake: FakePostHog) -> None:
    fake.on("POST", "insights/viewed/", httpx.Response(201))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-mark-viewed", {"insight_ids": [1, 2]}))
    assert fake.tool_requests()[0].body == {"insight_ids": [1, 2]}
    assert result == {"ok": True, "insight_ids": [1, 2]}


async def test_generate_metadata_sends_the_wrapped_query(fake: FakePostHog) -> None:
    fake.on("POST", "insights/generate_metadata/", {"name": "Daily pageviews", "description": "Pageviews per day"})
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-generate-metadata", {"query": query}))
    assert fake.tool_requests()[0].body == {"query": {"kind": "InsightVizNode", "source": query}}
    assert result == {"name": "Daily pageviews", "description": "Pageviews per day"}


async def test_query_cancel_with_a_legacy_key_posts_the_client_query_id(fake: FakePostHog) -> None:
    fake.scopes = []
    fake.on("POST", "insights/cancel/", httpx.Response(201))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-query-cancel", {"client_query_id": "q-123"}))
    assert [r.route for r in fake.tool_requests()] == [f"POST {PREFIX}insights/cancel/"]
    assert fake.tool_requests()[0].body == {"client_query_id": "q-123"}
    assert result == {"ok": True, "client_query_id": "q-123"}


async def test_query_cancel_with_a_scoped_key_deletes_the_query(fake: FakePostHog) -> None:
    """posthog/api/query.py: DELETE query/{id}/ is a query:read action and answers 200 {"message": ...}."""
    fake.scopes = ["query:read"]
    fake.on("DELETE", "query/q-123/", {"message": "Query cancelled"})
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-query-cancel", {"client_query_id": "q-123"}))
    assert [r.route for r in fake.tool_requests()] == [f"DELETE {PREFIX}query/q-123/"]
    assert result == {"ok": True, "message": "Query cancelled", "client_query_id": "q-123"}


async def test_query_cancel_with_an_all_access_key_deletes_the_query(fake: FakePostHog) -> None:
    fake.on("DELETE", "query/q-9/", {"message": "Query cancelled"})
    async with connect(fake) as client:
        payload(await client.call_tool("insight-query-cancel", {"client_query_id": "q-9"}))
    assert [r.route for r in fake.tool_requests()] == [f"DELETE {PREFIX}query/q-9/"]


async def test_elements_list_pages_by_offset(fake: FakePostHog) -> None:
    fake.on("GET", "elements/", offset_page([element(n) for n in range(1, 4)], 0, 100))
    async with connect(fake) as client:
        result = payload(await client.call_tool("elements-list", {}))
    assert fake.tool_requests()[0].params == {"limit": "100", "offset": "0"}
    assert result["count"] == 3
    assert result["results"][0] == {
        "text": "Sign up 1",
        "tag_name": "button",
        "attr_class": ["btn", "btn-primary"],
        "nth_child": 2,
        "nth_of_type": 1,
        "attributes": {"attr__data-attr": "signup-1"},
        "order": 0,
    }


async def test_element_get(fake: FakePostHog) -> None:
    fake.on("GET", "elements/5/", element(5))
    async with connect(fake) as client:
        result = payload(await client.call_tool("element-get", {"id": 5}))
    assert fake.tool_requests()[0].route == f"GET {PREFIX}elements/5/"
    assert result["text"] == "Sign up 5"


async def test_element_create_posts_the_fields(fake: FakePostHog) -> None:
    fake.on("POST", "elements/", lambda request: httpx.Response(201, json={**element(8), "text": "Buy"}))
    async with connect(fake) as client:
        result = payload(await client.call_tool("element-create", {"tag_name": "a", "text": "Buy", "href": "/buy"}))
    assert fake.tool_requests()[0].body == {"tag_name": "a", "text": "Buy", "href": "/buy"}
    assert result["text"] == "Buy"
    assert "id" not in result


async def test_element_update_patches_the_fields(fake: FakePostHog) -> None:
    fake.on("PATCH", "elements/8/", element(8))
    async with connect(fake) as client:
        payload(await client.call_tool("element-update", {"id": 8, "text": "Buy now"}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"PATCH {PREFIX}elements/8/"
    assert seen.body == {"text": "Buy now"}


async def test_element_delete_acknowledges_the_empty_answer(fake: FakePostHog) -> None:
    fake.on("DELETE", "elements/8/", httpx.Response(204))
    async with connect(fake) as client:
        result = payload(await client.call_tool("element-delete", {"id": 8}))
    (seen,) = fake.tool_requests()
    assert seen.route == f"DELETE {PREFIX}elements/8/"
    assert seen.body is None
    assert result == {"ok": True, "id": 8, "deleted": True}


async def test_stats_always_asks_for_a_paginated_small_page(fake: FakePostHog) -> None:
    fake.on("GET", "elements/stats/", offset_page([stats_row(n) for n in range(3)], 0, 50, with_count=False))
    async with connect(fake) as client:
        result = payload(
            await client.call_tool(
                "elements-stats-retrieve",
                {
                    "include": ["$rageclick", "$dead_click"],
                    "date_from": "-30d",
                    "filter_test_accounts": True,
                    "properties": [{"key": "$current_url", "value": "/pricing", "operator": "icontains"}],
                },
            )
        )
    (seen,) = fake.tool_requests()
    assert seen.params == {
        "paginate_response": "true",
        "include": '["$rageclick","$dead_click"]',
        "date_from": "-30d",
        "filter_test_accounts": "true",
        "properties": '[{"key":"$current_url","value":"/pricing","operator":"icontains"}]',
        "limit": "50",
        "offset": "0",
    }
    assert result["count"] is None
    assert result["results"][0]["count"] == 1000
    assert result["results"][0]["elements"][1] == {
        "tag_name": "div",
        "nth_child": 2,
        "nth_of_type": 1,
        "attributes": {"attr__class": "btn btn-primary", "attr__data-attr": "signup-0"},
        "order": 1,
    }


async def test_values_sends_key_and_value(fake: FakePostHog) -> None:
    fake.on("GET", "elements/values/", [{"name": "Sign up"}, {"name": "Sign in"}])
    async with connect(fake) as client:
        result = payload(await client.call_tool("elements-values-list", {"key": "text", "value": "Sign"}))
    assert fake.tool_requests()[0].params == {"key": "text", "value": "Sign"}
    assert result == {"results": [{"name": "Sign up"}, {"name": "Sign in"}], "count": 2, "next_cursor": None}


async def test_created_by_user_object_is_reduced() -> None:
    from mcp_server.shaping import user_summary

    assert user_summary(USER) == {"id": 7, "name": "Ada Lovelace", "email": "ada@hedgebox.net"}
