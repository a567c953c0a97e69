"""Ad-hoc queries at query/: run, read a computation's status, cancel it.

PostHog facts pinned here, from posthog/api/query.py: POST query/ takes the source query and `refresh`,
computes blocking modes at once and answers 202 with a running query_status for async ones; GET query/{id}/
answers {"query_status": ...}, 202 while running and 200 once complete with the response in `results`;
DELETE query/{id}/ answers 200 {"message": ...} (messages from cancel_query in
posthog/clickhouse/client/execute_async.py); all three are query:read actions. From posthog/hogql/constants.py
and HogQLHasMorePaginator: a SELECT without LIMIT gets DEFAULT_RETURNED_ROWS = 100 and `hasMore`, `limit`,
`offset` in the reply; one with LIMIT gets neither.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mcp_server.sandbox.state import Sandbox
from tests.sandbox.conftest import PROJECT, Api

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "signed_up"}]}
SQL = "SELECT event, count() AS total FROM events GROUP BY event"


async def test_a_blocking_trends_query_answers_its_results_at_once(api: Api) -> None:
    response = await api().post(PROJECT + "query/", json={"query": TRENDS, "refresh": "blocking"})
    assert response.status_code == 200
    body = response.json()
    assert body["query_status"] is None
    assert body["results"][0]["label"] == "signed_up"
    assert body["last_refresh"]


async def test_sql_without_limit_gets_posthogs_default_limit_of_100(api: Api) -> None:
    response = await api().post(PROJECT + "query/", json={"query": {"kind": "HogQLQuery", "query": SQL}})
    body = response.json()
    assert (body["limit"], body["offset"], body["hasMore"]) == (100, 0, False)
    assert body["columns"] == ["event", "total"]


async def test_sql_with_its_own_limit_gets_no_default(api: Api) -> None:
    query = {"kind": "HogQLQuery", "query": SQL + " LIMIT 3"}
    body = (await api().post(PROJECT + "query/", json={"query": query})).json()
    assert (body["limit"], body["offset"], body["hasMore"]) == (None, None, False)


async def test_a_query_of_an_unknown_kind_is_a_400(api: Api) -> None:
    response = await api().post(PROJECT + "query/", json={"query": {"kind": "NoSuchQuery"}})
    assert response.status_code == 400
    assert response.json()["attr"] == "query"


async def test_an_async_query_runs_until_its_time_then_answers_its_results(api: Api, sandbox: Sandbox) -> None:
    started = await api().post(PROJECT + "query/", json={"query": TRENDS, "refresh": "async", "client_query_id": "q1"})
    assert started.status_code == 202
    assert started.json()["query_status"]["complete"] is False
    running = await api().get(PROJECT + "query/q1/")
    assert (running.status_code, running.json()["query_status"]["id"]) == (202, "q1")
    later = sandbox.now() + timedelta(seconds=sandbox.async_seconds + 1)
    sandbox.clock = lambda: later
    done = await api().get(PROJECT + "query/q1/")
    assert done.status_code == 200
    status = done.json()["query_status"]
    assert status["complete"] is True
    assert status["results"]["results"][0]["label"] == "signed_up"


async def test_a_cancelled_query_is_forgotten(api: Api) -> None:
    await api().post(PROJECT + "query/", json={"query": TRENDS, "refresh": "async", "client_query_id": "q2"})
    cancelled = await api().delete(PROJECT + "query/q2/")
    assert cancelled.json() == {"message": "Cancelled query on clickhouse"}
    assert (await api().get(PROJECT + "query/q2/")).status_code == 404


async def test_query_endpoints_need_query_read(api: Api) -> None:
    response = await api("insight_only").post(PROJECT + "query/", json={"query": TRENDS})
    assert response.status_code == 403
    assert "query:read" in response.json()["detail"]


async def test_deleting_an_insights_computation_by_its_id_stops_it(api: Api, sandbox: Sandbox) -> None:
    started = (await api().get(f"{PROJECT}insights/134/?refresh=async")).json()
    cancelled = await api().delete(PROJECT + f"query/{started['query_status']['id']}/")
    later = sandbox.now() + timedelta(seconds=60)
    sandbox.clock = lambda: later
    body = (await api().get(f"{PROJECT}insights/134/")).json()
    assert cancelled.json() == {"message": "Cancelled query on clickhouse"}
    assert body["result"] is None and body["query_status"] is None


async def test_a_blocking_querys_client_query_id_names_no_status_to_read(api: Api) -> None:
    """posthog/hogql_queries/query_runner.py computes blocking modes in the request (_execute_and_cache_blocking)
    and stores no QueryStatus; get_query_status in posthog/clickhouse/client/execute_async.py raises
    QueryNotFoundError, a NotFound, for an id without one. Only an enqueued computation can be read while it runs."""
    ran = await api().post(PROJECT + "query/", json={"query": TRENDS, "refresh": "blocking", "client_query_id": "b1"})
    assert ran.status_code == 200
    assert (await api().get(PROJECT + "query/b1/")).status_code == 404
