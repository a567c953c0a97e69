"""Insights: the list envelope and filters, retrieve and refresh modes, create, update, soft delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mcp_server.sandbox.state import Sandbox
from tests.sandbox.conftest import BASE, PROJECT, Api

pytestmark = pytest.mark.anyio

LIVE_INSIGHTS = 36
DELETED_ID = 137
STAGING_ID = 138
UNCOMPUTED_ID = 134
FULL_FIELDS = [
    "id",
    "short_id",
    "name",
    "derived_name",
    "filters",
    "query",
    "order",
    "deleted",
    "dashboards",
    "dashboard_tiles",
    "last_refresh",
    "cache_target_age",
    "next_allowed_client_refresh",
    "result",
    "hasMore",
    "columns",
    "created_at",
    "created_by",
    "description",
    "updated_at",
    "tags",
    "favorited",
    "saved",
    "last_modified_at",
    "last_modified_by",
    "is_sample",
    "effective_restriction_level",
    "effective_privilege_level",
    "user_access_level",
    "timezone",
    "is_cached",
    "query_status",
    "hogql",
    "types",
    "resolved_date_range",
    "alerts",
    "last_viewed_at",
    "filters_hash",
]
BASIC_FIELDS = [
    "id",
    "short_id",
    "name",
    "derived_name",
    "filters",
    "query",
    "dashboards",
    "dashboard_tiles",
    "description",
    "last_refresh",
    "refreshing",
    "saved",
    "tags",
    "updated_at",
    "created_by",
    "created_at",
    "last_modified_at",
    "favorited",
    "user_access_level",
    "last_viewed_at",
]
TRENDS = {
    "kind": "TrendsQuery",
    "series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}],
    "dateRange": {"date_from": "-14d"},
}
VIZ = {"kind": "InsightVizNode", "source": TRENDS}


async def names(api: Api, **params: Any) -> list[str]:
    response = await api().get(PROJECT + "insights/", params={"basic": "true", **params})
    assert response.status_code == 200, response.text
    return [item["name"] or item["derived_name"] for item in response.json()["results"]]


async def test_the_list_is_a_limit_offset_envelope_of_every_live_insight(api: Api) -> None:
    body = (await api().get(PROJECT + "insights/")).json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == LIVE_INSIGHTS
    assert len(body["results"]) == LIVE_INSIGHTS
    assert (body["next"], body["previous"]) == (None, None)


async def test_list_pages_link_with_absolute_urls_like_drf(api: Api) -> None:
    body = (await api().get(PROJECT + "insights/?basic=true&limit=5&offset=5")).json()
    assert body["next"] == f"{BASE}{PROJECT}insights/?basic=true&limit=5&offset=10"
    assert body["previous"] == f"{BASE}{PROJECT}insights/?basic=true&limit=5"
    last = (await api().get(PROJECT + "insights/?basic=true&limit=5&offset=35")).json()
    assert last["next"] is None
    assert last["previous"] == f"{BASE}{PROJECT}insights/?basic=true&limit=5&offset=30"


async def test_a_bad_limit_falls_back_to_the_default_page_of_100(api: Api) -> None:
    body = (await api().get(PROJECT + "insights/?basic=true&limit=zero")).json()
    assert len(body["results"]) == LIVE_INSIGHTS


async def test_list_items_carry_the_full_serializer_fields_in_order(api: Api) -> None:
    item = (await api().get(PROJECT + "insights/?limit=1")).json()["results"][0]
    assert list(item) == FULL_FIELDS


async def test_basic_list_items_carry_only_the_basic_serializer_fields(api: Api) -> None:
    item = (await api().get(PROJECT + "insights/?limit=1&basic=true")).json()["results"][0]
    assert list(item) == BASIC_FIELDS


async def test_the_default_order_is_posthogs_order_field_not_recency(api: Api) -> None:
    # PostHog orders by its mostly-null `order` field by default, so clients must ask for an order themselves.
    items = (await api().get(PROJECT + "insights/?basic=true")).json()["results"]
    stamps = [item["last_modified_at"] for item in items]
    assert stamps != sorted(stamps, reverse=True)
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)


@pytest.mark.parametrize("order", ["name", "-name", "created_at", "-created_at", "last_modified_at"])
async def test_order_sorts_by_the_named_field(api: Api, order: str) -> None:
    items = (await api().get(PROJECT + "insights/", params={"basic": "true", "order": order})).json()["results"]
    field = order.removeprefix("-")
    values = [item[field] for item in items if item[field] is not None]
    key = str.casefold if field == "name" else str
    assert values == sorted(values, key=key, reverse=order.startswith("-"))


async def test_order_by_last_viewed_descending_puts_never_viewed_last(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/?basic=true&order=-last_viewed_at")).json()["results"]
    viewed = [item["last_viewed_at"] for item in items]
    assert all(stamp is not None for stamp in viewed[:30])
    assert viewed == sorted(viewed, key=lambda v: (v is not None, v or ""), reverse=True)


async def test_an_unknown_order_field_fails_as_postgres_would(api: Api) -> None:
    response = await api().get(PROJECT + "insights/?order=colour")
    assert response.status_code == 500
    assert response.json()["type"] == "server_error"


async def test_search_puts_exact_matches_before_similar_ones(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/?basic=true&search=weekly active")).json()["results"]
    matches = {item["name"]: item["search_match_type"] for item in items}
    assert items[0]["name"] == "Weekly active users"
    assert matches["Weekly active users"] == "exact"
    assert matches["Lifecycle of active users"] == "similar"
    assert [item["search_match_type"] for item in items] == sorted(
        (item["search_match_type"] for item in items), key=lambda match: match != "exact"
    )


async def test_search_looks_in_descriptions_and_tags_case_insensitively(api: Api) -> None:
    assert "Pageviews by browser" in await names(api, search="SAFARI")
    assert set(await names(api, search="sql")) == {
        "Top pages last 7 days",
        "Revenue by plan",
        "Most active sharers this month",
    }


async def test_a_search_longer_than_200_characters_is_refused(api: Api) -> None:
    response = await api().get(PROJECT + "insights/", params={"search": "x" * 201})
    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "Search query must be 200 characters or fewer.",
        "attr": "search",
    }


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("TRENDS", 19),
        ("FUNNELS", 5),
        ("RETENTION", 3),
        ("PATHS", 2),
        ("STICKINESS", 2),
        ("LIFECYCLE", 2),
        ("SQL", 3),
        ("JSON", 0),
    ],
)
async def test_the_insight_filter_selects_by_query_kind(api: Api, kind: str, count: int) -> None:
    assert len(await names(api, insight=kind)) == count


async def test_saved_false_lists_only_unsaved_drafts(api: Api) -> None:
    assert sorted(await names(api, saved="false")) == ["Pageview count", "deleted_file count"]


async def test_favorited_lists_only_favorites(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/?basic=true&favorited=true")).json()["results"]
    assert items and all(item["favorited"] for item in items)


async def test_user_lists_what_the_key_owner_created(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/?basic=true&user=true")).json()["results"]
    assert items and {item["created_by"]["email"] for item in items} == {"ava@hedgebox.example"}


async def test_created_by_takes_a_json_list_of_user_ids(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/", params={"basic": "true", "created_by": "[2, 3]"})).json()
    assert {item["created_by"]["id"] for item in items["results"]} == {2, 3}


async def test_tags_match_any_of_the_listed_tags(api: Api) -> None:
    items = (await api().get(PROJECT + "insights/", params={"basic": "true", "tags": '["ux", "sql"]'})).json()
    assert all({"ux", "sql"} & set(item["tags"]) for item in items["results"])
    assert len(items["results"]) == 5


async def test_a_filter_that_is_not_json_fails_as_posthog_does(api: Api) -> None:
    response = await api().get(PROJECT + "insights/", params={"tags": "ux"})
    assert response.status_code == 500


async def test_dashboards_must_all_hold_the_insight(api: Api) -> None:
    on_one = set(await names(api, dashboards="[1]"))
    on_both = set(await names(api, dashboards="[1, 4]"))
    assert on_both == {"Weekly active users"}
    assert on_both < on_one


async def test_date_filters_compare_last_modified_created_and_last_viewed(api: Api) -> None:
    recent = (await api().get(PROJECT + "insights/?basic=true&date_from=-5d&order=-last_modified_at")).json()["results"]
    assert recent and all(item["last_modified_at"] >= recent[-1]["last_modified_at"] for item in recent)
    assert len(recent) < LIVE_INSIGHTS
    new = await names(api, created_date_from="-13d")
    assert set(new) == {"Pageview count", "deleted_file count", "Team invites per week", "Cancelled subscriptions"}
    old = await names(api, created_date_to="2000-01-01")
    assert old == []
    viewed_today = await names(api, last_viewed_date_from="-3h")
    assert "Pageviews this week vs last week" in viewed_today
    assert len(viewed_today) < LIVE_INSIGHTS


async def test_short_id_filters_to_one_insight(api: Api) -> None:
    short_id = (await api().get(PROJECT + "insights/101/")).json()["short_id"]
    assert await names(api, short_id=short_id) == ["Weekly active users"]


async def test_deleted_insights_never_appear_and_cannot_be_retrieved(api: Api) -> None:
    listed = (await api().get(PROJECT + "insights/?basic=true")).json()["results"]
    assert DELETED_ID not in [item["id"] for item in listed]
    assert (await api().get(f"{PROJECT}insights/{DELETED_ID}/")).status_code == 404


async def test_retrieve_takes_the_numeric_id_or_the_short_id(api: Api) -> None:
    by_id = (await api().get(PROJECT + "insights/101/")).json()
    by_short_id = (await api().get(f"{PROJECT}insights/{by_id['short_id']}/")).json()
    assert by_short_id["id"] == 101
    assert list(by_id) == FULL_FIELDS
    assert by_id["last_viewed_at"] is None


async def test_an_insight_of_another_project_is_not_found(api: Api) -> None:
    response = await api().get(f"{PROJECT}insights/{STAGING_ID}/")
    assert response.status_code == 404
    assert response.json() == {"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": None}


async def test_retrieve_serves_the_cached_result_by_default(api: Api) -> None:
    body = (await api().get(PROJECT + "insights/102/")).json()
    assert body["is_cached"] is True
    assert body["last_refresh"] and body["cache_target_age"] and body["next_allowed_client_refresh"]
    series = body["result"][0]
    assert {"data", "labels", "days", "count", "label", "action"} <= set(series)
    assert series["label"] == "signed_up"
    assert series["count"] == sum(series["data"])


async def test_a_never_computed_insight_has_no_result_until_asked(api: Api) -> None:
    body = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/")).json()
    assert (body["result"], body["last_refresh"], body["is_cached"], body["timezone"]) == (None, None, False, None)


async def test_blocking_refresh_computes_and_caches_the_same_numbers_each_time(api: Api) -> None:
    computed = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=blocking")).json()
    cached = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/")).json()
    again = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=force_blocking")).json()
    assert computed["is_cached"] is False and computed["timezone"] == "UTC"
    assert computed["result"] and cached["result"] == computed["result"]
    assert cached["is_cached"] is True
    assert again["result"][0]["data"] == computed["result"][0]["data"]


async def test_unknown_refresh_values_only_read_the_cache(api: Api) -> None:
    body = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=sometimes")).json()
    assert (body["result"], body["timezone"]) == (None, None)


async def test_async_refresh_answers_a_running_query_status_then_the_result(api: Api, sandbox: Sandbox) -> None:
    started = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=async")).json()
    status = started["query_status"]
    assert (len(status["id"]), status["query_async"], status["complete"]) == (36, True, False)
    assert started["result"] is None
    meanwhile = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/")).json()
    assert meanwhile["result"] is None and meanwhile["query_status"]["id"] == status["id"]
    later = sandbox.now() + timedelta(seconds=sandbox.async_seconds + 1)
    sandbox.clock = lambda: later
    done = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/")).json()
    assert done["result"] and done["query_status"] is None and done["is_cached"] is True


async def test_a_running_computation_is_known_by_posthogs_id_not_the_client_query_id(api: Api) -> None:
    """posthog/api/insight.py: client_query_id on retrieve only labels an error's query_status."""
    body = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=force_async&client_query_id=mine")).json()
    assert body["query_status"]["id"] != "mine" and len(body["query_status"]["id"]) == 36


async def test_a_cancelled_computation_never_delivers_its_result(api: Api, sandbox: Sandbox) -> None:
    started = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=async")).json()
    query_id = started["query_status"]["id"]
    cancelled = await api().post(PROJECT + "insights/cancel/", json={"client_query_id": query_id})
    later = sandbox.now() + timedelta(seconds=60)
    sandbox.clock = lambda: later
    body = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/")).json()
    assert (cancelled.status_code, cancelled.content) == (201, b"")
    assert body["result"] is None and body["query_status"] is None


@pytest.mark.parametrize(
    "refresh",
    ["async", "async_except_on_cache_miss", "blocking", "force_async", "force_blocking", "force_cache", "lazy_async"],
)
async def test_every_refresh_type_posthog_lists_is_served(api: Api, refresh: str) -> None:
    """RefreshType in posthog/schema.py: each mode answers the insight, computing, starting or reading the cache."""
    body = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh={refresh}")).json()
    assert body["id"] == UNCOMPUTED_ID
    assert (body["result"] is not None) or (body["query_status"] is not None) or refresh == "force_cache"


async def test_create_answers_201_with_the_insight_unsaved_unless_asked(api: Api) -> None:
    response = await api().post(PROJECT + "insights/", json={"name": "Uploads", "query": VIZ, "tags": ["b", "a"]})
    body = response.json()
    assert response.status_code == 201
    assert list(body) == FULL_FIELDS
    assert (body["name"], body["saved"], body["tags"], body["result"]) == ("Uploads", False, ["a", "b"], None)
    assert len(body["short_id"]) == 8
    assert body["created_by"]["id"] == 1
    assert (await api().get(f"{PROJECT}insights/{body['id']}/")).status_code == 200


async def test_create_records_a_view_for_the_creator(api: Api) -> None:
    created = (await api().post(PROJECT + "insights/", json={"name": "Fresh", "query": VIZ})).json()
    viewed = (await api().get(PROJECT + "insights/my_last_viewed/")).json()
    assert viewed[0]["id"] == created["id"]


async def test_create_attaches_the_listed_dashboards(api: Api) -> None:
    created = (await api().post(PROJECT + "insights/", json={"name": "On boards", "dashboards": [2, 3]})).json()
    assert created["dashboards"] == [2, 3]
    assert [tile["dashboard_id"] for tile in created["dashboard_tiles"]] == [2, 3]


async def test_patch_updates_only_what_it_names_and_marks_the_insight_saved(api: Api) -> None:
    response = await api().patch(f"{PROJECT}insights/{UNCOMPUTED_ID + 0}/", json={"description": "New words"})
    body = response.json()
    assert response.status_code == 200
    assert (body["description"], body["name"], body["saved"]) == ("New words", "Share links created per week", True)
    assert body["last_modified_by"]["id"] == 1


async def test_only_name_description_and_filters_bump_last_modified(api: Api, sandbox: Sandbox) -> None:
    """Insight.MATERIAL_INSIGHT_FIELDS in products/product_analytics/backend/models/insight.py."""
    before = (await api().get(PROJECT + "insights/102/")).json()["last_modified_at"]
    later = sandbox.now() + timedelta(minutes=5)
    sandbox.clock = lambda: later
    queried = (await api().patch(PROJECT + "insights/102/", json={"query": VIZ})).json()["last_modified_at"]
    renamed = (await api().patch(PROJECT + "insights/102/", json={"name": "Signups"})).json()["last_modified_at"]
    assert queried == before != renamed


async def test_patch_keeps_saved_false_when_the_body_says_so(api: Api) -> None:
    body = (await api().patch(PROJECT + "insights/132/", json={"saved": False, "name": "Draft"})).json()
    assert body["saved"] is False


async def test_dashboards_in_a_patch_replace_the_whole_list(api: Api) -> None:
    body = (await api().patch(PROJECT + "insights/101/", json={"dashboards": [2]})).json()
    assert body["dashboards"] == [2]


async def test_put_updates_like_patch(api: Api) -> None:
    response = await api().put(PROJECT + "insights/101/", json={"name": "WAU"})
    assert (response.status_code, response.json()["name"]) == (200, "WAU")


async def test_a_changed_query_drops_the_cached_result(api: Api) -> None:
    body = (await api().patch(PROJECT + "insights/102/", json={"query": VIZ})).json()
    assert body["result"] is None
    assert body["query"] == VIZ


async def test_soft_delete_hides_the_insight_and_restore_brings_it_back(api: Api) -> None:
    deleted = await api().patch(PROJECT + "insights/102/", json={"deleted": True})
    gone = await api().get(PROJECT + "insights/102/")
    listed = [i["id"] for i in (await api().get(PROJECT + "insights/?basic=true")).json()["results"]]
    restored = await api().patch(PROJECT + "insights/102/", json={"deleted": False})
    assert (deleted.status_code, deleted.json()["deleted"]) == (200, True)
    assert gone.status_code == 404 and 102 not in listed
    assert (restored.status_code, restored.json()["deleted"]) == (200, False)
    assert (await api().get(PROJECT + "insights/102/")).status_code == 200


async def test_a_deleted_insight_cannot_be_patched_except_to_restore_it(api: Api) -> None:
    response = await api().patch(f"{PROJECT}insights/{DELETED_ID}/", json={"name": "Back?"})
    assert response.status_code == 404


async def test_delete_is_refused_with_an_empty_405(api: Api) -> None:
    response = await api().delete(PROJECT + "insights/101/")
    assert (response.status_code, response.content) == (405, b"")
    assert (await api().get(PROJECT + "insights/101/")).status_code == 200


async def test_delete_still_needs_insight_write(api: Api) -> None:
    response = await api("read_only").delete(PROJECT + "insights/101/")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "attr", "detail", "code"),
    [
        ({"name": "x" * 401}, "name", "Ensure this field has no more than 400 characters.", "max_length"),
        ({"description": "x" * 401}, "description", "Ensure this field has no more than 400 characters.", "max_length"),
        ({"tags": "growth"}, "tags", 'Expected a list of items but got type "str".', "not_a_list"),
        ({"favorited": "maybe"}, "favorited", "Must be a valid boolean.", "invalid_input"),
        ({"dashboards": [999]}, "dashboards", 'Invalid pk "999" - object does not exist.', "does_not_exist"),
        ({"dashboards": ["x"]}, "dashboards", "Incorrect type. Expected pk value, received str.", "incorrect_type"),
        ({"dashboards": [6]}, None, "Dashboard not found", "invalid_input"),
    ],
)
async def test_invalid_fields_are_400_naming_the_field(
    api: Api, body: dict[str, Any], attr: str | None, detail: str, code: str
) -> None:
    """Limits from the Insight model (products/product_analytics/backend/models/insight.py): max_length 400."""
    response = await api().patch(PROJECT + "insights/101/", json=body)
    assert response.status_code == 400
    assert response.json() == {"type": "validation_error", "code": code, "detail": detail, "attr": attr}


async def test_a_body_that_is_not_json_is_a_parse_error(api: Api) -> None:
    response = await api().post(PROJECT + "insights/", content=b"{name:", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("client", [None, "mcp"])
@pytest.mark.parametrize("query", ["select 1", {"series": []}])
async def test_a_structurally_invalid_query_is_a_parse_error_for_every_client(
    api: Api, client: str | None, query: Any
) -> None:
    headers = {"X-PostHog-Client": client} if client else {}
    response = await api(**headers).post(PROJECT + "insights/", json={"name": "x", "query": query})
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_request"
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("1 validation error for QuerySchemaRoot")


async def test_mcp_clients_must_send_a_query_on_create(api: Api) -> None:
    response = await api(**{"X-PostHog-Client": "mcp"}).post(PROJECT + "insights/", json={"name": "No query"})
    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "code": "invalid_input",
        "detail": "This field is required.",
        "attr": "query",
    }


async def test_other_clients_may_create_without_a_query(api: Api) -> None:
    response = await api().post(PROJECT + "insights/", json={"name": "No query"})
    assert (response.status_code, response.json()["query"]) == (201, None)


async def test_mcp_clients_get_bare_insight_queries_wrapped_in_insight_viz_node(api: Api) -> None:
    body = (await api(**{"X-PostHog-Client": "mcp"}).post(PROJECT + "insights/", json={"query": TRENDS})).json()
    assert body["query"] == {"kind": "InsightVizNode", "source": TRENDS}


async def test_mcp_clients_get_bare_hogql_wrapped_in_data_visualization_node(api: Api) -> None:
    hogql = {"kind": "HogQLQuery", "query": "SELECT event, count() AS total FROM events GROUP BY event"}
    mcp = api(**{"X-PostHog-Client": "mcp"})
    body = (await mcp.post(PROJECT + "insights/", json={"name": "SQL", "query": hogql})).json()
    assert body["query"] == {"kind": "DataVisualizationNode", "source": hogql}
    computed = (await mcp.get(f"{PROJECT}insights/{body['id']}/?refresh=blocking")).json()
    assert computed["columns"] == ["event", "total"]
    assert computed["types"] == [["event", "String"], ["total", "UInt64"]]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"kind": "ErrorTrackingQuery"}, "source: Input tag 'ErrorTrackingQuery' found using 'kind'"),
        ({"kind": "DataTableNode", "source": {"kind": "EventsQuery", "select": ["*"]}}, "source: Input tag"),
        ({"kind": "InsightVizNode", "source": {"kind": "TrendsQuery"}}, "source.TrendsQuery.series: Field required"),
        ({"kind": "RetentionQuery"}, "source.RetentionQuery.retentionFilter: Field required"),
    ],
)
async def test_mcp_clients_cannot_save_a_query_that_does_not_validate(
    api: Api, query: dict[str, Any], fragment: str
) -> None:
    """MCPInsightSerializer.validate_query in posthog/api/insight.py, chosen by `X-PostHog-Client: mcp`."""
    response = await api(**{"X-PostHog-Client": "mcp"}).post(PROJECT + "insights/", json={"query": query})
    body = response.json()
    assert response.status_code == 400
    assert (body["type"], body["code"], body["attr"]) == ("validation_error", "invalid_input", "query")
    assert body["detail"].startswith("This query can't be saved: ")
    assert fragment in body["detail"]


async def test_without_the_mcp_header_a_query_is_stored_as_given(api: Api) -> None:
    """posthog/api/insight.py reads X-PostHog-Client, not the User-Agent, to pick the MCP serializer."""
    response = await api(**{"User-Agent": "posthog/mcp-server"}).post(
        PROJECT + "insights/", json={"name": "Raw", "query": {"kind": "ErrorTrackingQuery"}}
    )
    assert (response.status_code, response.json()["query"]) == (201, {"kind": "ErrorTrackingQuery"})


async def test_the_mcp_rules_apply_to_patch_but_not_put(api: Api) -> None:
    mcp = api(**{"X-PostHog-Client": "mcp"})
    patched = await mcp.patch(PROJECT + "insights/101/", json={"query": TRENDS})
    put = await mcp.put(PROJECT + "insights/102/", json={"query": TRENDS})
    assert patched.json()["query"]["kind"] == "InsightVizNode"
    assert put.json()["query"] == TRENDS


async def test_cached_results_carry_the_status_of_a_refresh_still_running(api: Api) -> None:
    """QueryRunner.handle_cache_and_async_logic in posthog/hogql_queries/query_runner.py attaches the running
    computation's status (get_async_query_status) to cached results, stale or fresh, in every cache-reading mode."""
    computed = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=force_blocking")).json()
    started = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/?refresh=force_async")).json()
    cached = (await api().get(f"{PROJECT}insights/{UNCOMPUTED_ID}/")).json()
    assert cached["result"] == computed["result"]
    assert cached["query_status"]["id"] == started["query_status"]["id"]
    assert cached["query_status"]["complete"] is False
