"""The sandbox's SQLite storage: schema and every query, behind one lock. JSON columns hold Python values."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SCHEMA_VERSION = "2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL, timezone TEXT NOT NULL DEFAULT 'UTC',
    api_token TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, distinct_id TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, email TEXT NOT NULL, role_at_organization TEXT, date_joined TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboards (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS insights (
    id INTEGER PRIMARY KEY AUTOINCREMENT, team_id INTEGER NOT NULL, short_id TEXT NOT NULL UNIQUE,
    name TEXT, derived_name TEXT, description TEXT, query TEXT, filters TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]', favorited INTEGER NOT NULL DEFAULT 0, saved INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0, is_sample INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    created_by INTEGER, last_modified_at TEXT NOT NULL, last_modified_by INTEGER, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, insight_id INTEGER NOT NULL, dashboard_id INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS results (
    insight_id INTEGER PRIMARY KEY, query_hash TEXT NOT NULL, payload TEXT NOT NULL, last_refresh TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS computations (
    id TEXT PRIMARY KEY, team_id INTEGER NOT NULL, insight_id INTEGER NOT NULL, query_hash TEXT NOT NULL,
    started_at TEXT NOT NULL, finishes_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS views (
    team_id INTEGER NOT NULL, insight_id INTEGER NOT NULL, user_id INTEGER NOT NULL, last_viewed_at TEXT NOT NULL,
    PRIMARY KEY (insight_id, user_id)
);
CREATE TABLE IF NOT EXISTS activity (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, team_id INTEGER NOT NULL, scope TEXT NOT NULL,
    item_id TEXT NOT NULL, activity TEXT NOT NULL, user_id INTEGER, detail TEXT NOT NULL, created_at TEXT NOT NULL,
    is_system INTEGER NOT NULL DEFAULT 0, was_impersonated INTEGER NOT NULL DEFAULT 0, client TEXT
);
CREATE TABLE IF NOT EXISTS elements (
    id INTEGER PRIMARY KEY AUTOINCREMENT, team_id INTEGER, text TEXT, tag_name TEXT, attr_class TEXT,
    href TEXT, attr_id TEXT, nth_child INTEGER, nth_of_type INTEGER, attributes TEXT NOT NULL DEFAULT '{}',
    "order" INTEGER
);
CREATE INDEX IF NOT EXISTS activity_by_item ON activity (team_id, scope, item_id);
"""
JSON_COLUMNS = {"query", "filters", "tags", "payload", "detail", "attr_class", "attributes"}
BOOL_COLUMNS = {"favorited", "saved", "deleted", "is_sample", "is_system", "was_impersonated"}


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    for column in JSON_COLUMNS & item.keys():
        item[column] = json.loads(item[column]) if item[column] is not None else None
    for column in BOOL_COLUMNS & item.keys():
        item[column] = bool(item[column])
    return item


def _encode(row: dict[str, Any]) -> list[Any]:
    return [json.dumps(v) if c in JSON_COLUMNS and v is not None else v for c, v in row.items()]


class Store:
    """One SQLite database; every method takes the lock, and `transaction()` groups several."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._depth = 0
        with self._lock:
            self._db.executescript(SCHEMA)
        self._run("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        if self.meta("schema_version") != SCHEMA_VERSION:
            raise ValueError("it holds an older sandbox's data")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and commit everything inside at once (nested calls join the outer one)."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._db.execute("BEGIN")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._db.execute("COMMIT")

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [_decode(row) for row in self._db.execute(sql, args).fetchall()]

    def _one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self.transaction():
            return int(self._db.execute(sql, args).lastrowid or 0)

    def insert(self, table: str, row: dict[str, Any], verb: str = "INSERT") -> int:
        """Insert a row (JSON columns as Python values); returns its rowid."""
        columns = ", ".join(f'"{column}"' for column in row)
        marks = ", ".join("?" for _ in row)
        return self._run(f"{verb} INTO {table} ({columns}) VALUES ({marks})", _encode(row))

    def update(self, table: str, row_id: int, fields: dict[str, Any]) -> None:
        """Change some columns of the row with this id."""
        if fields:
            assignments = ", ".join(f'"{column}" = ?' for column in fields)
            self._run(f"UPDATE {table} SET {assignments} WHERE id = ?", [*_encode(fields), row_id])

    def meta(self, key: str) -> str | None:
        """A value from the meta table."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the meta table."""
        self.insert("meta", {"key": key, "value": value}, "INSERT OR REPLACE")

    def project(self, project_id: int) -> dict[str, Any] | None:
        """A project by id."""
        return self._one("SELECT * FROM projects WHERE id = ?", (project_id,))

    def projects(self) -> list[dict[str, Any]]:
        """Every project, by id."""
        return self._all("SELECT * FROM projects ORDER BY id")

    def users(self) -> dict[int, dict[str, Any]]:
        """Every user by id."""
        return {int(row["id"]): row for row in self._all("SELECT * FROM users")}

    def add_dashboard(self, dashboard_id: int, team_id: int, name: str) -> None:
        """Insert a dashboard."""
        self.insert("dashboards", {"id": dashboard_id, "team_id": team_id, "name": name})

    def dashboards(self) -> dict[int, dict[str, Any]]:
        """Every dashboard by id."""
        return {int(row["id"]): row for row in self._all("SELECT * FROM dashboards")}

    def insight(self, insight_id: int) -> dict[str, Any] | None:
        """An insight by primary key, deleted or not."""
        return self._one("SELECT * FROM insights WHERE id = ?", (insight_id,))

    def insight_by_short_id(self, team_id: int, short_id: str) -> dict[str, Any] | None:
        """An insight of a project by short_id, deleted or not."""
        return self._one("SELECT * FROM insights WHERE team_id = ? AND short_id = ?", (team_id, short_id))

    def insights(self, team_id: int) -> list[dict[str, Any]]:
        """Every live (not deleted) insight of a project, with `last_viewed_at` by anyone."""
        return self._all(
            "SELECT i.*, (SELECT MAX(v.last_viewed_at) FROM views v WHERE v.insight_id = i.id) AS last_viewed_at "
            "FROM insights i WHERE i.team_id = ? AND i.deleted = 0",
            (team_id,),
        )

    def live_insight_ids(self, team_id: int, ids: Iterable[int]) -> list[int]:
        """The ids among `ids` that are live insights of the project."""
        wanted = set(ids)
        return [
            i["id"]
            for i in self._all("SELECT id FROM insights WHERE team_id = ? AND deleted = 0", (team_id,))
            if i["id"] in wanted
        ]

    def tiles(self, insight_id: int) -> list[dict[str, Any]]:
        """The live dashboard tiles of an insight."""
        return self._all(
            "SELECT id, dashboard_id, deleted FROM tiles WHERE insight_id = ? AND deleted = 0 ORDER BY id",
            (insight_id,),
        )

    def set_dashboards(self, insight_id: int, dashboard_ids: Sequence[int]) -> None:
        """Replace the insight's tiles with one per dashboard, keeping tiles that stay."""
        current = {tile["dashboard_id"] for tile in self.tiles(insight_id)}
        with self.transaction():
            for dashboard_id in current - set(dashboard_ids):
                self._run(
                    "UPDATE tiles SET deleted = 1 WHERE insight_id = ? AND dashboard_id = ?", (insight_id, dashboard_id)
                )
            for dashboard_id in dict.fromkeys(dashboard_ids):
                if dashboard_id not in current:
                    self.insert("tiles", {"insight_id": insight_id, "dashboard_id": dashboard_id})

    def delete_tiles(self, insight_id: int) -> None:
        """Soft-delete every tile of an insight (what deleting the insight does)."""
        self._run("UPDATE tiles SET deleted = 1 WHERE insight_id = ?", (insight_id,))

    def result(self, insight_id: int) -> dict[str, Any] | None:
        """The cached result of an insight: query_hash, payload and last_refresh."""
        return self._one("SELECT * FROM results WHERE insight_id = ?", (insight_id,))

    def save_result(self, insight_id: int, query_hash: str, payload: dict[str, Any], last_refresh: str) -> None:
        """Cache a computed result for an insight."""
        row = {"insight_id": insight_id, "query_hash": query_hash, "payload": payload, "last_refresh": last_refresh}
        self.insert("results", row, "INSERT OR REPLACE")

    def computations_due(self, now: str) -> list[dict[str, Any]]:
        """Running computations whose finishing time has passed."""
        return self._all("SELECT * FROM computations WHERE state = 'running' AND finishes_at <= ?", (now,))

    def running_computation(self, insight_id: int) -> dict[str, Any] | None:
        """The latest computation of an insight still running, if any."""
        return self._one(
            "SELECT * FROM computations WHERE insight_id = ? AND state = 'running' ORDER BY started_at DESC LIMIT 1",
            (insight_id,),
        )

    def set_computation_state(self, team_id: int, computation_id: str, state: str) -> None:
        """Mark a running computation of the project done or cancelled (no such computation: nothing happens)."""
        self._run(
            "UPDATE computations SET state = ? WHERE team_id = ? AND id = ? AND state = 'running'",
            (state, team_id, computation_id),
        )

    def record_view(self, team_id: int, insight_id: int, user_id: int, at: str) -> None:
        """Create or refresh a user's view of an insight."""
        view = {"team_id": team_id, "insight_id": insight_id, "user_id": user_id, "last_viewed_at": at}
        self.insert("views", view, "INSERT OR REPLACE")

    def recently_viewed(self, team_id: int, user_id: int, limit: int) -> list[tuple[int, str]]:
        """(insight id, the user's view time) of live insights, most recent first."""
        rows = self._all(
            "SELECT v.insight_id, v.last_viewed_at FROM views v JOIN insights i ON i.id = v.insight_id "
            "WHERE v.team_id = ? AND v.user_id = ? AND i.deleted = 0 ORDER BY v.last_viewed_at DESC LIMIT ?",
            (team_id, user_id, limit),
        )
        return [(int(row["insight_id"]), str(row["last_viewed_at"])) for row in rows]

    def activity(
        self, team_id: int, scope: str, item_id: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a scope's activity (of one item, or all), newest first, and the total count."""
        where = "team_id = ? AND scope = ?" + ("" if item_id is None else " AND item_id = ?")
        args: list[Any] = [team_id, scope] + ([] if item_id is None else [item_id])
        total = self._one(f"SELECT COUNT(*) AS n FROM activity WHERE {where}", args)
        order = "ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?"
        return self._all(f"SELECT * FROM activity WHERE {where} {order}", [*args, limit, offset]), int(
            total["n"]
        ) if total else 0

    def add_element(self, team_id: int | None, element: dict[str, Any]) -> int:
        """Insert an element row (team None: ungrouped, as PostHog stores API-created elements); returns its id."""
        return self.insert("elements", {**element, "team_id": team_id})

    def delete_element(self, element_id: int) -> None:
        """Remove an element."""
        self._run("DELETE FROM elements WHERE id = ?", (element_id,))

    def element(self, team_id: int | None, element_id: int) -> dict[str, Any] | None:
        """An element of a project (None: an ungrouped one) by id."""
        return self._one("SELECT * FROM elements WHERE team_id IS ? AND id = ?", (team_id, element_id))

    def elements(
        self, team_id: int | None = None, limit: int = -1, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a project's elements by id, and how many there are (team None: every row, any project)."""
        where = "" if team_id is None else f"WHERE team_id = {int(team_id)}"
        total = self._one(f"SELECT COUNT(*) AS n FROM elements {where}")
        rows = self._all(f"SELECT * FROM elements {where} ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
        return rows, int(total["n"]) if total else 0
