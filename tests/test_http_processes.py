"""The HTTP server as real processes against the sandbox: stateless replicas, SIGTERM, a bounded load."""

from __future__ import annotations

import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_server.catalog import TOOLS
from tests.conftest import payload
from tests.sandbox_process import Sandbox, process_printing_url, sandbox_over_http, server_env

pytestmark = pytest.mark.anyio

SERVING = re.compile(r"serving streamable HTTP at (http://\S+/mcp)")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with sandbox_over_http() as running:
        yield running


@contextmanager
def http_server(sandbox: Sandbox, *flags: str, **env: str) -> Iterator[tuple[Any, str]]:
    command = [sys.executable, "-m", "mcp_server", "--transport", "http", "--port", "0", *flags]
    with process_printing_url(command, server_env(sandbox, **env), SERVING) as (process, url):
        yield process, url


class Alternating(httpx2.AsyncBaseTransport):
    """Sends each request to the next of several servers in turn, like a load balancer without affinity."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.sent: Counter[int] = Counter()
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[sum(self.sent.values()) % len(self.ports)]
        self.sent[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_stateless_replicas_serve_one_client_alternating_between_them(sandbox: Sandbox, mode: str) -> None:
    with ExitStack() as stack:
        urls = [stack.enter_context(http_server(sandbox, "--stateless"))[1] for _ in range(2)]
        ports = [int(url.rsplit(":", 1)[1].split("/")[0]) for url in urls]
        balancer = Alternating(ports)
        http = httpx2.AsyncClient(transport=balancer, timeout=30)
        async with Client(streamable_http_client(urls[0], http_client=http), mode=mode) as client:
            assert len((await client.list_tools()).tools) == len(TOOLS)
            for number in range(6):
                page = payload(await client.call_tool("insights-list", {"limit": 2 + number}))
                assert len(page["results"]) == 2 + number
            trends = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
            created = payload(await client.call_tool("insight-create", {"name": f"replica {mode}", "query": trends}))
            assert payload(await client.call_tool("insight-get", {"id": created["id"]}))["name"] == f"replica {mode}"
    assert set(balancer.sent) == set(ports)
    assert min(balancer.sent.values()) >= 4


async def test_sigterm_lets_the_call_in_flight_finish_then_exits(sandbox: Sandbox) -> None:
    sandbox.fault(kind="delay", path="/api/projects/1/insights/103/", seconds=1.5)
    with http_server(sandbox, "--shutdown-grace", "10") as (process, url):
        # The 2026-07-28 protocol keeps no session, so the client has nothing left to tell a server that has gone.
        async with Client(streamable_http_client(url), mode="auto") as client:
            await client.list_tools()  # the client checks results against the listed tools; list them while it can
            outcome: dict[str, Any] = {}

            async def call() -> None:
                outcome["result"] = await client.call_tool("insight-get", {"id": 103})

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await anyio.sleep(0.5)
                process.send_signal(signal.SIGTERM)
                started = time.monotonic()
        assert payload(outcome["result"])["id"] == 103
        # uvicorn re-raises the signal once it has shut down, as a process stopped by SIGTERM should.
        assert await anyio.to_thread.run_sync(process.wait, 15) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 10
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(url.replace("/mcp", "/healthz"), timeout=2)


async def test_twenty_concurrent_clients_make_fifty_calls_each_without_a_failure(sandbox: Sandbox) -> None:
    failures: list[str] = []
    calls = Counter[str]()
    with http_server(sandbox) as (_, url):

        async def one_client(number: int) -> None:
            async with Client(streamable_http_client(url), mode="legacy") as client:
                for call in range(50):
                    tool, arguments = [
                        ("insights-list", {"limit": 5}),
                        ("insight-get", {"id": 101 + (number + call) % 20}),
                        ("elements-values-list", {"key": "tag_name"}),
                        ("elements-stats-retrieve", {"limit": 3}),
                    ][call % 4]
                    result = await client.call_tool(tool, arguments)
                    calls[tool] += 1
                    if result.is_error:
                        failures.append(f"{tool}: {result.content[0].text}")  # type: ignore[union-attr]

        with anyio.fail_after(240):
            async with anyio.create_task_group() as group:
                for number in range(20):
                    group.start_soon(one_client, number)
    assert failures == []
    assert sum(calls.values()) == 1000


async def test_a_cursor_alone_continues_a_list_on_another_stateless_replica(sandbox: Sandbox) -> None:
    with ExitStack() as stack:
        urls = [stack.enter_context(http_server(sandbox, "--stateless"))[1] for _ in range(2)]
        balancer = Alternating([int(url.rsplit(":", 1)[1].split("/")[0]) for url in urls])
        http = httpx2.AsyncClient(transport=balancer, timeout=30)
        async with Client(streamable_http_client(urls[0], http_client=http), mode="auto") as client:
            page = payload(await client.call_tool("insights-list", {"insight": "FUNNELS", "limit": 1}))
            names = [item["name"] for item in page["results"]]
            for _ in range(50):
                if page["next_cursor"] is None:
                    break
                page = payload(await client.call_tool("insights-list", {"cursor": page["next_cursor"]}))
                names += [item["name"] for item in page["results"]]
    funnels = [r for r in sandbox.requests() if r["path"].endswith("/insights/") and r["query"].get("insight")]
    assert len(names) == len(set(names)) == page["count"] >= 2
    assert {r["query"]["insight"] for r in funnels} == {"FUNNELS"}
    assert len(set(balancer.sent)) == 2
