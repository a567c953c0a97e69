"""Results that answer: trends summaries, funnel conversions, the stale note and the completeness contract, as the
model reads them through an MCP client, beside what PostHog received.

PostHog facts the replies below copy: a trends series has `data`, `days`, `count` (a float sum), `label`, and
`compare: true` with `compare_label` "current"/"previous" when the query has compareFilter, every current series
first; a total-value display answers `aggregated_value` beside `data: []` and `count: 0`; `hasMore` is true when
breakdown values beyond the limit were grouped into "Other" (posthog/hogql_queries/insights/trends/
trends_query_runner.py). A funnel step has `count` and `average_conversion_time`/`median_conversion_time` in
seconds, null on the first step; with a breakdown, the result is one list of steps per value
(posthog/hogql_queries/insights/funnels/base.py). A HogQL query without LIMIT gets the paginator's `limit` and
`hasMore` (posthog/hogql_queries/hogql_query_runner.py, posthog/hogql_queries/insights/paginators.py), and one
with its own LIMIT is capped at MAX_SELECT_RETURNED_ROWS = 50000 (posthog/hogql/constants.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.conftest import HOST, PREFIX, FakePostHog, connect, payload
from tests.posthog_json import TRENDS_QUERY, insight, series

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "signed_up"}], "interval": "day"}
FUNNEL = {
    "kind": "FunnelsQuery",
    "series": [{"kind": "EventsNode", "event": e} for e in ("$pageview", "signed_up", "upgraded_plan")],
}
SQL = {"kind": "HogQLQuery", "query": "SELECT event, count() AS total FROM events GROUP BY event"}


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def answer(results: Any, **fields: Any) -> dict[str, Any]:
    """POST query/'s answer as the query runner gives it."""
    return {"results": results, "is_cached": False, "last_refresh": ago(minutes=5), "timezone": "UTC", **fields}


def trend(data: list[float], days: list[str], **fields: Any) -> dict[str, Any]:
    return {"data": data, "days": days, "count": float(sum(data)), "label": "signed_up", **fields}


def step(order: int, count: int, median: float | None = None, average: float | None = None) -> dict[str, Any]:
    return {
        "action_id": FUNNEL["series"][order]["event"],
        "name": FUNNEL["series"][order]["event"],
        "custom_name": None,
        "order": order,
        "people": [],
        "count": count,
        "type": "events",
        "average_conversion_time": average,
        "median_conversion_time": median,
    }


def sql_reply(rows: int, *, limit: int | None, more: bool) -> dict[str, Any]:
    return answer(
        [[f"event_{n}", 1000 - n] for n in range(rows)],
        columns=["event", "total"],
        types=[["event", "String"], ["total", "UInt64"]],
        hasMore=more,
        limit=limit,
        offset=0 if limit else None,
    )


async def run(fake: FakePostHog, query: dict[str, Any], reply: Any, **overrides: Any) -> dict[str, Any]:
    fake.on("POST", "query/", reply)
    async with connect(fake, **overrides) as client:
        result = payload(await client.call_tool("query-run", {"query": query}))
    (sent,) = fake.tool_requests()
    assert (sent.route, sent.body["query"]) == (f"POST {PREFIX}query/", query)
    return result


WEEK = [f"2026-11-{day:02d}" for day in range(1, 8)]


async def test_a_trends_series_summary_gives_total_last_min_max_and_change_against_the_interval_before(
    fake: FakePostHog,
) -> None:
    result = await run(fake, TRENDS, answer([trend([120, 157, 194, 141, 178, 125, 162], WEEK)]))
    (row,) = result["results"]
    assert row["summary"] == {"total": 1077, "last": 162, "min": 120, "max": 194, "change": "+29.6%", "vs": WEEK[5]}
    assert "count" not in row


async def test_an_interval_still_in_progress_is_named_and_left_out_of_last_min_max_and_change(
    fake: FakePostHog,
) -> None:
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1, 0)]
    result = await run(fake, TRENDS, answer([trend([100, 80, 120, 7], days)]))
    assert result["results"][0]["summary"] == {
        "total": 307,
        "last": 120,
        "min": 80,
        "max": 120,
        "in_progress": days[-1],
        "change": "+50%",
        "vs": days[1],
    }


ACTION = {"order": 0, "custom_name": None}
CURRENT = trend([10, 10, 10, 10, 10, 10, 15], WEEK, compare=True, compare_label="current", action=ACTION)
PREVIOUS = trend(
    [8] * 7, [f"2026-10-{day:02d}" for day in range(25, 32)], compare=True, compare_label="previous", action=ACTION
)
COMPARED = {**TRENDS, "compareFilter": {"compare": True}}


async def test_with_compare_the_change_is_against_posthogs_previous_period_series(fake: FakePostHog) -> None:
    now, then = (await run(fake, COMPARED, answer([CURRENT, PREVIOUS])))["results"]
    expected = {"total": 75, "last": 15, "min": 10, "max": 15, "change": "+33.9%", "vs": "previous period"}
    assert now["summary"] == expected
    assert then["summary"] == {"total": 56, "last": 8, "min": 8, "max": 8}


async def test_a_previous_period_series_listed_first_is_still_compared(fake: FakePostHog) -> None:
    _, now = (await run(fake, COMPARED, answer([PREVIOUS, CURRENT])))["results"]
    assert (now["summary"]["change"], now["summary"]["vs"]) == ("+33.9%", "previous period")


async def test_series_of_other_insight_kinds_get_no_trends_summary(fake: FakePostHog) -> None:
    """Stickiness counts users per number of days, and a funnel over time gives conversion rates per interval:
    neither is a total over time."""
    sticky = {"data": [40.0, 12.0, 3.0], "days": [1, 2, 3], "count": 55.0, "label": "signed_up"}
    stickiness = await run(fake, {**TRENDS, "kind": "StickinessQuery"}, answer([sticky]))
    assert stickiness["results"] == [{"data": [40, 12, 3], "count": 55, "label": "signed_up"}]
    assert stickiness["days"] == [1, 2, 3]
    over_time = {"data": [25.0, 30.0], "days": WEEK[:2], "count": 2, "labels": ["1-Nov", "2-Nov"]}
    fake.requests.clear()
    funnel = await run(fake, {**FUNNEL, "funnelsFilter": {"funnelVizType": "trends"}}, answer([over_time]))
    assert "summary" not in funnel["results"][0]


async def test_series_over_the_same_days_give_them_once_beside_the_results(fake: FakePostHog) -> None:
    uploads = trend([3.0, 4.0], WEEK[:2], label="uploaded_file")
    reply = answer([trend([1.0, 2.0], WEEK[:2]), uploads], hasMore=False, resolved_date_range={"date_from": WEEK[0]})
    result = await run(fake, TRENDS, reply)
    assert result["days"] == WEEK[:2]
    assert [set(series) for series in result["results"]] == [{"data", "label", "summary"}] * 2
    # The days say the range, and `complete` says what hasMore did.
    assert "resolved_date_range" not in result and "hasMore" not in result and result["complete"] is True


async def test_series_over_different_days_keep_their_own(fake: FakePostHog) -> None:
    now, then = (await run(fake, COMPARED, answer([CURRENT, PREVIOUS])))["results"]
    assert (now["days"], then["days"]) == (CURRENT["days"], PREVIOUS["days"])


async def test_whole_numbers_print_as_integers(fake: FakePostHog) -> None:
    fake.on("POST", "query/", answer([trend([1.0, 2.5, 3.0], WEEK[:3])]))
    async with connect(fake) as client:
        text = (await client.call_tool("query-run", {"query": TRENDS})).content[0].text
    assert '"data":[1,2.5,3]' in text
    assert '"total":6.5' in text


async def test_an_aggregated_value_comes_without_the_zero_count_beside_it(fake: FakePostHog) -> None:
    bold = {"data": [], "days": [], "count": 0, "aggregated_value": 4821.0, "label": "signed_up"}
    query = {**TRENDS, "trendsFilter": {"display": "BoldNumber"}}
    result = await run(fake, query, answer([bold]))
    assert result["results"] == [{"aggregated_value": 4821, "label": "signed_up"}]


async def test_an_aggregated_value_compared_says_its_change_against_the_previous_period(fake: FakePostHog) -> None:
    action = {"order": 0}
    now = {"data": [], "count": 0, "aggregated_value": 150.0, "compare_label": "current", "action": action}
    then = {"data": [], "count": 0, "aggregated_value": 200.0, "compare_label": "previous", "action": action}
    query = {**TRENDS, "trendsFilter": {"display": "BoldNumber"}, "compareFilter": {"compare": True}}
    result = await run(fake, query, answer([now, then]))
    assert result["results"][0]["summary"] == {"change": "-25%", "vs": "previous period"}


async def test_funnel_steps_carry_conversions_from_the_first_and_previous_step_and_times_with_units(
    fake: FakePostHog,
) -> None:
    steps = [step(0, 1000), step(1, 400, median=5400.0, average=7200.0), step(2, 100, median=90.0, average=100.0)]
    result = await run(fake, FUNNEL, answer(steps))
    assert [
        {k: s.get(k) for k in ("count", "from_first", "from_previous", "median_time", "average_time")}
        for s in result["results"]
    ] == [
        {"count": 1000, "from_first": None, "from_previous": None, "median_time": None, "average_time": None},
        {"count": 400, "from_first": "40%", "from_previous": "40%", "median_time": "1.5 h", "average_time": "2 h"},
        {"count": 100, "from_first": "10%", "from_previous": "25%", "median_time": "1.5 min"}
        | {"average_time": "1.7 min"},
    ]
    assert all("median_conversion_time" not in s and "people" not in s for s in result["results"])


async def test_a_funnel_broken_down_converts_each_values_steps_on_their_own(fake: FakePostHog) -> None:
    chrome = [{**s, "breakdown_value": ["Chrome"]} for s in (step(0, 10), step(1, 5, median=30.0))]
    safari = [{**s, "breakdown_value": ["Safari"]} for s in (step(0, 4), step(1, 1, median=60.0))]
    query = {**FUNNEL, "series": FUNNEL["series"][:2], "breakdownFilter": {"breakdown": "$browser"}}
    result = await run(fake, query, answer([chrome, safari]))
    assert [[s.get("from_first") for s in steps] for steps in result["results"]] == [[None, "50%"], [None, "25%"]]
    assert result["results"][1][1]["median_time"] == "1 min"


async def test_results_computed_more_than_one_interval_ago_say_they_are_stale(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", {**insight(12, result=[series()]), "last_refresh": ago(days=2, hours=1)})
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert result["stale"] == (
        "Computed 2 d ago, more than one day (the query's interval): run it with refresh=blocking for fresh numbers."
    )


async def test_an_hourly_insight_is_stale_after_an_hour_and_a_daily_one_is_not(fake: FakePostHog) -> None:
    hourly = {**TRENDS_QUERY, "source": {**TRENDS_QUERY["source"], "interval": "hour"}}
    fake.on("GET", "insights/1/", {**insight(1, result=[series()]), "query": hourly, "last_refresh": ago(hours=2)})
    fake.on("GET", "insights/2/", {**insight(2, result=[series()]), "last_refresh": ago(hours=2)})
    async with connect(fake) as client:
        by_hour = payload(await client.call_tool("insight-get", {"id": 1}))
        by_day = payload(await client.call_tool("insight-get", {"id": 2}))
    assert by_hour["stale"].startswith("Computed 2 h ago, more than one hour")
    assert "stale" not in by_day


async def test_complete_results_say_so_with_rows_the_query_and_its_page(fake: FakePostHog) -> None:
    query = {**SQL, "query": SQL["query"] + " LIMIT 10"}
    result = await run(fake, query, sql_reply(3, limit=None, more=False))
    assert {k: result[k] for k in ("complete", "rows", "limit", "query")} == {
        "complete": True,
        "rows": 3,
        "limit": 10,
        "query": query,
    }
    assert "cut_by" not in result
    # urls.insightNew sends SQL to urls.sqlEditor: products/product_analytics/manifest.tsx, frontend/src/scenes/urls.ts
    url = httpx.URL(result["url"])
    assert url.path == "/project/42/sql"
    assert url.params["open_query"] == query["query"]
    assert "%20" in result["url"] and "+" not in result["url"]


async def test_rows_cut_by_posthogs_default_row_limit_say_so(fake: FakePostHog) -> None:
    result = await run(fake, SQL, sql_reply(100, limit=100, more=True))
    assert {k: result[k] for k in ("complete", "cut_by", "rows", "limit")} == {
        "complete": False,
        "cut_by": ["posthog_row_limit"],
        "rows": 100,
        "limit": 100,
    }
    assert "default of 100 rows" in result["note"]


async def test_a_sql_insight_posthog_held_rows_back_from_says_its_row_limit_cut_it(fake: FakePostHog) -> None:
    """An insight answers `hasMore` beside its SQL rows, not the paginator's limit (posthog/api/insight.py)."""
    sql_viz = {"kind": "DataVisualizationNode", "source": SQL}
    rows = [[f"event_{n}", n] for n in range(100)]
    fake.on(
        "GET",
        "insights/5/",
        {**insight(5, result=rows), "query": sql_viz, "columns": ["event", "total"]} | {"hasMore": True},
    )
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 5}))
    assert (result["complete"], result["cut_by"], result["rows"]) == (False, ["posthog_row_limit"], 100)
    assert "limit" not in result


async def test_rows_that_reach_the_sqls_own_limit_say_it_cut_them(fake: FakePostHog) -> None:
    query = {**SQL, "query": SQL["query"] + " LIMIT 3"}
    result = await run(fake, query, sql_reply(3, limit=None, more=False))
    assert (result["complete"], result["cut_by"], result["rows"], result["limit"]) == (False, ["sql_limit"], 3, 3)


async def test_a_limit_above_posthogs_maximum_says_posthog_capped_the_rows(fake: FakePostHog) -> None:
    query = {**SQL, "query": SQL["query"] + " LIMIT 80000"}
    result = await run(fake, query, sql_reply(50_000, limit=None, more=False), response_budget=10_000_000)
    assert (result["cut_by"], result["rows"], result["limit"]) == (["posthog_row_limit"], 50_000, 50_000)


async def test_breakdown_values_beyond_the_limit_say_the_breakdown_limit_cut_them(fake: FakePostHog) -> None:
    query = {**TRENDS, "breakdownFilter": {"breakdown": "$browser", "breakdown_limit": 2}}
    rows = [trend([5, 5], WEEK[:2], breakdown_value=v) for v in ("Chrome", "Safari", "$$_posthog_breakdown_other_$$")]
    result = await run(fake, query, answer(rows, hasMore=True))
    assert (result["complete"], result["cut_by"], result["rows"], result["limit"]) == (
        False,
        ["breakdown_limit"],
        3,
        2,
    )


async def test_results_cut_by_the_response_budget_say_so_and_count_the_rows_sent(fake: FakePostHog) -> None:
    query = {**SQL, "query": SQL["query"] + " LIMIT 1000"}
    result = await run(fake, query, sql_reply(400, limit=None, more=False), response_budget=2000)
    assert result["complete"] is False
    assert result["cut_by"] == ["response_budget"]
    assert result["rows"] == len(result["results"]) < 400
    assert f"first {result['rows']} of 400" in result["truncated"]
    assert len(json.dumps(result, separators=(",", ":"), ensure_ascii=False)) <= 2000


async def test_insight_get_says_when_its_numbers_were_computed_the_query_and_its_page(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", insight(12, result=[series()]))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert {k: result[k] for k in ("complete", "rows", "last_refresh", "url")} == {
        "complete": True,
        "rows": 1,
        "last_refresh": "2026-11-26T08:00:00Z",
        "url": f"{HOST}/project/42/insights/Ab000012",
    }
    assert result["query"] == TRENDS_QUERY


async def test_query_get_names_the_hogql_posthog_ran_since_the_query_itself_is_not_returned(
    fake: FakePostHog,
) -> None:
    finished = {**sql_reply(2, limit=100, more=False), "hogql": "SELECT event, count() AS total FROM events LIMIT 101"}
    fake.on("GET", "query/q-77/", {"query_status": {"id": "q-77", "complete": True, "results": finished}})
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-get", {"client_query_id": "q-77"}))
    assert (fake.tool_requests()[0].route, result["complete"], result["rows"], result["limit"]) == (
        f"GET {PREFIX}query/q-77/",
        True,
        2,
        100,
    )
    assert result["hogql"] == finished["hogql"]
    assert "query" not in result and "url" not in result


async def _conforming(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A result of a tool that lists an outputSchema: the SDK's client validates it and raises if it does not
    conform (ClientSession.validate_tool_result)."""
    (listed,) = [t for t in (await client.list_tools()).tools if t.name == tool]
    assert listed.output_schema is not None
    return payload(await client.call_tool(tool, arguments))


RUNNING = {"id": "q-77", "complete": False, "error": False, "start_time": "2026-11-29T04:00:00Z"}
SHAPES: dict[str, tuple[str, str, str, Any, dict[str, Any]]] = {
    "trends": ("POST", "query/", "query-run", answer([trend([1, 2], WEEK[:2])]), {"query": TRENDS}),
    "funnel": ("POST", "query/", "query-run", answer([step(0, 4), step(1, 2, 60.0, 60.0)]), {"query": FUNNEL}),
    "sql rows": ("POST", "query/", "query-run", sql_reply(100, limit=100, more=True), {"query": SQL}),
    "async start": (
        "POST",
        "query/",
        "query-run",
        httpx.Response(202, json={"query_status": RUNNING, "results": None}),
        {"query": TRENDS, "refresh": "async"},
    ),
    "query-get running": (
        "GET",
        "query/q-77/",
        "query-get",
        httpx.Response(202, json={"query_status": RUNNING}),
        {"client_query_id": "q-77"},
    ),
    "query-get finished": (
        "GET",
        "query/q-77/",
        "query-get",
        {"query_status": {**RUNNING, "complete": True, "results": sql_reply(2, limit=100, more=False)}},
        {"client_query_id": "q-77"},
    ),
    "insight with results": ("GET", "insights/12/", "insight-get", insight(12, result=[series()]), {"id": 12}),
    "insight without cached results": (
        "GET",
        "insights/12/",
        "insight-get",
        {**insight(12), "last_refresh": None},
        {"id": 12},
    ),
    "insight computing": (
        "GET",
        "insights/12/",
        "insight-get",
        {**insight(12), "query_status": RUNNING},
        {"id": 12, "refresh": "async"},
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_every_result_shape_conforms_to_the_declared_output_schema(fake: FakePostHog, shape: str) -> None:
    method, path, tool, reply, arguments = SHAPES[shape]
    fake.on(method, path, reply)
    async with connect(fake) as client:
        await _conforming(client, tool, arguments)


async def test_a_result_cut_by_the_response_budget_conforms_to_the_declared_output_schema(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", insight(12, result=[series(400)]))
    async with connect(fake, response_budget=1500) as client:
        result = await _conforming(client, "insight-get", {"id": 12})
    assert result["cut_by"] == ["response_budget"]
