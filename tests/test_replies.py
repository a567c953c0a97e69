"""Whatever PostHog sends back: strings no UTF-8 writer can encode, answers that never end, odd JSON shapes."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp_server.posthog import RetryPolicy
from mcp_server.server import success
from tests.conftest import KEY, PROJECT, FakePostHog, connect, error_text, payload
from tests.http_server import running
from tests.posthog_json import insight
from tests.raw_posthog import client_of, raw_posthog, reply, trickle
from tests.sandbox_process import ROOT

pytestmark = pytest.mark.anyio

BAD_DETAIL = {"type": "validation_error", "code": "invalid", "detail": "bad \udc80", "attr": None}


def with_lone_surrogates(number: int) -> dict[str, Any]:
    """An insight whose name holds an unpaired surrogate, and whose result has one in a key."""
    return {**insight(number), "name": "Signups \ud800", "result": [{"label \udc80": 1}]}


def as_json(status: int, body: Any) -> httpx.Response:
    """PostHog's bytes as Python's json module writes them: lone surrogates become \\uXXXX escapes."""
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


@asynccontextmanager
async def stdio_server(posthog_url: str) -> AsyncIterator[Client]:
    env = {
        "PATH": os.environ["PATH"],
        "POSTHOG_PERSONAL_API_KEY": KEY,
        "POSTHOG_HOST": posthog_url,
        "POSTHOG_PROJECT_ID": str(PROJECT),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server"], env=env, cwd=str(ROOT))
    async with Client(params, mode="legacy") as client:
        yield client


async def test_lone_surrogates_from_posthog_leave_the_stdio_server_answering() -> None:
    async with raw_posthog() as posthog:
        posthog.on("insights/1/", reply(400, BAD_DETAIL))
        posthog.on("insights/2/", reply(200, with_lone_surrogates(2)))
        posthog.on("insights/3/", reply(200, insight(3)))
        # A server that died leaves the client waiting: bound the wait.
        with anyio.fail_after(30):
            async with stdio_server(posthog.url) as client:
                refused = error_text(await client.call_tool("insight-get", {"id": 1}))
                odd = payload(await client.call_tool("insight-get", {"id": 2}))
                later = payload(await client.call_tool("insight-get", {"id": 3}))
    assert "bad \ufffd" in refused
    assert odd["name"] == "Signups \ufffd"
    assert odd["result"] == [{"label \ufffd": 1}]
    assert later["id"] == 3


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_lone_surrogates_from_posthog_leave_the_http_transports_answering(transport: str) -> None:
    fake = FakePostHog()
    fake.on("GET", "insights/1/", as_json(400, BAD_DETAIL))
    fake.on("GET", "insights/2/", as_json(200, with_lone_surrogates(2)))
    fake.on("GET", "insights/3/", insight(3))
    async with running(fake, transport=transport) as url:
        connection = streamable_http_client(f"{url}/mcp") if transport == "http" else sse_client(f"{url}/sse")
        with anyio.fail_after(30):
            async with Client(connection, mode="legacy") as client:
                refused = error_text(await client.call_tool("insight-get", {"id": 1}))
                odd = payload(await client.call_tool("insight-get", {"id": 2}))
                later = payload(await client.call_tool("insight-get", {"id": 3}))
    assert "bad \ufffd" in refused
    assert odd["result"] == [{"label \ufffd": 1}]
    assert later["id"] == 3


async def test_surrogates_encoded_as_raw_bytes_are_replaced_too(fake: FakePostHog) -> None:
    body = json.dumps(insight(2)).replace('"Weekly signups 2"', '"Pageview \\u00e9 \xed\xb2\x80"')
    fake.on("GET", "insights/2/", httpx.Response(200, content=body.encode("latin-1")))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 2}))
    assert result["name"] == "Pageview \u00e9 \ufffd\ufffd\ufffd"


async def test_a_posthog_paired_surrogate_escape_stays_one_character(fake: FakePostHog) -> None:
    fake.on("GET", "insights/2/", as_json(200, {**insight(2), "name": "Launch \U0001f680"}))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 2}))
    assert result["name"] == "Launch \U0001f680"


def test_a_tool_result_holding_lone_surrogates_is_still_written() -> None:
    result = success({"name \udc80": ["x \ud800 y"], "nested": {"k": "\udfff"}})
    written = json.loads(result.model_dump_json(by_alias=True, exclude_none=True))
    assert written["structuredContent"] == {"name \ufffd": ["x \ufffd y"], "nested": {"k": "\ufffd"}}
    assert json.loads(written["content"][0]["text"]) == written["structuredContent"]


async def test_a_body_that_trickles_in_is_cut_off_at_the_calls_deadline() -> None:
    async with raw_posthog() as posthog:
        posthog.on("insights/1/", trickle(0.05))
        async with client_of(posthog, RetryPolicy(deadline=2.0), timeout=1.0) as client:
            started = time.monotonic()
            with anyio.fail_after(10):
                message = error_text(await client.call_tool("insight-get", {"id": 1}))
            elapsed = time.monotonic() - started
    assert "did not finish within the time allowed for one call (2 s)" in message
    assert 1.5 < elapsed < 3.5


async def test_a_write_whose_answer_trickles_past_the_deadline_is_sent_once_and_says_to_check() -> None:
    async with raw_posthog() as posthog:
        posthog.on("elements/", trickle(0.05))
        async with client_of(posthog, RetryPolicy(deadline=1.0), timeout=1.0) as client:
            with anyio.fail_after(10):
                message = error_text(await client.call_tool("element-create", {"tag_name": "a"}))
    assert "not repeated automatically" in message
    assert posthog.seen.count("POST /api/projects/42/elements/") == 1


class Endless(httpx.AsyncByteStream):
    """A body that never ends, counting what it was asked for."""

    chunk = b" " * 16_384

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            await anyio.sleep(0.001)
            self.sent += len(self.chunk)
            yield self.chunk


async def test_an_endless_answer_is_cut_at_the_reply_cap_with_the_way_to_ask_for_less(fake: FakePostHog) -> None:
    body = Endless()
    fake.on("GET", "insights/", httpx.Response(200, stream=body, headers={"Content-Type": "application/json"}))
    async with connect(fake, max_reply=100_000) as client:
        with anyio.fail_after(5):
            message = error_text(await client.call_tool("insights-list", {}))
    assert "larger than 100,000 bytes, the most this server reads (POSTHOG_MCP_MAX_REPLY" in message
    assert "a smaller limit" in message
    assert 100_000 < body.sent <= 100_000 + len(Endless.chunk)
    assert len(fake.tool_requests()) == 1


async def test_an_answer_declaring_a_length_beyond_the_cap_is_refused_unread(fake: FakePostHog) -> None:
    body = Endless()
    headers = {"Content-Type": "application/json", "Content-Length": "500000000"}
    fake.on("GET", "insights/", httpx.Response(200, stream=body, headers=headers))
    async with connect(fake, max_reply=100_000) as client:
        message = error_text(await client.call_tool("insights-list", {}))
    assert "larger than 100,000 bytes" in message
    assert body.sent == 0


async def test_a_write_whose_answer_is_over_the_cap_is_not_repeated_and_says_to_check(fake: FakePostHog) -> None:
    fake.on("PATCH", "elements/8/", httpx.Response(200, stream=Endless()))
    async with connect(fake, max_reply=100_000) as client:
        with anyio.fail_after(5):
            message = error_text(await client.call_tool("element-update", {"id": 8, "text": "Buy"}))
    assert "PostHog accepted element-update" in message
    assert "check with element-get" in message
    assert [r.method for r in fake.tool_requests()] == ["PATCH"]


async def test_an_endless_error_page_is_cut_short_and_the_error_still_answered(fake: FakePostHog) -> None:
    body = Endless()
    fake.on("POST", "elements/", httpx.Response(502, stream=body, headers={"Content-Type": "text/html"}))
    async with connect(fake) as client:
        with anyio.fail_after(5):
            message = error_text(await client.call_tool("element-create", {"tag_name": "a"}))
    assert "internal error (502)" in message
    assert body.sent <= 65_536 + len(Endless.chunk)


async def test_an_answer_over_the_response_budget_but_under_the_reply_cap_is_shortened_not_refused(
    fake: FakePostHog,
) -> None:
    big = insight(12, result=[{"data": list(range(20_000))}])
    assert 5_000 < len(json.dumps(big)) < 200_000
    fake.on("GET", "insights/12/", big)
    async with connect(fake, response_budget=5_000, max_reply=200_000) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert result["id"] == 12
    assert "truncated" in result


@pytest.mark.parametrize("body", [b"[1, 2]", b'"done"', b"17", b"null", b""])
async def test_an_answer_to_insight_get_that_is_not_an_object_is_an_error(fake: FakePostHog, body: bytes) -> None:
    fake.on("GET", "insights/12/", httpx.Response(200, content=body))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insight-get", {"id": 12}))
    assert "PostHog's answer to insight-get was not a JSON object as expected" in message


async def test_a_tool_posthog_answers_with_no_body_refuses_a_non_object_answer(fake: FakePostHog) -> None:
    fake.on("POST", "insights/viewed/", httpx.Response(201, content=b"[]"))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insights-mark-viewed", {"insight_ids": [1]}))
    assert "was not a JSON object" in message


async def test_nan_and_infinity_from_posthog_become_null(fake: FakePostHog) -> None:
    body = json.dumps({**insight(12), "result": [{"count": 1.5}]}).replace("1.5", "NaN")
    fake.on("GET", "insights/12/", httpx.Response(200, content=body.encode()))
    async with connect(fake) as client:
        result = await client.call_tool("insight-get", {"id": 12})
    assert json.loads(result.content[0].text)["result"] == [{}]
