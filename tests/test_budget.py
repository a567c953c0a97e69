"""The response budget: every result fits it, in work that grows with the reply, without stalling other requests."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import anyio
import pytest

from mcp_server import shaping
from mcp_server.catalog import BY_NAME, TOOLS
from mcp_server.posthog import OFF_LOOP_BYTES
from tests.conftest import FakePostHog, connect, payload
from tests.posthog_json import insight, series
from tests.test_pages import offset_pages

pytestmark = pytest.mark.anyio


def compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


async def test_a_reply_of_4000_small_fields_fits_the_budget_measuring_each_field_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reply = {f"field_{n:04d}": f"value {n}" for n in range(4000)}
    calls = 0
    measure = shaping.size

    def counted(value: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 20_000:
            raise AssertionError("fitting measured the reply's fields over and over")
        return measure(value)

    monkeypatch.setattr(shaping, "size", counted)
    fake = FakePostHog().on("POST", "insights/viewed/", reply)
    async with connect(fake, response_budget=20_000) as client:
        result = payload(await client.call_tool("insights-mark-viewed", {"insight_ids": [1]}))
    assert compact(reply) > 60_000
    assert compact(result) <= 20_000
    assert result["insight_ids"] == [1]
    assert "dropped field_" in result["truncated"]
    assert calls < 3 * len(reply)


def varied(rng: random.Random, depth: int) -> Any:
    """Arbitrary JSON of the kinds PostHog sends: long strings, long lists, wide and nested objects."""
    kind = rng.choice(["int", "text", "list", "object"] if depth < 3 else ["int", "text"])
    if kind == "int":
        return rng.randrange(-(10**12), 10**12)
    if kind == "text":
        start = rng.randrange(8)
        return ('ab"\\é\n x' * 400)[start : start + rng.choice([1, 10, 300, 3000])]
    wide = [0, 1, 2, 20, 200][: 5 - depth]
    if kind == "list":
        return [varied(rng, depth + 1) for _ in range(rng.choice(wide))]
    return {f"k{n}": varied(rng, depth + 1) for n in range(rng.choice(wide) or 1)}


@pytest.mark.parametrize("seed", range(60))
def test_any_object_is_fitted_within_the_budget(seed: int) -> None:
    rng = random.Random(seed)
    obj: dict[str, Any] = {f"f{n}": varied(rng, 1) for n in range(rng.choice([1, 2, 5, 50, 500]))}
    obj.update(rng.choice([{}, {"id": 12, "short_id": "Ab000012", "name": "n" * rng.choice([5, 5000])}]))
    budget = rng.choice([600, 1000, 5000, 40_000])
    fitted = shaping.fit_object(obj, budget, BY_NAME["insight-get"].truncation_hint)
    assert compact(fitted) <= budget
    if compact(obj) > budget:
        assert "truncated" in fitted
        assert {"id", "short_id"} & set(obj) <= set(fitted)


async def test_ping_is_answered_while_a_large_reply_is_being_shaped(monkeypatch: pytest.MonkeyPatch) -> None:
    shaping_started, ping_answered = threading.Event(), threading.Event()
    fit = shaping.fit_object
    outcome: dict[str, Any] = {}

    def slow_fit(*args: Any) -> dict[str, Any]:
        shaping_started.set()
        # Holds the shaping until ping is answered: on the event loop, ping could not be answered meanwhile.
        outcome["ping answered during shaping"] = ping_answered.wait(5)
        return fit(*args)

    monkeypatch.setattr(shaping, "fit_object", slow_fit)
    big = insight(12, result=[series(24 * 365) for _ in range(5)])
    fake = FakePostHog().on("GET", "insights/12/", big)
    async with connect(fake) as client, anyio.create_task_group() as group:

        async def call() -> None:
            outcome["call"] = await client.call_tool("insight-get", {"id": 12})

        group.start_soon(call)
        await anyio.to_thread.run_sync(shaping_started.wait, 10)
        await client.send_ping()
        ping_answered.set()
    assert outcome["ping answered during shaping"] is True
    assert compact(payload(outcome["call"])) <= 40_000


@pytest.mark.parametrize(("points", "off_loop"), [(30, False), (24 * 365, True)])
async def test_only_a_large_reply_is_decoded_and_shaped_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, points: int, off_loop: bool
) -> None:
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(function, "__name__", ""))
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    reply = insight(12, result=[series(points) for _ in range(5)])
    assert (len(json.dumps(reply)) >= OFF_LOOP_BYTES) is off_loop
    fake = FakePostHog().on("GET", "insights/12/", reply)
    async with connect(fake) as client:
        payload(await client.call_tool("insight-get", {"id": 12}))
    assert hops == (["decode", "_result"] if off_loop else [])


async def test_a_page_cut_by_the_budget_says_how_many_fit_and_that_next_cursor_continues() -> None:
    everything = [insight(n, basic=True) for n in range(1, 41)]
    fake = FakePostHog().on("GET", "insights/", offset_pages(everything))
    async with connect(fake, response_budget=3000) as client:
        page = payload(await client.call_tool("insights-list", {"limit": 20}))
        kept = len(page["results"])
        rest = payload(await client.call_tool("insights-list", {"limit": 20, "cursor": page["next_cursor"]}))
    assert 0 < kept < 20
    assert f"Only the first {kept} of the 20 items" in page["truncated"]
    assert "next_cursor" in page["truncated"]
    assert rest["results"][0]["id"] == kept + 1
    assert compact(page) <= 3000


async def test_a_page_cut_by_the_budget_names_only_the_creators_of_the_items_it_keeps() -> None:
    everything = [
        {**insight(n, basic=True), "created_by": {"id": n, "first_name": f"User {n}", "email": f"u{n}@hedgebox.net"}}
        for n in range(1, 41)
    ]
    fake = FakePostHog().on("GET", "insights/", offset_pages(everything))
    async with connect(fake, response_budget=3000) as client:
        page = payload(await client.call_tool("insights-list", {"limit": 20}))
    assert 0 < len(page["results"]) < 20
    assert page["users"] == {str(item["created_by"]): f"User {item['created_by']}" for item in page["results"]}
    assert compact(page) <= 3000


async def test_a_page_within_the_budget_carries_no_note() -> None:
    fake = FakePostHog().on("GET", "insights/", offset_pages([insight(n, basic=True) for n in range(1, 6)]))
    async with connect(fake) as client:
        page = payload(await client.call_tool("insights-list", {"limit": 20}))
    assert "truncated" not in page


async def test_a_bare_list_cut_by_the_budget_says_how_many_fit_and_has_no_further_page() -> None:
    values = [{"name": f"{n:03d} " + "v" * 200} for n in range(100)]
    fake = FakePostHog().on("GET", "elements/values/", values)
    async with connect(fake, response_budget=3000) as client:
        page = payload(await client.call_tool("elements-values-list", {"key": "text"}))
    kept = len(page["results"])
    assert 0 < kept < 100
    assert f"Only the first {kept} of the 100 items" in page["truncated"]
    assert page["truncated"].endswith("Pass value to narrow the list.")
    assert page["next_cursor"] is None
    assert compact(page) <= 3000


async def test_a_truncated_insight_suggests_only_reads_to_get_the_rest() -> None:
    big = insight(12, result=[{"data": list(range(3000)), "label": f"series {n}"} for n in range(5)])
    fake = FakePostHog().on("GET", "insights/12/", big)
    async with connect(fake, response_budget=20_000) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    writes = [tool.name for tool in TOOLS if not tool.read_only]
    assert "POSTHOG_MCP_RESPONSE_BUDGET" in result["truncated"]
    assert [name for name in writes if name in result["truncated"]] == []
    assert [tool.name for tool in TOOLS if any(name in tool.truncation_hint for name in writes)] == []
