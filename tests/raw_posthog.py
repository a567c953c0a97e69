"""PostHog played byte by byte on a real socket of 127.0.0.1: answers that trickle, never end or never come.

httpx.MockTransport cannot show what a socket does (a read timeout that never fires on a trickle, a connection
closed by a cancelled call), so these faults are played here, one request per connection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import SocketStream
from mcp import Client

from mcp_server.app import App
from mcp_server.posthog import RetryPolicy
from mcp_server.server import build_server
from tests.conftest import PREFIX, settings

Answer = Callable[[SocketStream], Awaitable[None]]
KEY_PATH = "/api/personal_api_keys/@current/"


def raw(status: int, body: bytes, content_type: str = "application/json") -> Answer:
    """An answer of exactly these bytes."""

    async def answer(stream: SocketStream) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        await stream.send((head + "Connection: close\r\n\r\n").encode() + body)

    return answer


def reply(status: int, body: Any) -> Answer:
    """An answer of this JSON."""
    return raw(status, json.dumps(body).encode())


def trickle(interval: float) -> Answer:
    """A 200 that promises a large body and sends one byte of it every `interval` seconds."""

    async def answer(stream: SocketStream) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")
        for _ in range(100_000):
            await anyio.sleep(interval)
            await stream.send(b" ")

    return answer


@dataclass
class RawPostHog:
    """The running stand-in: its URL, its routes (path -> answer), and what it saw."""

    url: str
    routes: dict[str, Answer]
    seen: list[str] = field(default_factory=list)
    hanging: anyio.Event = field(default_factory=anyio.Event)
    hung_up: anyio.Event = field(default_factory=anyio.Event)

    def on(self, path: str, answer: Answer) -> RawPostHog:
        """Answer requests for `path` (relative to the project) with `answer`."""
        self.routes[PREFIX + path] = answer
        return self

    def hang(self) -> Answer:
        """An answer that never comes: sets `hanging` when the request arrived, `hung_up` when the client left."""

        async def answer(stream: SocketStream) -> None:
            self.hanging.set()
            try:
                while await stream.receive():
                    pass
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                self.hung_up.set()

        return answer

    async def serve(self, stream: SocketStream) -> None:
        async with stream:
            head = b""
            while b"\r\n\r\n" not in head:
                try:
                    head += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
            method, target = head.split(b" ", 2)[:2]
            path = target.decode().split("?", 1)[0]
            self.seen.append(f"{method.decode()} {path}")
            answer = self.routes.get(path)
            if answer is None and path == KEY_PATH:
                answer = reply(200, {"id": "k1", "scopes": ["*"], "scoped_teams": []})
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await (answer or reply(404, {"detail": "Not found."}))(stream)


@asynccontextmanager
async def raw_posthog() -> AsyncIterator[RawPostHog]:
    """Serve on a free port of 127.0.0.1 while the block runs."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    stand_in = RawPostHog(f"http://127.0.0.1:{port}", {})
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, stand_in.serve)
        try:
            yield stand_in
        finally:
            group.cancel_scope.cancel()


@asynccontextmanager
async def client_of(posthog: RawPostHog, policy: RetryPolicy | None = None, **overrides: Any) -> AsyncIterator[Client]:
    """The server in memory behind a real MCP client, talking to the stand-in over real HTTP."""
    app = App.create(settings(posthog_host=posthog.url, **overrides), **({"policy": policy} if policy else {}))
    try:
        async with Client(build_server(app), mode="legacy") as client:
            yield client
    finally:
        await app.aclose()
