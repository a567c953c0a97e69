"""Fixtures for the sandbox's own tests: a fresh in-memory sandbox and clients holding each demo key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mcp_server.sandbox import DEMO_KEYS, create_app
from mcp_server.sandbox.state import Sandbox

BASE = "http://sandbox.test"
PROJECT = "/api/projects/1/"

Api = Callable[..., httpx.AsyncClient]


@pytest.fixture
def app() -> Starlette:
    return create_app()


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    state: Sandbox = app.state.sandbox
    return state


@pytest.fixture
def api(app: Starlette) -> Api:
    """`api("read_only")` is a client sending that demo key; `api(None)` sends none."""

    def make(key: str | None = "legacy", **headers: Any) -> httpx.AsyncClient:
        sent = {"Authorization": f"Bearer {DEMO_KEYS[key].key}"} if key else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url=BASE, headers={**sent, **headers}, timeout=10
        )

    return make
