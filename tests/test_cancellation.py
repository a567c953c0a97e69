"""A call the host cancels (notifications/cancelled) stops talking to PostHog at once and leaves nothing behind."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest

from tests.conftest import payload
from tests.posthog_json import insight
from tests.raw_posthog import client_of, raw_posthog, reply

pytestmark = pytest.mark.anyio


async def test_a_cancelled_call_closes_its_posthog_connection_within_a_second_and_later_calls_work() -> None:
    async with raw_posthog() as posthog:
        posthog.on("insights/1/", posthog.hang())
        posthog.on("insights/2/", reply(200, insight(2)))
        async with client_of(posthog) as client:
            payload(await client.call_tool("insight-get", {"id": 2}))
            tasks_before = len(asyncio.all_tasks())
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "insight-get", {"id": 1})
                with anyio.fail_after(5):
                    await posthog.hanging.wait()
                # The SDK's client sends notifications/cancelled for a call whose caller is cancelled.
                group.cancel_scope.cancel()
            cancelled = time.monotonic()
            with anyio.fail_after(5):
                await posthog.hung_up.wait()
            closed_after = time.monotonic() - cancelled
            later = payload(await client.call_tool("insight-get", {"id": 2}))
            await anyio.sleep(0.05)
            tasks_after = len(asyncio.all_tasks())
    assert closed_after < 1.0
    assert later["id"] == 2
    assert tasks_after == tasks_before
    assert posthog.seen.count("GET /api/projects/42/insights/1/") == 1
