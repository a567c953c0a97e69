"""Shared test doubles: PostHog played by httpx.MockTransport, and the server behind a real MCP client."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from mcp import Client

from mcp_server.app import App
from mcp_server.catalog import TOOLSETS
from mcp_server.config import Settings
from mcp_server.server import build_server

KEY = "phx_testkey_0123456789abcdefghijklmnopqrstuv"
HOST = "https://posthog.example.com"
PROJECT = 42
PREFIX = f"/api/projects/{PROJECT}/"

Responder = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Seen:
    """One request as PostHog received it."""

    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: httpx.Headers

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class FakePostHog:
    """A route table: (method, path regex) -> response or list of responses (one per call, last repeats)."""

    scopes: list[str] = field(default_factory=lambda: ["*"])
    scoped_teams: list[int] = field(default_factory=list)
    routes: dict[tuple[str, str], Any] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def on(self, method: str, path: str, *responses: Any) -> FakePostHog:
        """Answer `method path` (path relative to the project prefix unless it starts with /)."""
        full = path if path.startswith("/") else PREFIX + path
        self.routes[(method, full)] = list(responses)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen = Seen(
            request.method, request.url.path, dict(parse_qsl(request.url.query.decode())), body, request.headers
        )
        self.requests.append(seen)
        for (method, pattern), responses in self.routes.items():
            if method == request.method and re.fullmatch(pattern, request.url.path):
                answer = responses.pop(0) if len(responses) > 1 else responses[0]
                if isinstance(answer, BaseException):
                    raise answer
                if callable(answer):
                    return answer(request)
                if isinstance(answer, httpx.Response):
                    return answer
                return httpx.Response(200, json=answer)
        if request.url.path == "/api/personal_api_keys/@current/":
            return httpx.Response(200, json={"id": "k1", "scopes": self.scopes, "scoped_teams": self.scoped_teams})
        return httpx.Response(404, json={"type": "invalid_request", "code": "not_found", "detail": "Not found."})

    def tool_requests(self) -> list[Seen]:
        """Requests other than the key look-up."""
        return [r for r in self.requests if r.path != "/api/personal_api_keys/@current/"]


def settings(**overrides: Any) -> Settings:
    """Settings against the fake PostHog, offering every toolset unless the test chooses."""
    every = frozenset(TOOLSETS)
    return replace(Settings(api_key=KEY, posthog_host=HOST, project_id=PROJECT, toolsets=every), **overrides)


async def no_sleep(_: float) -> None:
    return None


def make_app(fake: FakePostHog, **overrides: Any) -> App:
    return App.create(settings(**overrides), transport=httpx.MockTransport(fake.handle), sleep=no_sleep)


@pytest.fixture
def fake() -> FakePostHog:
    return FakePostHog()


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: the 2025-11-25 handshake and the 2026-07-28 sessionless mode."""
    return str(request.param)


@asynccontextmanager
async def connect(fake: FakePostHog, mode: str = "legacy", **overrides: Any) -> AsyncIterator[Client]:
    app = make_app(fake, **overrides)
    try:
        async with Client(build_server(app), mode=mode) as client:
            yield client
    finally:
        await app.aclose()


def payload(result: Any) -> Any:
    """The JSON the model reads, checked to equal the structured content."""
    assert not result.is_error, result.content[0].text
    text = json.loads(result.content[0].text)
    assert text == result.structured_content
    return text


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return str(result.content[0].text)
