"""Ad-hoc queries: `POST query/`, and a computation's status and cancellation at `query/{id}/`.

Taken from posthog/api/query.py (a query runs whatever `refresh` says; force_cache still computes; 202 while a
computation runs), posthog/hogql_queries/hogql_query_runner.py with HogQLHasMorePaginator (a SELECT without
LIMIT gets DEFAULT_RETURNED_ROWS = 100 from posthog/hogql/constants.py, and `hasMore`, `limit`, `offset`) and
posthog/clickhouse/client/execute_async.py (status and cancel messages). A computation's status lives in the
store's meta table, as PostHog keeps it in Redis.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from mcp_server.sandbox.dates import iso, parse_iso
from mcp_server.sandbox.errors import invalid, not_found
from mcp_server.sandbox.fields import body_object
from mcp_server.sandbox.queries import source_errors, structure_error
from mcp_server.sandbox.results import compute, query_hash
from mcp_server.sandbox.state import Call, reply

DEFAULT_RETURNED_ROWS = 100
ASYNC_MODES = {"async", "force_async", "lazy_async"}
RUNNABLE = ("TrendsQuery", "FunnelsQuery", "RetentionQuery", "PathsQuery", "StickinessQuery", "LifecycleQuery")
LIMIT = re.compile(r"\blimit\s+\d+", re.IGNORECASE)


def _response(query: dict[str, Any], now_text: str) -> dict[str, Any]:
    """What the query runner answers for `query` computed at `now_text`."""
    computed = compute(query, parse_iso(now_text))
    answer: dict[str, Any] = {
        "results": computed.result,
        "is_cached": False,
        "last_refresh": now_text,
        "cache_key": "cache_" + query_hash(query),
        "timezone": "UTC",
        "hogql": computed.hogql,
        "timings": [],
        "query_status": None,
        "resolved_date_range": computed.resolved_date_range,
    }
    if query.get("kind") != "HogQLQuery":
        return answer
    rows = list(computed.result or [])
    answer |= {"columns": computed.columns, "types": computed.types, "hasMore": False, "limit": None, "offset": None}
    if not LIMIT.search(str(query.get("query", ""))):
        answer |= {"results": rows[:DEFAULT_RETURNED_ROWS], "hasMore": len(rows) > DEFAULT_RETURNED_ROWS}
        answer |= {"limit": DEFAULT_RETURNED_ROWS, "offset": 0}
    return answer


def _key(call: Call, query_id: str) -> str:
    return f"query_status:{call.project_id}:{query_id}"


def _status(call: Call, query_id: str) -> dict[str, Any] | None:
    """A computation's status, finished with its results once its time has come."""
    raw = call.store.meta(_key(call, query_id))
    if not raw:
        return None
    status: dict[str, Any] = json.loads(raw)
    if not status["complete"] and parse_iso(status["finishes_at"]) <= call.now:
        results = _response(status.pop("query"), status["finishes_at"])
        status |= {"complete": True, "end_time": status["finishes_at"], "results": results}
        call.store.set_meta(_key(call, query_id), json.dumps(status))
    return {k: v for k, v in status.items() if k not in ("query", "finishes_at")}


def run_query(call: Call) -> Response:
    """`POST query/`: compute now (blocking modes) or start a computation and answer 202 (async modes)."""
    body = body_object(call.body)
    query = body.get("query")
    problem = structure_error(query)
    if problem:
        raise invalid(problem, "query")
    errors = source_errors(query, "query", (*RUNNABLE, "HogQLQuery"))
    if errors:
        raise invalid("; ".join(errors), "query")
    assert isinstance(query, dict)
    query_id = str(body.get("client_query_id") or uuid.uuid4().hex)
    if body.get("refresh") not in ASYNC_MODES:
        return reply(_response(query, iso(call.now)))
    status = {"id": query_id, "team_id": call.project_id, "complete": False, "error": False, "error_message": None}
    status |= {"query_async": True, "start_time": iso(call.now), "end_time": None, "results": None, "task_id": None}
    finishes = iso(call.now + timedelta(seconds=call.sandbox.async_seconds))
    call.store.set_meta(_key(call, query_id), json.dumps({**status, "query": query, "finishes_at": finishes}))
    return reply({"query_status": status, "results": None}, 202)


def query_status(call: Call) -> Response:
    """`GET query/{id}/`: {"query_status": ...}, 202 while running, 200 once complete."""
    status = _status(call, call.params["id"])
    if status is None:
        raise not_found()
    return reply({"query_status": status}, 200 if status["complete"] else 202)


def cancel_query(call: Call) -> Response:
    """`DELETE query/{id}/`: stop the computation, an insight's included (one id space); 200 with a message."""
    status = _status(call, call.params["id"])
    if status is not None and status["complete"]:
        return reply({"message": "Query already complete"})
    call.store.set_meta(_key(call, call.params["id"]), "")
    call.store.set_computation_state(call.project_id, call.params["id"], "cancelled")
    return reply({"message": "Cancelled query on clickhouse"})
