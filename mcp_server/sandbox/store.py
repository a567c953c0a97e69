"""The sandbox's SQLite storage: schema and every query, behind one lock."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL, timezone TEXT NOT NULL,
    api_token TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, distinct_id TEXT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, email TEXT NOT NULL, role_at_organization TEXT, date_joined TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboards (
    id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL, name TEXT NOT NULL
);
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
    client_query_id TEXT PRIMARY KEY, team_id INTEGER NOT NULL, insight_id INTEGER NOT NULL,
    query_hash TEXT NOT NULL, started_at TEXT NOT NULL, finishes_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'running'
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
CREATE TABLE IF NOT EXISTS chains (
    id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL, hash TEXT NOT NULL, elements TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clicks (
    chain_id INTEGER NOT NULL, event TEXT NOT NULL, days_ago INTEGER NOT NULL, current_url TEXT NOT NULL,
    is_test INTEGER NOT NULL, count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS clicks_by_day ON clicks (days_ago, event);
CREATE INDEX IF NOT EXISTS activity_by_item ON activity (team_id, scope, item_id);
"""
INSIGHT_JSON = ("query", "filters", "tags")
INSIGHT_BOOL = ("favorited", "saved", "deleted", "is_sample")


def _insight(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    for column in INSIGHT_JSON:
        item[column] = json.loads(item[column]) if item[column] is not None else None
    for column in INSIGHT_BOOL:
        item[column] = bool(item[column])
    return item


def _element(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["attr_class"] = json.loads(item["attr_class"]) if item["attr_class"] is not None else None
    item["attributes"] = json.loads(item["attributes"])
    return item


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

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def _run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self.transaction():
            cursor = self._db.execute(sql, args)
            return int(cursor.lastrowid or 0)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.transaction():
            self._db.executemany(sql, rows)

    def meta(self, key: str) -> str | None:
        """A value from the meta table."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in the meta table."""
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def add_project(self, project: dict[str, Any]) -> None:
        """Insert a project (team)."""
        self._run(
            "INSERT INTO projects (id, uuid, name, timezone, api_token, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                project["id"],
                project["uuid"],
                project["name"],
                project["timezone"],
                project["api_token"],
                project["created_at"],
            ),
        )

    def project(self, project_id: int) -> dict[str, Any] | None:
        """A project by id."""
        row = self._one("SELECT * FROM projects WHERE id = ?", (project_id,))
        return None if row is None else dict(row)

    def projects(self) -> list[dict[str, Any]]:
        """Every project, by id."""
        return [dict(row) for row in self._all("SELECT * FROM projects ORDER BY id")]

    def add_user(self, user: dict[str, Any]) -> None:
        """Insert a user."""
        self._run(
            "INSERT INTO users (id, uuid, distinct_id, first_name, last_name, email, role_at_organization, "
            "date_joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user["id"],
                user["uuid"],
                user["distinct_id"],
                user["first_name"],
                user["last_name"],
                user["email"],
                user["role_at_organization"],
                user["date_joined"],
            ),
        )

    def users(self) -> dict[int, dict[str, Any]]:
        """Every user by id."""
        return {int(row["id"]): dict(row) for row in self._all("SELECT * FROM users")}

    def add_dashboard(self, dashboard_id: int, team_id: int, name: str) -> None:
        """Insert a dashboard."""
        self._run("INSERT INTO dashboards (id, team_id, name) VALUES (?, ?, ?)", (dashboard_id, team_id, name))

    def dashboards(self) -> dict[int, dict[str, Any]]:
        """Every dashboard by id."""
        return {int(row["id"]): dict(row) for row in self._all("SELECT * FROM dashboards")}

    def add_insight(self, fields: dict[str, Any]) -> int:
        """Insert an insight; JSON columns are given as Python values. Returns the new id."""
        columns = list(fields)
        values = [json.dumps(fields[c]) if c in INSIGHT_JSON and fields[c] is not None else fields[c] for c in columns]
        quoted = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        return self._run(f"INSERT INTO insights ({quoted}) VALUES ({marks})", values)

    def update_insight(self, insight_id: int, fields: dict[str, Any]) -> None:
        """Change some columns of an insight."""
        if not fields:
            return
        assignments = ", ".join(f"{column} = ?" for column in fields)
        values = [json.dumps(v) if c in INSIGHT_JSON and v is not None else v for c, v in fields.items()]
        self._run(f"UPDATE insights SET {assignments} WHERE id = ?", [*values, insight_id])

    def insight(self, insight_id: int) -> dict[str, Any] | None:
        """An insight by primary key, deleted or not."""
        row = self._one("SELECT * FROM insights WHERE id = ?", (insight_id,))
        return None if row is None else _insight(row)

    def insight_by_short_id(self, team_id: int, short_id: str) -> dict[str, Any] | None:
        """An insight of a project by short_id, deleted or not."""
        row = self._one("SELECT * FROM insights WHERE team_id = ? AND short_id = ?", (team_id, short_id))
        return None if row is None else _insight(row)

    def short_id_taken(self, short_id: str) -> bool:
        """Whether any insight already has this short_id."""
        return self._one("SELECT 1 FROM insights WHERE short_id = ?", (short_id,)) is not None

    def insights(self, team_id: int) -> list[dict[str, Any]]:
        """Every live (not deleted) insight of a project, with `last_viewed_at` by anyone."""
        rows = self._all(
            "SELECT i.*, (SELECT MAX(v.last_viewed_at) FROM views v WHERE v.insight_id = i.id) AS last_viewed_at "
            "FROM insights i WHERE i.team_id = ? AND i.deleted = 0",
            (team_id,),
        )
        return [_insight(row) for row in rows]

    def live_insight_ids(self, team_id: int, ids: Iterable[int]) -> list[int]:
        """The ids among `ids` that are live insights of the project."""
        wanted = sorted(set(ids))
        found: list[int] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._all(
                f"SELECT id FROM insights WHERE team_id = ? AND deleted = 0 AND id IN ({marks})", [team_id, *chunk]
            )
            found += [int(row["id"]) for row in rows]
        return found

    def tiles(self, insight_id: int) -> list[dict[str, Any]]:
        """The live dashboard tiles of an insight."""
        rows = self._all(
            "SELECT id, dashboard_id, deleted FROM tiles WHERE insight_id = ? AND deleted = 0 ORDER BY id",
            (insight_id,),
        )
        return [{"id": row["id"], "dashboard_id": row["dashboard_id"], "deleted": bool(row["deleted"])} for row in rows]

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
                    self._run("INSERT INTO tiles (insight_id, dashboard_id) VALUES (?, ?)", (insight_id, dashboard_id))

    def delete_tiles(self, insight_id: int) -> None:
        """Soft-delete every tile of an insight (what deleting the insight does)."""
        self._run("UPDATE tiles SET deleted = 1 WHERE insight_id = ?", (insight_id,))

    def result(self, insight_id: int) -> dict[str, Any] | None:
        """The cached result of an insight: query_hash, payload and last_refresh."""
        row = self._one("SELECT * FROM results WHERE insight_id = ?", (insight_id,))
        if row is None:
            return None
        return {
            "query_hash": row["query_hash"],
            "payload": json.loads(row["payload"]),
            "last_refresh": row["last_refresh"],
        }

    def save_result(self, insight_id: int, query_hash: str, payload: dict[str, Any], last_refresh: str) -> None:
        """Cache a computed result for an insight."""
        self._run(
            "INSERT OR REPLACE INTO results (insight_id, query_hash, payload, last_refresh) VALUES (?, ?, ?, ?)",
            (insight_id, query_hash, json.dumps(payload), last_refresh),
        )

    def start_computation(
        self, client_query_id: str, team_id: int, insight_id: int, query_hash: str, started: str, finishes: str
    ) -> None:
        """Record an asynchronous computation that finishes at `finishes`."""
        self._run(
            "INSERT OR REPLACE INTO computations (client_query_id, team_id, insight_id, query_hash, started_at, "
            "finishes_at, state) VALUES (?, ?, ?, ?, ?, ?, 'running')",
            (client_query_id, team_id, insight_id, query_hash, started, finishes),
        )

    def computations_due(self, now: str) -> list[dict[str, Any]]:
        """Running computations whose finishing time has passed."""
        rows = self._all("SELECT * FROM computations WHERE state = 'running' AND finishes_at <= ?", (now,))
        return [dict(row) for row in rows]

    def running_computation(self, insight_id: int) -> dict[str, Any] | None:
        """The latest computation of an insight still running, if any."""
        row = self._one(
            "SELECT * FROM computations WHERE insight_id = ? AND state = 'running' ORDER BY started_at DESC LIMIT 1",
            (insight_id,),
        )
        return None if row is None else dict(row)

    def set_computation_state(self, client_query_id: str, state: str) -> None:
        """Mark a computation done or cancelled."""
        self._run("UPDATE computations SET state = ? WHERE client_query_id = ?", (state, client_query_id))

    def cancel_computation(self, team_id: int, client_query_id: str) -> None:
        """Cancel a running computation of the project, if there is one by that id."""
        self._run(
            "UPDATE computations SET state = 'cancelled' "
            "WHERE team_id = ? AND client_query_id = ? AND state = 'running'",
            (team_id, client_query_id),
        )

    def record_view(self, team_id: int, insight_id: int, user_id: int, at: str) -> None:
        """Create or refresh a user's view of an insight."""
        self._run(
            "INSERT OR REPLACE INTO views (team_id, insight_id, user_id, last_viewed_at) VALUES (?, ?, ?, ?)",
            (team_id, insight_id, user_id, at),
        )

    def recently_viewed(self, team_id: int, user_id: int, limit: int) -> list[tuple[int, str]]:
        """(insight id, the user's view time) of live insights, most recent first."""
        rows = self._all(
            "SELECT v.insight_id, v.last_viewed_at FROM views v JOIN insights i ON i.id = v.insight_id "
            "WHERE v.team_id = ? AND v.user_id = ? AND i.deleted = 0 ORDER BY v.last_viewed_at DESC LIMIT ?",
            (team_id, user_id, limit),
        )
        return [(int(row["insight_id"]), str(row["last_viewed_at"])) for row in rows]

    def add_activity(self, entry: dict[str, Any]) -> None:
        """Append one activity log entry; `detail` is given as a Python value."""
        self._run(
            "INSERT INTO activity (id, team_id, scope, item_id, activity, user_id, detail, created_at, is_system, "
            "was_impersonated, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry["id"],
                entry["team_id"],
                entry["scope"],
                entry["item_id"],
                entry["activity"],
                entry["user_id"],
                json.dumps(entry["detail"]),
                entry["created_at"],
                int(entry["is_system"]),
                int(entry["was_impersonated"]),
                entry["client"],
            ),
        )

    def activity(
        self, team_id: int, scope: str, item_id: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a scope's activity (of one item, or all), newest first, and the total count."""
        where = "team_id = ? AND scope = ?" + ("" if item_id is None else " AND item_id = ?")
        args: list[Any] = [team_id, scope] + ([] if item_id is None else [item_id])
        total_row = self._one(f"SELECT COUNT(*) AS n FROM activity WHERE {where}", args)
        rows = self._all(
            f"SELECT * FROM activity WHERE {where} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        entries = []
        for row in rows:
            entry = dict(row)
            entry["detail"] = json.loads(entry["detail"])
            entries.append(entry)
        return entries, int(total_row["n"]) if total_row else 0

    def add_element(self, team_id: int | None, element: dict[str, Any]) -> int:
        """Insert an element row; returns its id."""
        values = [
            element.get("text"),
            element.get("tag_name"),
            None if element.get("attr_class") is None else json.dumps(element["attr_class"]),
            element.get("href"),
            element.get("attr_id"),
            element.get("nth_child"),
            element.get("nth_of_type"),
            json.dumps(element.get("attributes") or {}),
            element.get("order"),
        ]
        return self._run(
            "INSERT INTO elements (team_id, text, tag_name, attr_class, href, attr_id, nth_child, nth_of_type, "
            'attributes, "order") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [team_id, *values],
        )

    def update_element(self, element_id: int, fields: dict[str, Any]) -> None:
        """Change some fields of an element."""
        if not fields:
            return
        assignments = ", ".join(f'"{column}" = ?' for column in fields)
        values = [
            json.dumps(v) if c in ("attr_class", "attributes") and v is not None else v for c, v in fields.items()
        ]
        self._run(f"UPDATE elements SET {assignments} WHERE id = ?", [*values, element_id])

    def delete_element(self, element_id: int) -> None:
        """Remove an element."""
        self._run("DELETE FROM elements WHERE id = ?", (element_id,))

    def element(self, team_id: int | None, element_id: int) -> dict[str, Any] | None:
        """An element of a project by id (team None: an ungrouped row, as the API creates them)."""
        row = self._one("SELECT * FROM elements WHERE team_id IS ? AND id = ?", (team_id, element_id))
        return None if row is None else _element(row)

    def elements(self, team_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of a project's elements by id, and how many there are."""
        total = self._one("SELECT COUNT(*) AS n FROM elements WHERE team_id = ?", (team_id,))
        rows = self._all(
            "SELECT * FROM elements WHERE team_id = ? ORDER BY id LIMIT ? OFFSET ?", (team_id, limit, offset)
        )
        return [_element(row) for row in rows], int(total["n"]) if total else 0

    def all_elements(self) -> list[dict[str, Any]]:
        """Every element row with its id and project (None: ungrouped), for the control API."""
        return [_element(row) for row in self._all("SELECT * FROM elements ORDER BY id")]

    def add_chain(self, chain_id: int, team_id: int, chain_hash: str, elements: list[dict[str, Any]]) -> None:
        """Insert an element chain (clicked element first)."""
        self._run(
            "INSERT INTO chains (id, team_id, hash, elements) VALUES (?, ?, ?, ?)",
            (chain_id, team_id, chain_hash, json.dumps(elements)),
        )

    def chains(self, team_id: int) -> dict[int, dict[str, Any]]:
        """Every chain of a project by id: hash and elements."""
        rows = self._all("SELECT * FROM chains WHERE team_id = ?", (team_id,))
        return {int(row["id"]): {"hash": row["hash"], "elements": json.loads(row["elements"])} for row in rows}

    def add_clicks(self, rows: Iterable[tuple[int, str, int, str, int, int]]) -> None:
        """Insert click counts: (chain_id, event, days_ago, current_url, is_test, count)."""
        self._many(
            "INSERT INTO clicks (chain_id, event, days_ago, current_url, is_test, count) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def click_totals(
        self, team_id: int, events: Sequence[str], newest_days_ago: int, oldest_days_ago: int, include_test: bool
    ) -> list[tuple[int, str, str, int]]:
        """Clicks summed per (chain, event, url) over a range of days: (chain_id, event, url, count)."""
        marks = ", ".join("?" for _ in events)
        test = "" if include_test else " AND k.is_test = 0"
        rows = self._all(
            "SELECT k.chain_id, k.event, k.current_url, SUM(k.count) AS n FROM clicks k "
            "JOIN chains c ON c.id = k.chain_id "
            f"WHERE c.team_id = ? AND k.event IN ({marks}) AND k.days_ago BETWEEN ? AND ?{test} "
            "GROUP BY k.chain_id, k.event, k.current_url",
            [team_id, *events, newest_days_ago, oldest_days_ago],
        )
        return [(int(r["chain_id"]), str(r["event"]), str(r["current_url"]), int(r["n"])) for r in rows]
