"""Simply-derived stand-ins for PostHog's query results, shaped per insight kind.

The sandbox stores no events: an event's count per day is its volume in data/events.json times a weekday
shape, so the same query gives the same numbers, and an event the table does not have counts zero, as it
would in a PostHog project that never received it. Dates follow the `now` of the computation. Retention,
paths, stickiness and lifecycle insights answer the results recorded in data/events.json.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from mcp_server.sandbox.dates import iso, months_back, parse_date, start_of_day
from mcp_server.sandbox.queries import source_of

DATA = json.loads(resources.files("mcp_server.sandbox").joinpath("data/events.json").read_text("utf-8"))
PER_DAY: dict[str, int] = DATA["per_day"]
WEEKDAY_SHAPE = (1.0, 1.05, 1.03, 0.98, 0.9, 0.56, 0.5)
# Unique users, sessions and the like, as shares of the event count.
MATH_SHARE = {"dau": 0.24, "weekly_active": 0.7, "monthly_active": 1.6, "unique_session": 0.38}
BUCKET_DAYS = {"hour": 1 / 24, "day": 1.0, "week": 7.0, "month": 30.0}
TOTAL_VALUE_DISPLAYS = {"BoldNumber", "ActionsPie", "ActionsTable", "WorldMap", "ActionsBarValue"}


@dataclass(frozen=True)
class Computed:
    """One computation's output, in the insight serializer's terms."""

    result: Any
    columns: list[str] | None = None
    types: list[list[str]] | None = None
    hogql: str | None = None
    has_more: bool = False
    resolved_date_range: dict[str, str] | None = None


def query_hash(query: Any) -> str:
    """The cache key of a query: equal queries share results."""
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Grid:
    """The time buckets of a query's date range at its interval."""

    interval: str
    starts: list[datetime]
    date_from: datetime
    date_to: datetime

    def labels(self) -> list[str]:
        return [f"{s.day}-{s:%b}" + (f" {s:%H:%M}" if self.interval == "hour" else f"-{s.year}") for s in self.starts]

    def days(self) -> list[str]:
        return [s.strftime("%Y-%m-%d %H:%M:%S" if self.interval == "hour" else "%Y-%m-%d") for s in self.starts]


def grid(source: dict[str, Any], now: datetime) -> Grid:
    """The buckets a query's dateRange and interval cover (minute counts as hour); odd values fall back to -7d."""
    date_range: dict[str, Any] = source["dateRange"] if isinstance(source.get("dateRange"), dict) else {}
    interval = {"minute": "hour"}.get(str(source.get("interval")), str(source.get("interval") or "day"))
    interval = interval if interval in BUCKET_DAYS else "day"
    raw_from = str(date_range.get("date_from") or "-7d")
    try:
        date_from = parse_date("-90d" if raw_from == "all" else raw_from, now)
        date_to = parse_date(str(date_range["date_to"]), now) if date_range.get("date_to") else now
    except ValueError:
        date_from, date_to = parse_date("-7d", now), now
    date_from, date_to = min(date_from, date_to), max(date_from, date_to)
    cursor = date_from.replace(minute=0, second=0, microsecond=0) if interval == "hour" else start_of_day(date_from)
    if interval == "week":
        cursor -= timedelta(days=(cursor.weekday() + 1) % 7)
    if interval == "month":
        cursor = cursor.replace(day=1)
    starts: list[datetime] = []
    while cursor <= date_to and len(starts) < 750:
        starts.append(cursor)
        cursor = months_back(cursor, -1) if interval == "month" else cursor + timedelta(days=BUCKET_DAYS[interval])
    return Grid(interval, starts, date_from, date_to)


def _event(node: dict[str, Any]) -> str | None:
    return node.get("event") if node.get("kind", "EventsNode") == "EventsNode" else node.get("name")


def _label(node: dict[str, Any]) -> str:
    return str(node.get("custom_name") or _event(node) or "All events")


def counts(node: dict[str, Any], buckets: Grid) -> list[float]:
    """The node's count per bucket: zero for an event the demo data does not have."""
    event = _event(node)
    per_day = sum(PER_DAY.values()) if event is None else PER_DAY.get(str(event), 0)
    share = MATH_SHARE.get(str(node.get("math") or "total"), 1.0)
    shape = [WEEKDAY_SHAPE[s.weekday()] if buckets.interval == "day" else 1.0 for s in buckets.starts]
    return [float(round(per_day * share * BUCKET_DAYS[buckets.interval] * w)) for w in shape]


def _filter(source: dict[str, Any], buckets: Grid) -> dict[str, Any]:
    """The legacy filter TrendsQueryRunner._query_to_filter puts on every series (trends_query_runner.py)."""
    legacy = {
        "insight": "TRENDS",
        "properties": source.get("properties"),
        "filter_test_accounts": source.get("filterTestAccounts"),
        "date_to": iso(buckets.date_to),
        "date_from": iso(buckets.date_from),
        "entity_type": "events",
        "interval": buckets.interval,
        **(source.get("trendsFilter") or {}),
        **(source.get("breakdownFilter") or {}),
    }
    return {k: v for k, v in legacy.items() if v is not None}


def _series(
    node: dict[str, Any], order: int, data: list[float], buckets: Grid, source: dict[str, Any], display: str
) -> dict[str, Any]:
    # Every series repeats the whole range's buckets in `action.days` and the query in `filter`, as
    # TrendsQueryRunner.build_series_response does (trends_query_runner.py).
    action: dict[str, Any] = {
        "days": [iso(start) for start in buckets.starts],
        "id": _event(node),
        "type": "events",
        "order": order,
        "name": _label(node),
        "custom_name": node.get("custom_name"),
        "math": node.get("math"),
        "math_property": node.get("math_property"),
        "math_hogql": node.get("math_hogql"),
        "math_group_type_index": node.get("math_group_type_index"),
        "properties": {},
    }
    legacy = _filter(source, buckets)
    if display in TOTAL_VALUE_DISPLAYS:
        return {
            "data": [],
            "count": 0,
            "aggregated_value": sum(data),
            "label": _label(node),
            "filter": legacy,
            "action": action,
        }
    labels, days = buckets.labels(), buckets.days()
    return {
        "data": data,
        "labels": labels,
        "days": days,
        "count": sum(data),
        "label": _label(node),
        "filter": legacy,
        "action": action,
    }


def _nodes(source: dict[str, Any]) -> list[dict[str, Any]]:
    return [node for node in source.get("series") or [] if isinstance(node, dict)]


def _breakdown(source: dict[str, Any]) -> list[str]:
    """The values a breakdown splits into (empty without one), most common first."""
    breakdown = (source.get("breakdownFilter") or {}).get("breakdown") if isinstance(source, dict) else None
    if not breakdown:
        return []
    return list(DATA["breakdowns"].get(str(breakdown), [f"{breakdown} value {n}" for n in (1, 2, 3)]))


def previous_period(buckets: Grid) -> Grid:
    """The as many buckets just before these (QueryPreviousPeriodDateRange: the period of the same length)."""
    n = len(buckets.starts)
    if buckets.interval == "month":
        starts = [months_back(start, n) for start in buckets.starts]
    else:
        starts = [start - timedelta(days=BUCKET_DAYS[buckets.interval] * n) for start in buckets.starts]
    shift = buckets.starts[0] - starts[0] if n else timedelta(0)
    return Grid(buckets.interval, starts, buckets.date_from - shift, buckets.date_to - shift)


def _period_series(source: dict[str, Any], buckets: Grid, display: str) -> list[dict[str, Any]]:
    values = _breakdown(source)
    weights = [1 / (rank + 1) for rank in range(len(values))]
    items = []
    for order, node in enumerate(_nodes(source)):
        data = counts(node, buckets)
        if not values:
            items.append(_series(node, order, data, buckets, source, display))
        for value, weight in zip(values, weights, strict=True):
            share = [float(round(point * weight / sum(weights))) for point in data]
            items.append(
                {**_series(node, order, share, buckets, source, display), "label": value, "breakdown_value": value}
            )
    return items


def trends(source: dict[str, Any], now: datetime) -> Computed:
    """TrendsQuery: one series per node, or per node and breakdown value (shares 1/1, 1/2, 1/3 ... of the total).

    With compareFilter.compare, every series of the period comes first, marked compare_label "current", then
    the same series over the previous period of the same length, marked "previous" (trends_query_runner.py).
    """
    buckets = grid(source, now)
    display = str((source.get("trendsFilter") or {}).get("display") or "ActionsLineGraph")
    items = _period_series(source, buckets, display)
    if (source.get("compareFilter") or {}).get("compare"):
        current = [{**item, "compare": True, "compare_label": "current"} for item in items]
        earlier = _period_series(source, previous_period(buckets), display)
        items = current + [{**item, "compare": True, "compare_label": "previous"} for item in earlier]
    resolved = {"date_from": iso(buckets.date_from), "date_to": iso(buckets.date_to)}
    return Computed(items, resolved_date_range=resolved)


def funnels(source: dict[str, Any], now: datetime) -> Computed:
    """FunnelsQuery steps: each step keeps half of the one before, and no more than its own event's users."""
    buckets = grid(source, now)

    def steps(weight: float, value: str | None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        previous: int | None = None
        for order, node in enumerate(_nodes(source)):
            users = sum(counts({**node, "math": "dau"}, buckets)) * weight
            count = round(users if previous is None else min(previous / 2, users))
            # FunnelBase._serialize_step and _format_single_funnel (funnels/base.py), field for field.
            step: dict[str, Any] = {
                "action_id": _event(node),
                "name": _event(node),
                "custom_name": node.get("custom_name"),
                "order": order,
                "people": [],
                "count": count,
                "type": "events",
                "average_conversion_time": None if previous is None else 3600.0 * order,
                "median_conversion_time": None if previous is None else 2700.0 * order,
            }
            result.append({**step, **({"breakdown": [value], "breakdown_value": [value]} if value else {})})
            previous = count
        return result

    values = _breakdown(source)
    if values:
        return Computed([steps(1 / (rank + 2), value) for rank, value in enumerate(values)])
    return Computed(steps(1.0, None))


def _column(expression: str) -> str:
    alias = re.search(r"\s+as\s+([\w$]+)$", expression, re.IGNORECASE)
    return alias.group(1) if alias else " ".join(expression.split())


def hogql(source: dict[str, Any], now: datetime) -> Computed:
    """HogQLQuery: the SELECT list's columns, typed by their names, over a few rows."""
    sql = str(source.get("query") or "SELECT 1")
    select = re.search(r"select\s+(.*?)\s+from\s", sql, re.IGNORECASE | re.DOTALL)
    parts = [part.strip() for part in (select.group(1) if select else "value").split(",")]
    columns = [_column(part) for part in parts]
    numeric = re.compile(r"count|total|sum|avg|revenue|users|views|number", re.IGNORECASE)
    types = [[column, "UInt64" if numeric.search(column) else "String"] for column in columns]
    rows = [[100 // (row + 1) if kind == "UInt64" else f"{name} {row + 1}" for name, kind in types] for row in range(5)]
    return Computed(rows, columns=columns, types=types, hogql=sql)


RUNNERS = {"TrendsQuery": trends, "FunnelsQuery": funnels, "HogQLQuery": hogql}


def compute(query: Any, now: datetime) -> Computed:
    """The result of running `query` at `now`: derived for trends, funnels and SQL, one recorded result for
    retention, paths, stickiness and lifecycle whatever their settings, an empty table for other kinds."""
    source = source_of(query)
    if source is None:
        return Computed(None)
    kind = str(source.get("kind"))
    if kind in DATA["recorded"]:
        return Computed(DATA["recorded"][kind])
    runner = RUNNERS.get(kind)
    return Computed([], columns=[]) if runner is None else runner(source, now)
