"""Long calls report progress to hosts that ask for it, until they finish."""

from __future__ import annotations

import anyio
import httpx
import pytest

from tests.conftest import FakePostHog, connect, error_text, payload
from tests.posthog_json import insight, series

pytestmark = pytest.mark.anyio


def slow(response: httpx.Response, seconds: float):  # type: ignore[no-untyped-def]
    async def respond(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(seconds)
        return response

    return respond


async def test_a_blocking_insight_computation_reports_progress_until_it_finishes(mode: str) -> None:
    fake = FakePostHog().on("GET", "insights/12/", slow(httpx.Response(200, json=insight(12, result=[series()])), 0.5))
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with connect(fake, mode, progress_interval=0.1) as client:
        result = await client.call_tool("insight-get", {"id": 12, "refresh": "blocking"}, progress_callback=on_progress)
    assert payload(result)["id"] == 12
    assert len(reports) >= 3
    progress = [p for p, _, _ in reports]
    assert progress == sorted(progress)
    assert all(message and message.startswith("Waiting for PostHog") for _, _, message in reports)


async def test_progress_stops_when_the_call_fails() -> None:
    fake = FakePostHog().on("GET", "elements/stats/", slow(httpx.Response(500), 0.25))
    reports: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append(progress)

    async with connect(fake, progress_interval=0.1) as client:
        result = await client.call_tool("elements-stats-retrieve", {}, progress_callback=on_progress)
        count_at_end = len(reports)
        await anyio.sleep(0.3)
    assert "internal error" in error_text(result)
    assert count_at_end >= 1
    assert len(reports) == count_at_end


async def test_a_quick_call_sends_no_progress() -> None:
    fake = FakePostHog().on("GET", "elements/5/", {"id": 5, "tag_name": "a"})
    reports: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append(progress)

    async with connect(fake, progress_interval=5) as client:
        payload(await client.call_tool("element-get", {"id": 5}, progress_callback=on_progress))
    assert reports == []
