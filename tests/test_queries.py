"""query-run, query-get and the discovery lists: the request PostHog receives and the result the model reads.

PostHog facts pinned here: POST query/ takes the source query itself with `refresh`, and answers 202 while a
computation runs (posthog/api/query.py); GET query/{id}/ answers {"query_status": {...}} with the finished
response in `results`, 400 with the status's error_message when the query failed (posthog/api/query.py); a
HogQL query without LIMIT is capped at DEFAULT_RETURNED_ROWS = 100 and the reply says `hasMore`, `limit`
(posthog/hogql/constants.py, HogQLHasMorePaginator in posthog/hogql_queries/insights/paginators.py);
property_definitions/ takes `event_names` as a JSON list and keeps only properties seen with them when
`filter_by_event_names` is true (posthog/api/property_definition.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mcp import Client

from mcp_server.app import App
from mcp_server.sandbox import DEMO_KEYS, DEMO_PROJECT_ID, create_app
from mcp_server.server import build_server
from tests.conftest import PREFIX, FakePostHog, connect, error_text, no_sleep, payload, settings
from tests.posthog_json import dashboard, event_definition, offset_page, series

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "signed_up", "math": "total"}]}
SQL = {"kind": "HogQLQuery", "query": "SELECT event, count() AS total FROM events GROUP BY event"}


def trends_reply() -> dict[str, Any]:
    return {
        "results": [series(7)],
        "is_cached": False,
        "last_refresh": "2026-11-29T04:00:00Z",
        "cache_key": "cache_abc",
        "timezone": "UTC",
        "hogql": "SELECT ...",
        "timings": [{"k": "./query", "t": 0.2}],
        "query_status": None,
        "formatted_results": "Date|signed_up\n...",
    }


def sql_reply(rows: int, *, limit: int | None, more: bool) -> dict[str, Any]:
    return {
        "columns": ["event", "total"],
        "types": [["event", "String"], ["total", "UInt64"]],
        "results": [[f"event_{n}", 1000 - n] for n in range(rows)],
        "hasMore": more,
        "limit": limit,
        "offset": 0 if limit else None,
        "hogql": SQL["query"],
        "query_status": None,
    }


async def test_query_run_sends_the_bare_query_and_shapes_results_as_insight_get(fake: FakePostHog) -> None:
    fake.on("POST", "query/", trends_reply())
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": TRENDS}))
    (sent,) = fake.tool_requests()
    assert sent.route == f"POST {PREFIX}query/"
    # Blocking is asked of PostHog as its asynchronous twin, so that a long computation can be read while it runs.
    assert sent.body == {"query": TRENDS, "refresh": "async"}
    assert set(result) == {"complete", "rows", "results", "days", "last_refresh", "query", "url"}
    (row,) = result["results"]
    assert row["data"] == series(7)["data"]
    assert "filter" not in row and "action" not in row


async def test_query_run_sends_a_wrapped_query_as_its_source(fake: FakePostHog) -> None:
    fake.on("POST", "query/", trends_reply())
    async with connect(fake) as client:
        payload(await client.call_tool("query-run", {"query": {"kind": "InsightVizNode", "source": TRENDS}}))
    assert fake.tool_requests()[0].body["query"] == TRENDS


async def test_sql_results_come_as_columns_and_rows_without_a_note_when_the_sql_has_a_limit(fake: FakePostHog) -> None:
    fake.on("POST", "query/", sql_reply(3, limit=None, more=False))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": {**SQL, "query": SQL["query"] + " LIMIT 3"}}))
    assert {k: v for k, v in result.items() if k not in ("query", "url")} == {
        "complete": False,
        "cut_by": ["sql_limit"],
        "rows": 3,
        "limit": 3,
        "results": [["event_0", 1000], ["event_1", 999], ["event_2", 998]],
        "columns": ["event", "total"],
    }


async def test_posthogs_default_row_limit_is_stated_when_it_cut_the_rows(fake: FakePostHog) -> None:
    fake.on("POST", "query/", sql_reply(100, limit=100, more=True))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": SQL}))
    assert len(result["results"]) == 100
    assert (result["complete"], result["cut_by"]) == (False, ["posthog_row_limit"])
    assert result["note"] == (
        "The SQL has no LIMIT, so PostHog returned at most its default of 100 rows. "
        "More rows exist: add LIMIT (at most 50000) to get them."
    )


async def test_posthogs_default_row_limit_is_stated_even_when_every_row_fit(fake: FakePostHog) -> None:
    fake.on("POST", "query/", sql_reply(4, limit=100, more=False))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": SQL}))
    assert result["note"] == "The SQL has no LIMIT, so PostHog returned at most its default of 100 rows."


async def test_sql_rows_over_the_response_budget_are_cut_at_a_row_boundary_with_a_note(fake: FakePostHog) -> None:
    fake.on("POST", "query/", sql_reply(400, limit=None, more=False))
    async with connect(fake, response_budget=2000) as client:
        result = payload(await client.call_tool("query-run", {"query": SQL}))
    rows = result["results"]
    assert 0 < len(rows) < 400
    assert rows == [[f"event_{n}", 1000 - n] for n in range(len(rows))]
    assert f"first {len(rows)} of 400" in result["truncated"]
    assert len(json.dumps(result, separators=(",", ":"))) <= 2000


async def test_an_async_run_returns_the_computations_id_and_says_how_to_get_its_results(fake: FakePostHog) -> None:
    status = {"id": "q-77", "complete": False, "error": False, "start_time": "2026-11-29T04:00:00Z"}
    fake.on("POST", "query/", httpx.Response(202, json={"query_status": status, "results": None}))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": TRENDS, "refresh": "async"}))
    assert fake.tool_requests()[0].body["refresh"] == "async"
    assert result["client_query_id"] == "q-77"
    assert result["note"] == "Still computing: call query-get with this client_query_id for the results."


async def test_query_get_reads_a_running_computations_status(fake: FakePostHog) -> None:
    status = {"id": "q-77", "complete": False, "error": False, "results": None, "task_id": "t"}
    fake.on("GET", "query/q-77/", httpx.Response(202, json={"query_status": status}))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-get", {"client_query_id": "q-77"}))
    assert fake.tool_requests()[0].route == f"GET {PREFIX}query/q-77/"
    assert result == {
        "query_status": {"id": "q-77", "complete": False, "error": False},
        "client_query_id": "q-77",
        "note": "Still computing: call query-get with this client_query_id for the results.",
    }


async def test_query_get_returns_a_finished_computations_results_shaped_as_query_run(fake: FakePostHog) -> None:
    status = {"id": "q-77", "complete": True, "error": False, "results": sql_reply(2, limit=100, more=False)}
    fake.on("GET", "query/q-77/", {"query_status": status})
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-get", {"client_query_id": "q-77"}))
    assert result["results"] == [["event_0", 1000], ["event_1", 999]]
    assert result["columns"] == ["event", "total"]
    assert "query_status" not in result
    assert "default of 100 rows" in result["note"]


async def test_query_get_of_a_failed_computation_says_why(fake: FakePostHog) -> None:
    status = {"id": "q-8", "complete": True, "error": True, "error_message": "Unknown table `evnts`."}
    fake.on("GET", "query/q-8/", httpx.Response(400, json={"query_status": status}))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("query-get", {"client_query_id": "q-8"}))
    assert "PostHog rejected the request: Unknown table `evnts`" in message


async def test_query_run_refuses_a_query_kind_it_does_not_know_without_a_request(fake: FakePostHog) -> None:
    async with connect(fake) as client:
        message = error_text(await client.call_tool("query-run", {"query": {"kind": "EventsQuery"}}))
    assert "query kind 'EventsQuery'" in message
    assert fake.tool_requests() == []


async def test_query_run_needs_the_query_read_scope() -> None:
    fake = FakePostHog(scopes=["insight:read"])
    async with connect(fake) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        message = error_text(await client.call_tool("query-run", {"query": TRENDS}))
    assert "query-run" not in names and "query-get" not in names
    assert "query-run needs the API key scope 'query:read'" in message
    assert fake.tool_requests() == []


async def test_event_definitions_list_searches_by_name_and_keeps_lean_items(fake: FakePostHog) -> None:
    definition = event_definition("signed_up")
    fake.on("GET", "event_definitions/", offset_page([definition], 0, 50))
    async with connect(fake) as client:
        result = payload(await client.call_tool("event-definitions-list", {"search": "sign"}))
    assert fake.tool_requests()[0].params == {"search": "sign", "limit": "50", "offset": "0"}
    assert result == {
        "results": [{"name": "signed_up", "last_seen_at": "2026-11-29T03:58:00Z"}],
        "count": 1,
        "next_cursor": None,
    }


async def test_property_definitions_seen_with_events_send_the_names_as_json_and_the_filter(fake: FakePostHog) -> None:
    prop = {"id": "p1", "name": "plan", "is_numerical": False, "property_type": "String", "tags": []}
    fake.on("GET", "property_definitions/", offset_page([{**prop, "is_seen_on_filtered_events": True}], 0, 50))
    async with connect(fake) as client:
        result = payload(
            await client.call_tool("property-definitions-list", {"event_names": ["signed_up", "upgraded_plan"]})
        )
    assert fake.tool_requests()[0].params == {
        "type": "event",
        "event_names": '["signed_up","upgraded_plan"]',
        "filter_by_event_names": "true",
        "limit": "50",
        "offset": "0",
    }
    assert result["results"] == [{"name": "plan", "property_type": "String"}]


async def test_person_properties_are_listed_without_the_event_filter(fake: FakePostHog) -> None:
    fake.on("GET", "property_definitions/", offset_page([], 0, 50))
    async with connect(fake) as client:
        payload(await client.call_tool("property-definitions-list", {"type": "person", "search": "email"}))
    assert fake.tool_requests()[0].params == {"type": "person", "search": "email", "limit": "50", "offset": "0"}


async def test_event_names_with_person_properties_are_refused_without_a_request(fake: FakePostHog) -> None:
    async with connect(fake) as client:
        message = error_text(
            await client.call_tool("property-definitions-list", {"type": "person", "event_names": ["signed_up"]})
        )
    assert "event_names only applies to type=event" in message
    assert fake.tool_requests() == []


async def test_dashboards_list_gives_ids_and_names(fake: FakePostHog) -> None:
    listed = {**dashboard(1, "Product KPIs"), "pinned": True}
    fake.on("GET", "dashboards/", offset_page([listed], 0, 100))
    async with connect(fake) as client:
        result = payload(await client.call_tool("dashboards-list", {}))
    assert fake.tool_requests()[0].params == {"limit": "100", "offset": "0"}
    assert result["results"] == [{"id": 1, "name": "Product KPIs", "pinned": True}]


async def test_an_async_run_is_read_with_query_get_and_cancelled_by_a_scoped_key_on_the_sandbox() -> None:
    sandbox_app = create_app()
    state = sandbox_app.state.sandbox
    app = App.create(
        settings(api_key=DEMO_KEYS["all_access"].key, posthog_host="http://sandbox.test", project_id=DEMO_PROJECT_ID),
        transport=httpx.ASGITransport(sandbox_app),
        sleep=no_sleep,
    )
    try:
        async with Client(build_server(app)) as client:
            started = payload(await client.call_tool("query-run", {"query": TRENDS, "refresh": "async"}))
            running = payload(await client.call_tool("query-get", {"client_query_id": started["client_query_id"]}))
            later = state.now() + timedelta(seconds=state.async_seconds + 1)
            state.clock = lambda: later
            done = payload(await client.call_tool("query-get", {"client_query_id": started["client_query_id"]}))
            other = payload(await client.call_tool("query-run", {"query": SQL, "refresh": "async"}))
            cancelled = payload(
                await client.call_tool("insight-query-cancel", {"client_query_id": other["client_query_id"]})
            )
    finally:
        await app.aclose()
    assert running["note"] == started["note"]
    assert done["results"][0]["label"] == "signed_up"
    assert "query_status" not in done
    assert cancelled == {
        "ok": True,
        "message": "Cancelled query on clickhouse",
        "client_query_id": other["client_query_id"],
    }
    deletes = [r for r in state.requests.entries() if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"/api/projects/{DEMO_PROJECT_ID}/query/{other['client_query_id']}/"]
