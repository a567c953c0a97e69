"""Long computations never hold a call past its deadline, and are never thrown away: query-run and a blocking
insight-get wait for them within the deadline, then hand back the computation's id and how to continue.

PostHog facts relied on (pinned against the sandbox in tests/sandbox/test_adhoc.py and test_insights.py): a
blocking POST query/ computes in the request and leaves nothing GET query/{id}/ can read, while `async` (its
twin for stale or missing results) enqueues a computation whose status GET query/{id}/ serves, 202 while running
and 200 with the results once complete (posthog/api/query.py, posthog/hogql_queries/query_runner.py,
posthog/clickhouse/client/execute_async.py); an insight read from the cache carries a running refresh's status
(QueryRunner.handle_cache_and_async_logic).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mcp import Client

from mcp_server.app import App
from mcp_server.catalog import TOOLS
from mcp_server.posthog import RetryPolicy
from mcp_server.sandbox import DEMO_KEYS, DEMO_PROJECT_ID, create_app
from mcp_server.sandbox.state import Sandbox
from mcp_server.server import build_server
from tests.conftest import PREFIX, FakePostHog, connect, error_text, make_app, payload, settings
from tests.http_server import serving
from tests.test_http import http_client

pytestmark = pytest.mark.anyio

TRENDS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "signed_up", "math": "total"}]}
UNCOMPUTED_ID = 134
PROJECT_PATH = f"/api/projects/{DEMO_PROJECT_ID}/"
SHORT = RetryPolicy(deadline=1.0, poll_first=0.1)
QUICK = RetryPolicy(deadline=5.0, poll_first=0.1)
RUNNING = {"id": "q-9", "complete": False, "error": False, "start_time": "2026-11-29T04:00:00Z"}


@dataclass
class OnSandbox:
    """A server whose PostHog is an in-memory sandbox, with the sandbox's state at hand."""

    app: App
    sandbox: Sandbox

    def requests(self, method: str, path_part: str) -> list[dict[str, Any]]:
        return [r for r in self.sandbox.requests.entries() if r["method"] == method and path_part in r["path"]]

    def advance(self, seconds: float) -> None:
        later = self.sandbox.now() + timedelta(seconds=seconds)
        self.sandbox.clock = lambda: later


@asynccontextmanager
async def on_sandbox(policy: RetryPolicy, computing: float) -> AsyncIterator[OnSandbox]:
    """`computing`: the seconds an asynchronous computation takes in the sandbox."""
    sandbox_app = create_app()
    sandbox: Sandbox = sandbox_app.state.sandbox
    sandbox.async_seconds = computing
    app = App.create(
        settings(api_key=DEMO_KEYS["all_access"].key, posthog_host="http://sandbox.test", project_id=DEMO_PROJECT_ID),
        transport=httpx.ASGITransport(sandbox_app),
        policy=policy,
    )
    try:
        yield OnSandbox(app, sandbox)
    finally:
        await app.aclose()


async def test_every_tool_that_waits_reads_its_computation_within_its_own_scope() -> None:
    waiting = [tool for tool in TOOLS if tool.wait is not None]
    assert {tool.name for tool in waiting} == {"query-run", "insight-get"}
    for tool in waiting:
        assert tool.wait is not None and tool.wait.poll.scope == tool.scope and tool.wait.poll.method == "GET"


async def test_a_query_that_finishes_within_the_deadline_answers_in_one_call() -> None:
    async with on_sandbox(QUICK, computing=0.25) as on, Client(build_server(on.app)) as client:
        result = payload(await client.call_tool("query-run", {"query": TRENDS}))
    assert result["results"][0]["label"] == "signed_up"
    assert "client_query_id" not in result and "note" not in result
    [started] = on.requests("POST", "/query/")
    assert started["body"]["refresh"] == "async"
    assert 1 <= len(on.requests("GET", "/query/")) <= 3


async def test_a_query_that_outlives_the_deadline_returns_its_id_in_time_and_keeps_running() -> None:
    async with on_sandbox(SHORT, computing=60) as on, Client(build_server(on.app)) as client:
        began = time.monotonic()
        pending = payload(await client.call_tool("query-run", {"query": TRENDS}))
        took = time.monotonic() - began
        on.advance(61)
        done = payload(await client.call_tool("query-get", {"client_query_id": pending["client_query_id"]}))
    assert took < SHORT.deadline
    assert "Call query-get with this client_query_id" in pending["note"]
    assert pending["query_status"]["complete"] is False
    assert on.requests("DELETE", "/query/") == []
    assert len(on.requests("GET", "/query/")) <= 4
    assert done["results"][0]["label"] == "signed_up"


async def test_a_query_that_outlived_the_deadline_is_stopped_by_insight_query_cancel() -> None:
    async with on_sandbox(SHORT, computing=60) as on, Client(build_server(on.app)) as client:
        pending = payload(await client.call_tool("query-run", {"query": TRENDS}))
        query_id = pending["client_query_id"]
        cancelled = payload(await client.call_tool("insight-query-cancel", {"client_query_id": query_id}))
        on.advance(61)
        gone = error_text(await client.call_tool("query-get", {"client_query_id": query_id}))
    assert cancelled["message"] == "Cancelled query on clickhouse"
    assert [r["path"] for r in on.requests("DELETE", "/query/")] == [f"{PROJECT_PATH}query/{query_id}/"]
    assert "not found" in gone.lower()


async def test_a_blocking_insight_get_that_finishes_within_the_deadline_answers_in_one_call() -> None:
    async with on_sandbox(QUICK, computing=0.25) as on, Client(build_server(on.app)) as client:
        result = payload(await client.call_tool("insight-get", {"id": UNCOMPUTED_ID, "refresh": "blocking"}))
    assert result["result"] and "client_query_id" not in result
    reads = on.requests("GET", f"/insights/{UNCOMPUTED_ID}/")
    assert reads[0]["query"] == {"refresh": "async"}
    assert all(r["query"] == {} for r in reads[1:]) and 2 <= len(reads) <= 4


async def test_a_blocking_insight_get_that_outlives_the_deadline_hands_back_its_computation() -> None:
    async with on_sandbox(SHORT, computing=60) as on, Client(build_server(on.app)) as client:
        began = time.monotonic()
        pending = payload(await client.call_tool("insight-get", {"id": UNCOMPUTED_ID, "refresh": "blocking"}))
        took = time.monotonic() - began
        on.advance(61)
        done = payload(await client.call_tool("insight-get", {"id": UNCOMPUTED_ID}))
    assert took < SHORT.deadline
    assert pending["result"] is None and pending["client_query_id"] == pending["query_status"]["id"]
    assert "insight-get again without refresh" in pending["note"]
    assert done["result"] and "client_query_id" not in done


async def test_a_blocking_insight_get_that_outlived_the_deadline_is_stopped_by_insight_query_cancel() -> None:
    async with on_sandbox(SHORT, computing=60) as on, Client(build_server(on.app)) as client:
        pending = payload(await client.call_tool("insight-get", {"id": UNCOMPUTED_ID, "refresh": "blocking"}))
        query_id = pending["client_query_id"]
        payload(await client.call_tool("insight-query-cancel", {"client_query_id": query_id}))
        on.advance(61)
        after = payload(await client.call_tool("insight-get", {"id": UNCOMPUTED_ID}))
    assert [r["path"] for r in on.requests("DELETE", "/query/")] == [f"{PROJECT_PATH}query/{query_id}/"]
    assert after["result"] is None and "query_status" not in after


async def test_waiting_reads_a_computation_a_bounded_number_of_times_with_growing_pauses(fake: FakePostHog) -> None:
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    fake.on("POST", "query/", httpx.Response(202, json={"query_status": RUNNING, "results": None}))
    fake.on("GET", "query/q-9/", httpx.Response(202, json={"query_status": RUNNING}))
    app = App.create(settings(), transport=httpx.MockTransport(fake.handle), sleep=record)
    try:
        async with Client(build_server(app)) as client:
            result = payload(await client.call_tool("query-run", {"query": TRENDS}))
    finally:
        await app.aclose()
    policy = app.client.policy
    assert pauses[:5] == [0.5, 1.0, 2.0, 4.0, 5.0] and max(pauses) == policy.poll_max
    assert sum(pauses) <= policy.deadline * (1 - policy.poll_reserve)
    assert len(fake.tool_requests()) == 1 + len(pauses) <= 25
    assert result["client_query_id"] == "q-9"


async def test_a_status_read_that_keeps_failing_hands_back_the_computation_instead_of_an_error(
    fake: FakePostHog,
) -> None:
    fake.on("POST", "query/", httpx.Response(202, json={"query_status": RUNNING, "results": None}))
    fake.on("GET", "query/q-9/", httpx.Response(503, json={"detail": "unavailable"}))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": TRENDS}))
    assert result["client_query_id"] == "q-9"
    assert "query-get" in result["note"]
    assert not [r for r in fake.tool_requests() if r.method == "DELETE"]


async def test_a_status_read_that_stays_throttled_hands_back_the_computation(fake: FakePostHog) -> None:
    throttled = {"type": "throttled_error", "code": "throttled", "detail": "Request was throttled."}
    fake.on("POST", "query/", httpx.Response(202, json={"query_status": RUNNING, "results": None}))
    fake.on("GET", "query/q-9/", httpx.Response(429, json=throttled, headers={"Retry-After": "1"}))
    async with connect(fake) as client:
        result = payload(await client.call_tool("query-run", {"query": TRENDS}))
    assert result["client_query_id"] == "q-9"
    assert "query-get" in result["note"]


async def test_a_computation_that_fails_while_waited_for_says_why(fake: FakePostHog) -> None:
    failed = {**RUNNING, "complete": True, "error": True, "error_message": "Unknown event property `plann`."}
    fake.on("POST", "query/", httpx.Response(202, json={"query_status": RUNNING, "results": None}))
    fake.on("GET", "query/q-9/", httpx.Response(400, json={"query_status": failed}))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("query-run", {"query": TRENDS}))
    assert "Unknown event property `plann`" in message
    assert [r.route for r in fake.tool_requests()] == [f"POST {PREFIX}query/", f"GET {PREFIX}query/q-9/"]


async def test_an_async_run_asked_for_returns_at_once_without_waiting(fake: FakePostHog) -> None:
    fake.on("POST", "query/", httpx.Response(202, json={"query_status": RUNNING, "results": None}))
    app = make_app(fake)
    try:
        async with Client(build_server(app)) as client:
            result = payload(await client.call_tool("query-run", {"query": TRENDS, "refresh": "async"}))
    finally:
        await app.aclose()
    assert len(fake.tool_requests()) == 1
    assert result["note"] == "Still computing: call query-get with this client_query_id for the results."


async def test_over_http_a_query_that_outlives_the_deadline_returns_its_id_and_query_get_finishes_it() -> None:
    async with on_sandbox(SHORT, computing=60) as on, serving(on.app) as url, Client(http_client(url)) as client:
        began = time.monotonic()
        pending = payload(await client.call_tool("query-run", {"query": TRENDS}))
        took = time.monotonic() - began
        on.advance(61)
        done = payload(await client.call_tool("query-get", {"client_query_id": pending["client_query_id"]}))
    assert took < SHORT.deadline
    assert pending["client_query_id"] and on.requests("DELETE", "/query/") == []
    assert done["results"][0]["label"] == "signed_up"
