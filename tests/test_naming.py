"""Names from another tool's listing: an insight's dashboards, an unknown event's closest known names.

PostHog facts relied on: an insight's `dashboards` are bare dashboard ids (InsightSerializer,
products/product_analytics/backend/api/insight.py); the dashboards list takes no id filter, only `tags`,
`creation_mode` and `exclude_generated`, and pages by limit/offset (posthog/api/dashboards/dashboard.py); event
definitions page by limit/offset with `count`, most recently seen first (posthog/api/event_definition.py); trends
series carry their node's `action.order`, funnel steps their `order` and `count`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_server import backend
from mcp_server.app import App
from mcp_server.posthog import RetryPolicy
from mcp_server.server import build_server
from tests.conftest import PREFIX, FakePostHog, connect, payload, settings
from tests.posthog_json import dashboard, event_definition, insight, offset_page, series
from tests.sandbox_process import ROOT, Sandbox, sandbox_over_http, server_env

pytestmark = pytest.mark.anyio

DASHBOARDS = offset_page([dashboard(3, "Product KPIs"), dashboard(4, "Growth"), dashboard(9, "Weekly review")], 0, 500)
EVENTS = offset_page(
    [event_definition(name) for name in ("$pageview", "signed_up", "signed_up_v1", "uploaded_file", "logged_in")],
    0,
    500,
)
WITH_DASHBOARDS = ["insight:read", "insight:write", "dashboard:read"]
WITHOUT_DASHBOARDS = ["insight:read", "insight:write"]


async def get_insight(scopes: list[str], listing: Any, number: int = 11) -> tuple[dict[str, Any], FakePostHog]:
    fake = FakePostHog(scopes=scopes).on("GET", f"insights/{number}/", insight(number, result=[series()]))
    fake.on("GET", "dashboards/", listing)
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": number}))
    return result, fake


async def test_insight_get_names_its_dashboards_from_one_listing_when_the_key_may_read_them() -> None:
    result, fake = await get_insight(WITH_DASHBOARDS, DASHBOARDS)
    first, listing = fake.tool_requests()
    assert first.route == f"GET {PREFIX}insights/11/"
    assert listing.route == f"GET {PREFIX}dashboards/"
    assert listing.params == {"limit": "500", "offset": "0"}
    assert result["dashboards"] == [3, 9]
    assert result["dashboard_names"] == {"3": "Product KPIs", "9": "Weekly review"}


@pytest.mark.parametrize(("kept_for", "listings"), [(backend.LISTING_SECONDS, 1), (0.0, 2)])
async def test_a_listing_serves_the_same_keys_next_calls_until_it_is_a_minute_old(
    monkeypatch: pytest.MonkeyPatch, kept_for: float, listings: int
) -> None:
    monkeypatch.setattr(backend, "LISTING_SECONDS", kept_for)
    fake = FakePostHog(scopes=WITH_DASHBOARDS).on("GET", "insights/11/", insight(11, result=[series()]))
    fake.on("GET", "dashboards/", DASHBOARDS)
    async with connect(fake) as client:
        first = payload(await client.call_tool("insight-get", {"id": 11}))
        second = payload(await client.call_tool("insight-get", {"id": 11}))
    routes = [r.route for r in fake.tool_requests()]
    assert routes.count(f"GET {PREFIX}insights/11/") == 2
    assert routes.count(f"GET {PREFIX}dashboards/") == listings
    assert first["dashboard_names"] == second["dashboard_names"] == {"3": "Product KPIs", "9": "Weekly review"}


async def test_a_failed_listing_is_not_kept() -> None:
    fake = FakePostHog(scopes=WITH_DASHBOARDS).on("GET", "insights/11/", insight(11, result=[series()]))
    fake.on("GET", "dashboards/", httpx.Response(500))
    async with connect(fake) as client:
        payload(await client.call_tool("insight-get", {"id": 11}))
        fake.on("GET", "dashboards/", DASHBOARDS)
        named = payload(await client.call_tool("insight-get", {"id": 11}))
    assert named["dashboard_names"] == {"3": "Product KPIs", "9": "Weekly review"}


async def test_without_dashboard_read_no_listing_is_asked_for_and_ids_stay_bare() -> None:
    named, _ = await get_insight(WITH_DASHBOARDS, DASHBOARDS)
    result, fake = await get_insight(WITHOUT_DASHBOARDS, DASHBOARDS)
    assert [r.route for r in fake.tool_requests()] == [f"GET {PREFIX}insights/11/"]
    assert result == {name: value for name, value in named.items() if name != "dashboard_names"}


async def test_an_insight_on_no_dashboard_costs_no_listing() -> None:
    result, fake = await get_insight(WITH_DASHBOARDS, DASHBOARDS, number=12)
    assert [r.route for r in fake.tool_requests()] == [f"GET {PREFIX}insights/12/"]
    assert "dashboard_names" not in result


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(403, json={"type": "authentication_error", "code": "permission_denied", "detail": "No."}),
        httpx.Response(500, text="boom"),
        httpx.Response(200, text="<html>not json</html>"),
        {"results": "not a list"},
        [1, 2, 3],
        offset_page([{"id": "3", "name": 7}, "junk"], 0, 500),
        httpx.ConnectError("refused"),
    ],
    ids=["403", "500", "not-json", "junk-results", "bare-list", "junk-items", "unreachable"],
)
async def test_a_dashboard_listing_that_fails_leaves_the_result_as_without_the_scope(failure: Any) -> None:
    without, _ = await get_insight(WITHOUT_DASHBOARDS, DASHBOARDS)
    result, fake = await get_insight(WITH_DASHBOARDS, failure)
    assert result == without
    assert fake.tool_requests()[0].route == f"GET {PREFIX}insights/11/"


async def test_a_dashboard_listing_that_hangs_is_given_up_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "NAMING_SECONDS", 0.2)

    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return httpx.Response(200, json=DASHBOARDS)

    without, _ = await get_insight(WITHOUT_DASHBOARDS, DASHBOARDS)
    started = time.monotonic()
    result, _ = await get_insight(WITH_DASHBOARDS, hang)
    assert time.monotonic() - started < 5
    assert result == without


async def test_a_dashboard_listing_never_outlasts_the_calls_one_deadline() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return httpx.Response(200, json=DASHBOARDS)

    fake = FakePostHog(scopes=WITH_DASHBOARDS).on("GET", "insights/11/", insight(11, result=[series()]))
    fake.on("GET", "dashboards/", hang)
    app = App.create(settings(), transport=httpx.MockTransport(fake.handle), policy=RetryPolicy(deadline=1.0))
    started = time.monotonic()
    try:
        async with Client(build_server(app)) as client:
            result = payload(await client.call_tool("insight-get", {"id": 11}))
    finally:
        await app.aclose()
    assert time.monotonic() - started < backend.NAMING_SECONDS / 2
    assert result["id"] == 11 and result["dashboards"] == [3, 9] and "dashboard_names" not in result


async def test_insights_list_names_the_dashboards_once_per_page_with_one_listing() -> None:
    fake = FakePostHog(scopes=WITH_DASHBOARDS)
    fake.on("GET", "insights/", offset_page([insight(n, basic=True) for n in (1, 2, 3)], 0, 20))
    fake.on("GET", "dashboards/", DASHBOARDS)
    async with connect(fake) as client:
        result = payload(await client.call_tool("insights-list", {}))
    assert [r.route for r in fake.tool_requests()] == [f"GET {PREFIX}insights/", f"GET {PREFIX}dashboards/"]
    assert [item.get("dashboards") for item in result["results"]] == [[3, 9], None, [3, 9]]
    assert result["dashboard_names"] == {"3": "Product KPIs", "9": "Weekly review"}
    assert all("dashboard_names" not in item for item in result["results"])


async def test_a_page_with_dashboard_names_still_fits_the_response_budget() -> None:
    fake = FakePostHog(scopes=WITH_DASHBOARDS)
    fake.on("GET", "insights/", offset_page([insight(n, basic=True) for n in range(1, 21)], 0, 20))
    many = [dashboard(n, f"Dashboard number {n} " + "x" * 40) for n in range(1, 40)]
    fake.on("GET", "dashboards/", offset_page([*many, dashboard(3, "Product KPIs"), dashboard(9, "Ops")], 0, 500))
    async with connect(fake, response_budget=2500) as client:
        result = payload(await client.call_tool("insights-list", {}))
    assert len(json.dumps(result, separators=(",", ":"), ensure_ascii=False)) <= 2500
    assert 0 < len(result["results"]) < 20 and result["next_cursor"]
    assert set(result["dashboard_names"]) == {"3", "9"}


async def test_a_write_whose_dashboard_listing_fails_is_sent_once_and_answered() -> None:
    fake = FakePostHog(scopes=WITH_DASHBOARDS)
    fake.on("PATCH", "insights/11/", insight(11))
    fake.on("GET", "dashboards/", httpx.Response(502, text="bad gateway"))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-update", {"id": 11, "dashboards": [3, 9]}))
    assert [r.method for r in fake.tool_requests()].count("PATCH") == 1
    assert result["id"] == 11 and result["dashboards"] == [3, 9]
    assert "dashboard_names" not in result


async def test_insight_create_names_the_dashboards_it_was_saved_on() -> None:
    fake = FakePostHog(scopes=WITH_DASHBOARDS)
    fake.on("POST", "insights/", lambda request: httpx.Response(201, json=insight(11)))
    fake.on("GET", "dashboards/", DASHBOARDS)
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-create", {"query": query, "dashboards": [3, 9]}))
    assert [r.method for r in fake.tool_requests()] == ["POST", "GET"]
    assert result["dashboard_names"] == {"3": "Product KPIs", "9": "Weekly review"}


def zero_series(event: str, order: int = 0) -> dict[str, Any]:
    days = 7
    return {
        "data": [0] * days,
        "labels": [f"{i + 1}-Nov-2026" for i in range(days)],
        "days": [f"2026-11-{i + 1:02d}" for i in range(days)],
        "count": 0,
        "label": event,
        "action": {"id": event, "type": "events", "order": order, "name": event, "math": "total"},
    }


def trends(*events: str) -> dict[str, Any]:
    return {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": e, "math": "total"} for e in events]}


async def run_query(
    scopes: list[str], query: dict[str, Any], results: list[Any], listing: Any = EVENTS
) -> tuple[dict[str, Any], FakePostHog]:
    fake = FakePostHog(scopes=scopes)
    fake.on("POST", "query/", {"results": results, "last_refresh": "2026-11-29T04:00:00Z", "query_status": None})
    fake.on("GET", "event_definitions/", listing)
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": query}))
    return result, fake


QUERY_AND_EVENTS = ["query:read", "event_definition:read"]


async def test_an_unknown_event_that_counted_zero_is_named_with_the_closest_known_events() -> None:
    result, fake = await run_query(QUERY_AND_EVENTS, trends("$pageview", "signed_upp"), [series(), zero_series("x", 1)])
    posted, listing = fake.tool_requests()
    assert posted.route == f"POST {PREFIX}query/"
    assert listing.route == f"GET {PREFIX}event_definitions/"
    assert listing.params == {"limit": "500", "offset": "0"}
    assert result["warnings"] == [
        "Event 'signed_upp' has never been seen in this project, so it counts zero. "
        "Closest known: signed_up, signed_up_v1."
    ]


async def test_results_that_counted_something_for_every_event_cost_no_look_up() -> None:
    result, fake = await run_query(QUERY_AND_EVENTS, trends("signed_upp"), [series()])
    assert [r.route for r in fake.tool_requests()] == [f"POST {PREFIX}query/"]
    assert "warnings" not in result


async def test_a_known_event_that_counted_zero_gets_no_warning() -> None:
    result, fake = await run_query(QUERY_AND_EVENTS, trends("signed_up"), [zero_series("signed_up")])
    assert len(fake.tool_requests()) == 2
    assert "warnings" not in result


async def test_without_event_definition_read_an_unknown_event_stays_quiet() -> None:
    result, fake = await run_query(["query:read"], trends("signed_upp"), [zero_series("signed_upp")])
    assert [r.route for r in fake.tool_requests()] == [f"POST {PREFIX}query/"]
    assert "warnings" not in result


async def test_an_event_listing_that_fails_stays_quiet() -> None:
    quiet, _ = await run_query(["query:read"], trends("signed_upp"), [zero_series("signed_upp")])
    result, fake = await run_query(
        QUERY_AND_EVENTS, trends("signed_upp"), [zero_series("signed_upp")], httpx.Response(503, text="down")
    )
    assert result == quiet
    assert fake.tool_requests()[0].route == f"POST {PREFIX}query/"


async def test_an_event_missing_from_a_partial_listing_is_said_to_be_missing_from_it_only() -> None:
    partial = {**EVENTS, "count": 2400}
    result, _ = await run_query(QUERY_AND_EVENTS, trends("signed_upp"), [zero_series("signed_upp")], partial)
    assert result["warnings"] == [
        "Event 'signed_upp' counts zero and is not among the first 5 of 2400 event names. "
        "Closest known: signed_up, signed_up_v1."
    ]


async def test_a_breakdown_whose_series_all_counted_zero_is_checked_and_one_that_counted_is_not() -> None:
    zero = [{**zero_series("signed_upp"), "breakdown_value": v} for v in ("Chrome", "Safari")]
    result, _ = await run_query(QUERY_AND_EVENTS, trends("signed_upp"), zero)
    assert len(result["warnings"]) == 1
    counted = [zero[0], {**series(), "action": {**series()["action"], "order": 0}, "breakdown_value": "Safari"}]
    result, fake = await run_query(QUERY_AND_EVENTS, trends("signed_upp"), counted)
    assert len(fake.tool_requests()) == 1 and "warnings" not in result


async def test_a_query_read_back_from_its_finished_computation_is_checked_too() -> None:
    """posthog/api/query.py: GET query/{id}/ answers {"query_status": {..., "complete": true, "results": {...}}}."""
    running = {"id": "q-9", "complete": False, "error": False}
    done = {**running, "complete": True, "results": {"results": [zero_series("signed_upp")], "query_status": None}}
    fake = FakePostHog(scopes=QUERY_AND_EVENTS)
    fake.on("POST", "query/", httpx.Response(202, json={"query_status": running, "results": None}))
    fake.on("GET", "query/q-9/", {"query_status": done})
    fake.on("GET", "event_definitions/", EVENTS)
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": trends("signed_upp")}))
    assert [r.route for r in fake.tool_requests()][-1] == f"GET {PREFIX}event_definitions/"
    assert result["warnings"][0].startswith("Event 'signed_upp' has never been seen in this project")


async def test_insight_get_on_a_funnel_warns_of_the_unknown_step_only() -> None:
    source = {
        "kind": "FunnelsQuery",
        "series": [{"kind": "EventsNode", "event": e} for e in ("$pageview", "uploded_file", "logged_in")],
    }
    steps = [
        {"action_id": e, "name": e, "order": n, "count": c, "average_conversion_time": None}
        for n, (e, c) in enumerate((("$pageview", 500), ("uploded_file", 0), ("logged_in", 0)))
    ]
    reply = {**insight(12, result=steps), "query": {"kind": "InsightVizNode", "source": source}}
    fake = FakePostHog(scopes=["insight:read", "event_definition:read"]).on("GET", "insights/12/", reply)
    fake.on("GET", "event_definitions/", EVENTS)
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert [r.route for r in fake.tool_requests()] == [f"GET {PREFIX}insights/12/", f"GET {PREFIX}event_definitions/"]
    assert result["warnings"] == [
        "Event 'uploded_file' has never been seen in this project, so it counts zero. Closest known: uploaded_file."
    ]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with sandbox_over_http() as running:
        yield running


@asynccontextmanager
async def stdio_server(sandbox: Sandbox, key: str) -> AsyncIterator[Client]:
    env = {"PATH": os.environ["PATH"], **server_env(sandbox, key)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server"], env=env, cwd=str(ROOT))
    async with Client(params) as client:
        yield client


async def test_over_stdio_the_sandbox_names_dashboards_and_unknown_events_only_for_keys_that_may(
    sandbox: Sandbox,
) -> None:
    typo = {**trends("signed_upp"), "dateRange": {"date_from": "-7d"}}
    async with stdio_server(sandbox, "legacy") as client:
        sandbox.forget_requests()
        (found,) = payload(await client.call_tool("insights-list", {"search": "Daily signups"}))["results"]
        named = payload(await client.call_tool("insight-get", {"id": found["id"]}))
        warned = payload(await client.call_tool("query-run", {"query": typo}))
    listings = [r["path"].rsplit("/", 2)[-2] for r in sandbox.requests() if r["method"] == "GET"]
    # One dashboards listing names the list's and the insight's dashboards: it is kept a while.
    assert listings.count("dashboards") == 1 and listings.count("event_definitions") == 1
    assert named["dashboards"] == [1, 2]
    assert named["dashboard_names"] == {"1": "Product KPIs", "2": "Growth & acquisition"}
    assert warned["warnings"] == [
        "Event 'signed_upp' has never been seen in this project, so it counts zero. "
        "Closest known: signed_up, signed_up_v1."
    ]
    async with stdio_server(sandbox, "insight_only") as client:
        sandbox.forget_requests()
        bare = payload(await client.call_tool("insight-get", {"id": found["id"]}))
    assert not [r for r in sandbox.requests() if r["path"].endswith("/dashboards/")]
    assert bare["dashboards"] == [1, 2] and "dashboard_names" not in bare
