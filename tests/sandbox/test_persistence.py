"""A file database keeps the sandbox's state across create_app() calls; memory does not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from mcp_server.sandbox import LEGACY_KEY, create_app

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": f"Bearer {LEGACY_KEY}"}


def client(db: str | None, **options: object) -> httpx.AsyncClient:
    app = create_app(db, **options)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://s", headers=AUTH)


async def test_a_file_database_is_reused_by_the_next_sandbox(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    created = (await client(db).post("/api/projects/1/insights/", json={"name": "Kept"})).json()
    await client(db).patch(f"/api/projects/1/insights/{created['id']}/", json={"description": "still here"})
    again = await client(db).get(f"/api/projects/1/insights/{created['id']}/")
    count = (await client(db).get("/api/projects/1/insights/?basic=true")).json()["count"]
    assert (again.status_code, again.json()["description"]) == (200, "still here")
    assert count == 37


async def test_a_file_from_an_older_sandbox_is_refused_with_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as old:
        old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    with pytest.raises(ValueError, match="older sandbox's data"):
        create_app(str(db))


async def test_an_in_memory_sandbox_starts_fresh_each_time() -> None:
    await client(None).post("/api/projects/1/insights/", json={"name": "Gone"})
    assert (await client(None).get("/api/projects/1/insights/?basic=true")).json()["count"] == 36


async def test_without_seed_a_sandbox_has_projects_and_keys_but_no_demo_content() -> None:
    empty = client(None, seed=False)
    insights = (await empty.get("/api/projects/1/insights/")).json()
    stats = (await empty.get("/api/projects/1/elements/stats/")).json()
    assert (insights["count"], stats) == (0, [])
