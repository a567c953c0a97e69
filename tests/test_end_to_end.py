"""End to end: the real `posthog-mcp` process over stdio, the SDK's Client, the sandbox over real HTTP."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_server.catalog import TOOLS
from tests.conftest import error_text, payload
from tests.sandbox_process import ROOT, Sandbox, sandbox_over_http, server_env

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with sandbox_over_http() as running:
        yield running


@asynccontextmanager
async def server(sandbox: Sandbox, key: str = "legacy", mode: str = "legacy", **env: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server"],
        env={"PATH": os.environ["PATH"], **server_env(sandbox, key, **env)},
        cwd=str(ROOT),
    )
    async with Client(params, mode=mode) as client:
        yield client


def posthog_saw(sandbox: Sandbox, method: str, path_end: str) -> list[dict[str, Any]]:
    """The requests the sandbox received for a project path ending in `path_end`."""
    return [r for r in sandbox.requests() if r["method"] == method and r["path"].endswith(path_end)]


async def walk(client: Client, tool: str, arguments: dict[str, Any]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(500):
        page = payload(await client.call_tool(tool, {**arguments, **({"cursor": cursor} if cursor else {})}))
        items += page["results"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("next_cursor never ended")


async def test_stdio_process_initializes_lists_tools_and_calls_one(sandbox: Sandbox, mode: str) -> None:
    async with server(sandbox, mode=mode) as client:
        assert client.server_info is not None
        assert client.server_info.name == "posthog-mcp"
        assert len((await client.list_tools()).tools) == len(TOOLS)
        page = payload(await client.call_tool("insights-list", {"limit": 5}))
    assert len(page["results"]) == 5
    assert page["count"] >= 30
    first = page["results"][0]
    assert page["url_template"].replace("{short_id}", first["short_id"]) == (
        f"{sandbox.url}/project/1/insights/{first['short_id']}"
    )


async def test_an_insight_life_cycle(sandbox: Sandbox) -> None:
    trends = {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "file_shared", "math": "total"}],
        "dateRange": {"date_from": "-14d"},
    }
    async with server(sandbox) as client:
        created = payload(
            await client.call_tool("insight-create", {"name": "E2E files shared", "query": trends, "tags": ["e2e"]})
        )
        insight_id, short_id = created["id"], created["short_id"]
        assert created["query"] == {"kind": "InsightVizNode", "source": trends}
        by_id = payload(await client.call_tool("insight-get", {"id": insight_id, "refresh": "blocking"}))
        by_short_id = payload(await client.call_tool("insight-get", {"id": short_id}))
        assert by_id["result"] and by_id["result"] == by_short_id["result"]
        updated = payload(
            await client.call_tool(
                "insight-update", {"id": insight_id, "name": "E2E shares", "description": "Shares per day"}
            )
        )
        assert updated["name"] == "E2E shares"
        history = payload(
            await client.call_tool("insights-activity-retrieve", {"id": insight_id, "include_values": True})
        )
        assert [entry["activity"] for entry in history["results"]][:2] == ["updated", "created"]
        name_change = next(c for c in history["results"][0]["detail"]["changes"] if c["field"] == "name")
        assert (name_change["before"], name_change["after"]) == ("E2E files shared", "E2E shares")
        viewed = payload(await client.call_tool("insights-mark-viewed", {"insight_ids": [insight_id]}))
        assert viewed == {"ok": True, "insight_ids": [insight_id]}
        recent = payload(await client.call_tool("insights-my-last-viewed", {}))
        assert recent["results"][0]["id"] == insight_id
        deleted = payload(await client.call_tool("insight-delete", {"id": insight_id}))
        assert deleted["deleted"] is True
        listed = payload(await client.call_tool("insights-list", {"search": "E2E shares"}))
        assert insight_id not in [item["id"] for item in listed["results"]]
        assert "was not found" in error_text(await client.call_tool("insight-get", {"id": insight_id}))
        payload(await client.call_tool("insight-update", {"id": insight_id, "deleted": False}))
        assert payload(await client.call_tool("insight-get", {"id": short_id}))["name"] == "E2E shares"
    creates = posthog_saw(sandbox, "POST", "/insights/")
    assert creates[-1]["headers"]["x-posthog-client"] == "mcp"
    assert creates[-1]["body"]["saved"] is True


async def test_a_computation_started_by_insight_get_is_cancelled_by_posthogs_id(sandbox: Sandbox) -> None:
    async with server(sandbox) as client:
        started = payload(await client.call_tool("insight-get", {"id": 101, "refresh": "force_async"}))
        cancelled = payload(
            await client.call_tool("insight-query-cancel", {"client_query_id": started["client_query_id"]})
        )
    sent = posthog_saw(sandbox, "GET", "/insights/101/")[-1]["query"]["client_query_id"]
    assert started["client_query_id"] == started["query_status"]["id"] != sent
    # PostHog shows a legacy key's scopes as ["*"], so the server cancels through query/, open to every such key.
    assert cancelled == {
        "ok": True,
        "message": "Cancelled query on clickhouse",
        "client_query_id": started["query_status"]["id"],
    }
    assert posthog_saw(sandbox, "DELETE", f"/query/{started['client_query_id']}/")


async def test_an_element_life_cycle(sandbox: Sandbox) -> None:
    async with server(sandbox) as client:
        created = payload(
            await client.call_tool(
                "element-create", {"tag_name": "button", "text": "E2E export", "attr_class": ["btn"], "order": 0}
            )
        )
        assert created["text"] == "E2E export" and "id" not in created
        # PostHog stores an API-created element without a group: the project's routes never see it.
        [unseen] = sandbox.elements("E2E export")
        assert "was not found" in error_text(await client.call_tool("element-get", {"id": unseen["id"]}))
        [legacy] = sandbox.elements("Choose Pro")
        assert payload(await client.call_tool("element-get", {"id": legacy["id"]}))["text"] == "Choose Pro"
        payload(await client.call_tool("element-update", {"id": legacy["id"], "text": "E2E choose"}))
        everything = await walk(client, "elements-list", {"limit": 100})
        assert "E2E choose" in [e.get("text") for e in everything]
        assert "E2E export" not in [e.get("text") for e in everything]
        assert payload(await client.call_tool("element-delete", {"id": legacy["id"]})) == {
            "ok": True,
            "id": legacy["id"],
            "deleted": True,
        }
        assert "was not found" in error_text(await client.call_tool("element-get", {"id": legacy["id"]}))


async def test_paging_through_250_insights_yields_each_once(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(
        base_url=f"{sandbox.url}/api/projects/1/", headers={"Authorization": f"Bearer {sandbox.keys['legacy']}"}
    ) as http:
        made: set[int] = set()

        async def create(numbers: range) -> None:
            for number in numbers:
                response = await http.post(
                    "insights/",
                    json={
                        "name": f"Paging {number}",
                        "tags": ["paging-250"],
                        "query": {"kind": "InsightVizNode", "source": {"kind": "TrendsQuery", "series": []}},
                    },
                )
                response.raise_for_status()
                made.add(response.json()["id"])

        async with anyio.create_task_group() as group:
            for start in range(0, 250, 25):
                group.start_soon(create, range(start, start + 25))
    assert len(made) == 250
    async with server(sandbox) as client:
        items = await walk(client, "insights-list", {"tags": ["paging-250"], "limit": 37})
    assert len(items) == 250
    assert {item["id"] for item in items} == made


async def test_paging_through_click_statistics_matches_posthogs_full_list(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {sandbox.keys['legacy']}"}) as http:
        response = await http.get(f"{sandbox.url}/api/projects/1/elements/stats/", params={"limit": 1000})
        everything = response.json()
    async with server(sandbox) as client:
        items = await walk(client, "elements-stats-retrieve", {"limit": 9})
    assert [row["hash"] for row in items] == [row["hash"] for row in everything]
    assert len(items) > 20


async def test_a_read_only_scoped_key_sees_and_may_call_only_what_it_allows(sandbox: Sandbox) -> None:
    sandbox.forget_requests()
    async with server(sandbox, key="read_only") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        refused = await client.call_tool("insight-create", {"query": {"kind": "TrendsQuery", "series": []}})
        history = await client.call_tool("insights-activity-retrieve", {"id": 101})
    assert names == {
        "insights-list",
        "insight-get",
        "insights-activity-retrieve",
        "insights-mark-viewed",
        "elements-list",
        "element-get",
        "elements-stats-retrieve",
        "elements-values-list",
    }
    assert "needs the API key scope 'insight:write'" in error_text(refused)
    assert not history.is_error
    assert posthog_saw(sandbox, "POST", "/insights/") == []


async def test_an_all_access_key_hears_why_posthog_refuses_the_legacy_only_endpoints(sandbox: Sandbox) -> None:
    async with server(sandbox, key="all_access") as client:
        result = await client.call_tool("insights-my-last-viewed", {})
    assert "Only a legacy unscoped key can call it" in error_text(result)


async def test_read_only_mode_offers_no_writes(sandbox: Sandbox) -> None:
    async with server(sandbox, POSTHOG_MCP_READ_ONLY="true") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        refused = await client.call_tool("element-delete", {"id": 1})
    assert not names & {
        "insight-create",
        "insight-update",
        "insight-delete",
        "insights-mark-viewed",
        "insight-query-cancel",
        "element-create",
        "element-update",
        "element-delete",
    }
    assert "runs read-only" in error_text(refused)


async def test_an_organisation_that_restricts_mcp_to_read_only_is_reported_as_such() -> None:
    with sandbox_over_http("--mcp-read-only-org") as restricted:
        async with server(restricted) as client:
            result = await client.call_tool("insight-update", {"id": 101, "name": "nope"})
            allowed = await client.call_tool("insights-list", {"limit": 1})
    assert "Your organization restricts MCP access to read-only" in error_text(result)
    assert not allowed.is_error


class TestFaults:
    """Fault injection drives the retry and error paths end to end."""

    async def test_a_get_answered_5xx_twice_is_retried_and_succeeds(self, sandbox: Sandbox) -> None:
        sandbox.forget_requests()
        sandbox.fault(kind="status", path="/api/projects/1/insights/101/", status=503, count=2)
        async with server(sandbox) as client:
            result = payload(await client.call_tool("insight-get", {"id": 101}))
        assert result["id"] == 101
        assert len(posthog_saw(sandbox, "GET", "/insights/101/")) == 3

    async def test_a_post_answered_500_is_sent_once_and_reported(self, sandbox: Sandbox) -> None:
        sandbox.forget_requests()
        sandbox.fault(kind="status", path="/api/projects/1/elements/", method="POST", status=500, html=True)
        async with server(sandbox) as client:
            result = await client.call_tool("element-create", {"tag_name": "a", "text": "once"})
        assert "not repeated automatically" in error_text(result)
        assert len(posthog_saw(sandbox, "POST", "/elements/")) == 1

    async def test_a_write_whose_connection_drops_after_it_was_applied_is_not_duplicated(
        self, sandbox: Sandbox
    ) -> None:
        sandbox.forget_requests()
        sandbox.fault(kind="drop", path="/api/projects/1/elements/", method="POST", processed=True)
        async with server(sandbox) as client:
            result = await client.call_tool("element-create", {"tag_name": "a", "text": "dropped-once"})
        assert "check with elements-list whether it took effect" in error_text(result)
        assert len(posthog_saw(sandbox, "POST", "/elements/")) == 1
        assert len(sandbox.elements("dropped-once")) == 1

    async def test_a_rate_limit_is_waited_out_honouring_retry_after(self, sandbox: Sandbox) -> None:
        sandbox.forget_requests()
        sandbox.fault(kind="rate_limit", path="/api/projects/1/elements/values/", retry_after=1)
        async with server(sandbox) as client:
            result = payload(await client.call_tool("elements-values-list", {"key": "tag_name"}))
        assert result["count"] > 0
        assert len(posthog_saw(sandbox, "GET", "/elements/values/")) == 2

    async def test_malformed_json_is_reported(self, sandbox: Sandbox) -> None:
        sandbox.fault(kind="malformed_json", path="/api/projects/1/elements/stats/")
        async with server(sandbox) as client:
            result = await client.call_tool("elements-stats-retrieve", {})
        assert "not JSON" in error_text(result)

    async def test_a_slow_answer_beyond_the_timeout_is_reported_without_retrying(self, sandbox: Sandbox) -> None:
        sandbox.forget_requests()
        sandbox.fault(kind="delay", path="/api/projects/1/insights/102/", seconds=3)
        async with server(sandbox, POSTHOG_MCP_TIMEOUT="1") as client:
            result = await client.call_tool("insight-get", {"id": 102})
        assert "did not answer in time" in error_text(result)
        assert len(posthog_saw(sandbox, "GET", "/insights/102/")) == 1


async def test_a_cursor_alone_walks_a_filtered_list_to_its_end(sandbox: Sandbox) -> None:
    sandbox.forget_requests()
    async with server(sandbox) as client:
        first = payload(await client.call_tool("elements-stats-retrieve", {"include": ["$rageclick"], "limit": 2}))
        rest = await walk(client, "elements-stats-retrieve", {"cursor": first["next_cursor"]})
    seen = posthog_saw(sandbox, "GET", "/elements/stats/")
    assert len(seen) >= 3
    assert all(request["query"].get("include") == '["$rageclick"]' for request in seen)
    assert all(request["query"]["limit"] == "2" for request in seen)
    rows = first["results"] + rest
    assert {row["type"] for row in rows} == {"$rageclick"}
    assert len({row["hash"] for row in rows}) == len(rows)


async def test_signups_last_week_without_a_saved_insight_is_one_query_run(sandbox: Sandbox) -> None:
    sandbox.forget_requests()
    query = {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "signed_up", "math": "total"}],
        "dateRange": {"date_from": "-7d"},
    }
    async with server(sandbox) as client:
        result = payload(await client.call_tool("query-run", {"query": query}))
    (sent,) = posthog_saw(sandbox, "POST", "/query/")
    assert sent["body"] == {"query": query, "refresh": "async"}
    (row,) = result["results"]
    assert row["label"] == "signed_up"
    assert row["summary"]["total"] == sum(row["data"]) > 0
    assert "filter" not in row and "action" not in row and "count" not in row
    assert posthog_saw(sandbox, "POST", "/insights/") == []


async def test_a_compared_trend_over_stdio_sums_up_against_posthogs_previous_period(sandbox: Sandbox) -> None:
    sandbox.forget_requests()
    query = {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "$pageview"}],
        "dateRange": {"date_from": "-14d"},
        "compareFilter": {"compare": True},
    }
    async with server(sandbox) as client:
        result = payload(await client.call_tool("query-run", {"query": query}))
    (sent,) = posthog_saw(sandbox, "POST", "/query/")
    assert sent["body"]["query"] == query
    now, then = result["results"]
    assert (now["compare_label"], then["compare_label"]) == ("current", "previous")
    total, before = sum(now["data"]), sum(then["data"])
    assert now["summary"]["total"] == total
    assert now["summary"]["change"] == f"{round(100 * (total - before) / before, 1):+g}%"
    assert now["summary"]["vs"] == "previous period"
    # The range ends now, so its last day is still in progress and left out of last, min and max.
    assert now["summary"]["in_progress"] == now["days"][-1]
    assert now["summary"]["last"] == now["data"][-2]
    assert (result["complete"], result["rows"]) == (True, 2)
    assert result["query"] == query


async def test_a_funnel_over_stdio_converts_each_step_with_its_median_time(sandbox: Sandbox) -> None:
    query = {
        "kind": "FunnelsQuery",
        "series": [{"kind": "EventsNode", "event": e} for e in ("$pageview", "signed_up", "upgraded_plan")],
    }
    async with server(sandbox) as client:
        result = payload(await client.call_tool("query-run", {"query": query}))
    first, second, third = result["results"]
    assert "from_first" not in first and "median_time" not in first
    assert second["from_first"] == f"{round(100 * second['count'] / first['count'], 1):g}%"
    assert third["from_previous"] == f"{round(100 * third['count'] / second['count'], 1):g}%"
    # The sandbox's median times are 2,700 s per step (mcp_server/sandbox/results.py).
    assert (second["median_time"], third["median_time"]) == ("45 min", "1.5 h")


async def test_an_unknown_event_name_is_found_with_event_definitions_list_then_queried(sandbox: Sandbox) -> None:
    async with server(sandbox) as client:
        found = payload(await client.call_tool("event-definitions-list", {"search": "sign up"}))
        name = found["results"][0]["name"]
        sql = {"kind": "HogQLQuery", "query": f"SELECT count() AS signups FROM events WHERE event = '{name}'"}
        result = payload(await client.call_tool("query-run", {"query": sql}))
    assert [item["name"] for item in found["results"]] == ["signed_up", "signed_up_v1"]
    assert set(found["results"][0]) <= {"name", "description", "last_seen_at", "tags", "verified"}
    assert result["columns"] == ["signups"]
    assert result["note"] == "The SQL has no LIMIT, so PostHog returned at most its default of 100 rows."


async def test_properties_seen_with_an_event_and_dashboards_by_name(sandbox: Sandbox) -> None:
    sandbox.forget_requests()
    async with server(sandbox) as client:
        properties = payload(await client.call_tool("property-definitions-list", {"event_names": ["upgraded_plan"]}))
        dashboards = payload(await client.call_tool("dashboards-list", {}))
    (sent,) = posthog_saw(sandbox, "GET", "/property_definitions/")
    assert sent["query"]["filter_by_event_names"] == "true"
    assert [item["name"] for item in properties["results"]] == ["amount_usd", "plan"]
    assert {"id": 1, "name": "Product KPIs", "description": "The numbers we review every Monday."}.items() <= (
        next(item for item in dashboards["results"] if item["id"] == 1).items()
    )
    assert dashboards["count"] == 5


async def test_a_scoped_key_without_query_read_is_not_offered_the_new_tools(sandbox: Sandbox) -> None:
    async with server(sandbox, key="read_only") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        refused = await client.call_tool("query-run", {"query": {"kind": "HogQLQuery", "query": "SELECT 1"}})
    assert not names & {"query-run", "query-get", "event-definitions-list", "insight-query-cancel"}
    assert "needs the API key scope 'query:read'" in error_text(refused)


async def test_a_host_completes_an_insight_and_gets_the_explain_prompt_over_stdio(sandbox: Sandbox) -> None:
    sandbox.forget_requests()
    async with server(sandbox) as client:
        names = {prompt.name for prompt in (await client.list_prompts()).prompts}
        ref = types.PromptReference(name="explain-insight")
        completion = (await client.complete(ref, {"name": "short_id", "value": "signups"})).completion
        prompt = await client.get_prompt("explain-insight", {"short_id": completion.values[0]})
    assert {"explain-insight", "weekly-report", "page-clicks"} <= names
    [search] = posthog_saw(sandbox, "GET", "/insights/")
    assert search["query"]["search"] == "signups"
    assert completion.values and all(len(value) == 8 for value in completion.values)
    content = prompt.messages[0].content
    assert isinstance(content, types.TextContent)
    assert f'insight-get with id "{completion.values[0]}"' in content.text


async def test_a_blocking_query_run_waits_for_posthogs_computation_over_stdio(sandbox: Sandbox) -> None:
    query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "signed_up"}]}
    sandbox.forget_requests()
    async with server(sandbox) as client:
        result = payload(await client.call_tool("query-run", {"query": query}))
    [started] = posthog_saw(sandbox, "POST", "/query/")
    polls = [r for r in sandbox.requests() if r["method"] == "GET" and "/query/" in r["path"]]
    assert started["body"]["refresh"] == "async"
    assert 1 <= len(polls) <= 5
    assert result["results"][0]["label"] == "signed_up" and "client_query_id" not in result
