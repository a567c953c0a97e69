"""How an insight's result is served: PostHog's refresh modes over a cache and asynchronous computations."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.datastructures import QueryParams

from mcp_server.sandbox.dates import iso, parse_iso
from mcp_server.sandbox.queries import source_of
from mcp_server.sandbox.results import compute, query_hash
from mcp_server.sandbox.state import Call
from mcp_server.sandbox.store import Store

# RefreshType in posthog/schema.py.
MODES = {"async", "async_except_on_cache_miss", "blocking", "force_async", "force_blocking"} | {
    "force_cache",
    "lazy_async",
}
TRUE_WORDS = {"", "true", "1", "yes"}
# Results older than this are stale; "lazy" modes accept results up to a day old.
TARGET_AGE = {"minute": timedelta(minutes=1), "hour": timedelta(minutes=15), "week": timedelta(hours=24)}
DEFAULT_TARGET_AGE = timedelta(hours=6)
LAZY_AGE = timedelta(hours=24)
QUERY_STATUS_TTL = timedelta(minutes=20)


@dataclass(frozen=True)
class Outcome:
    """What the serializer reports about an insight's result."""

    payload: dict[str, Any] | None = None
    last_refresh: str | None = None
    is_cached: bool = False
    query_status: dict[str, Any] | None = None
    timezone: str | None = None
    cache_key: str | None = None


def requested_mode(params: QueryParams) -> tuple[str, bool]:
    """refresh_requested_by_client + execution_mode_from_refresh: (mode, whether a refresh was asked for)."""
    if "refresh" not in params:
        return "force_cache", False
    raw = params["refresh"]
    if raw.lower() in TRUE_WORDS:
        return "force_blocking", True
    return (raw, True) if raw in MODES else ("force_cache", False)


def _interval(query: Any) -> str:
    source = source_of(query) or {}
    return str(source.get("interval") or "day")


def target_age(query: Any) -> timedelta:
    """How long a result stays fresh, by the query's interval."""
    return TARGET_AGE.get(_interval(query), DEFAULT_TARGET_AGE)


def cache_times(query: Any, last_refresh: str | None) -> tuple[str | None, str | None]:
    """(cache_target_age, next_allowed_client_refresh) for a result computed at `last_refresh`."""
    if last_refresh is None:
        return None, None
    refreshed = parse_iso(last_refresh)
    pause = timedelta(minutes=3) if _interval(query) in ("minute", "hour") else timedelta(minutes=15)
    return iso(refreshed + target_age(query)), iso(refreshed + pause)


def _payload(query: Any, now: datetime) -> dict[str, Any]:
    return asdict(compute(query, now))


def settle(store: Store, now: datetime) -> None:
    """Finish every asynchronous computation whose time has come (cancelled ones never finish)."""
    for computation in store.computations_due(iso(now)):
        insight = store.insight(int(computation["insight_id"]))
        if insight is not None and query_hash(insight["query"]) == computation["query_hash"]:
            finished = parse_iso(str(computation["finishes_at"]))
            store.save_result(
                insight["id"], computation["query_hash"], _payload(insight["query"], finished), iso(finished)
            )
        store.set_computation_state(computation["team_id"], computation["id"], "complete")


def _status(insight: dict[str, Any], computation: dict[str, Any]) -> dict[str, Any]:
    started = parse_iso(str(computation["started_at"]))
    status = dict.fromkeys(("dashboard_id", "error_message", "results", "end_time", "task_id", "query_progress"))
    status |= {"id": computation["id"], "query_async": True, "team_id": insight["team_id"], "complete": False}
    status |= {"insight_id": insight["id"], "error": False, "start_time": iso(started)}
    return status | {"expiration_time": iso(started + QUERY_STATUS_TTL)}


def _start(call: Call, insight: dict[str, Any]) -> dict[str, Any]:
    finishes = iso(call.now + timedelta(seconds=call.sandbox.async_seconds))
    computation = {"id": str(uuid.uuid4()), "team_id": insight["team_id"], "insight_id": insight["id"]}
    computation |= {"query_hash": query_hash(insight["query"]), "started_at": iso(call.now), "finishes_at": finishes}
    call.store.insert("computations", computation)
    return _status(insight, computation)


def outcome(call: Call, insight: dict[str, Any], mode: str, requested: bool) -> Outcome:
    """Serve, compute or start computing an insight's result according to `mode`.

    A computation is known by the id PostHog gives it (`query_status.id`); the caller's `client_query_id`
    only labels a failed computation's status in PostHog (posthog/api/insight.py), so it plays no part here.
    """
    query = insight["query"]
    if not query:
        return Outcome()
    key = query_hash(query)
    timezone = "UTC" if requested else None
    stored = call.store.result(insight["id"])
    cached = stored if stored is not None and stored["query_hash"] == key else None
    age = call.now - parse_iso(cached["last_refresh"]) if cached else None
    fresh = age is not None and age < target_age(query)
    fresh_enough = age is not None and age < max(LAZY_AGE, target_age(query))

    def from_cache(status: dict[str, Any] | None = None) -> Outcome:
        if cached is None:
            return Outcome(query_status=status, timezone=timezone, cache_key=key)
        return Outcome(cached["payload"], cached["last_refresh"], True, status, "UTC", key)

    def computed() -> Outcome:
        payload = _payload(query, call.now)
        call.store.save_result(insight["id"], key, payload, iso(call.now))
        return Outcome(payload, iso(call.now), False, None, "UTC", key)

    if mode == "force_blocking" or (mode == "blocking" and not fresh):
        return computed()
    if mode == "async_except_on_cache_miss" and cached is None:
        return computed()
    if mode == "force_async":
        return Outcome(query_status=_start(call, insight), timezone=timezone, cache_key=key)
    if mode in ("async", "async_except_on_cache_miss") and not fresh:
        return from_cache(_start(call, insight))
    if mode == "lazy_async" and not fresh_enough:
        return from_cache(_start(call, insight))
    # QueryRunner.handle_cache_and_async_logic attaches a running computation's status to cached results too.
    running = call.store.running_computation(insight["id"])
    return from_cache(_status(insight, running) if running else None)
