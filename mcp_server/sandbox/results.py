"""Deterministic stand-ins for PostHog's query results, shaped per insight kind.

Numbers come from a generator seeded with a hash of the query, so computing the same query twice gives the
same numbers; dates follow the `now` of the computation.
"""

from __future__ import annotations

import ast
import hashlib
import json
import operator
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mcp_server.sandbox.dates import day_label, hour_label, iso, months_back, parse_date, start_of_day
from mcp_server.sandbox.queries import source_of

DAILY_VOLUME = {
    "$pageview": 2400,
    "$autocapture": 5200,
    "$rageclick": 45,
    "$dead_click": 70,
    "signed_up": 48,
    "logged_in": 390,
    "uploaded_file": 620,
    "downloaded_file": 910,
    "deleted_file": 160,
    "shared_file_link": 140,
    "invited_team_member": 31,
    "upgraded_plan": 9,
    "paid_bill": 22,
    "cancelled_subscription": 3,
    "upload_failed": 12,
}
ALL_EVENTS_VOLUME = 12000
MATH_FACTOR = {
    "total": 1.0,
    "dau": 0.24,
    "weekly_active": 0.7,
    "monthly_active": 1.6,
    "unique_session": 0.38,
    "first_time_for_user": 0.03,
    "hogql": 0.5,
}
PROPERTY_MATHS = {"sum", "avg", "min", "max", "median", "p75", "p90", "p95", "p99"}
PROPERTY_MEAN = {"file_size_mb": 14.2, "amount_usd": 96.0, "duration_ms": 640.0, "$session_duration": 312.0}
WEEKDAY_SHAPE = (1.0, 1.05, 1.03, 0.98, 0.9, 0.56, 0.5)
BREAKDOWN_VALUES = {
    "$browser": ["Chrome", "Safari", "Firefox", "Microsoft Edge", "Opera"],
    "$os": ["Mac OS X", "Windows", "iOS", "Android", "Linux"],
    "$device_type": ["Desktop", "Mobile", "Tablet"],
    "$geoip_country_code": ["US", "GB", "DE", "FR", "CA", "IN"],
    "$geoip_country_name": ["United States", "United Kingdom", "Germany", "France", "Canada"],
    "$referring_domain": ["$direct", "www.google.com", "news.ycombinator.com", "twitter.com", "www.bing.com"],
    "$pathname": ["/", "/pricing", "/files", "/signup", "/login", "/account/billing"],
    "plan": ["free", "pro", "business"],
    "$initial_utm_source": ["google", "newsletter", "twitter", "producthunt"],
}
PAGES = ["/", "/pricing", "/signup", "/login", "/files", "/files/shared", "/account/billing", "/account/settings"]
NEXT_PAGES = {
    "/": ["/pricing", "/signup", "/login", "/files"],
    "/pricing": ["/signup", "/account/billing", "/"],
    "/signup": ["/files", "/account/settings"],
    "/login": ["/files", "/account/settings"],
    "/files": ["/files/shared", "/account/settings", "/pricing"],
    "/files/shared": ["/files", "/signup"],
    "/account/billing": ["/files", "/pricing"],
    "/account/settings": ["/files", "/account/billing"],
}
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


def _rng(query: Any, *salt: object) -> random.Random:
    digest = hashlib.sha256((query_hash(query) + repr(salt)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Buckets:
    """The time buckets of a date range at one interval."""

    interval: str
    starts: list[datetime]
    date_from: datetime
    date_to: datetime

    def labels(self) -> list[str]:
        return [hour_label(s) if self.interval in ("hour", "minute") else day_label(s) for s in self.starts]

    def days(self) -> list[str]:
        if self.interval in ("hour", "minute"):
            return [s.strftime("%Y-%m-%d %H:%M:%S") for s in self.starts]
        return [s.strftime("%Y-%m-%d") for s in self.starts]

    def resolved(self) -> dict[str, str]:
        return {"date_from": iso(self.date_from), "date_to": iso(self.date_to)}


def _floor(moment: datetime, interval: str) -> datetime:
    if interval == "minute":
        return moment.replace(second=0, microsecond=0)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = start_of_day(moment)
    if interval == "week":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if interval == "month":
        return day.replace(day=1)
    return day


def _step(moment: datetime, interval: str) -> datetime:
    if interval == "month":
        return months_back(moment, -1)
    sizes = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "week": timedelta(weeks=1)}
    return moment + sizes.get(interval, timedelta(days=1))


def buckets(source: dict[str, Any], now: datetime, default_from: str = "-7d") -> Buckets:
    """The buckets a query's dateRange and interval cover; odd values fall back to the defaults."""
    date_range = source.get("dateRange") if isinstance(source.get("dateRange"), dict) else {}
    interval = source.get("interval") if source.get("interval") in ("minute", "hour", "day", "week", "month") else "day"
    raw_from = (date_range or {}).get("date_from") or default_from
    raw_to = (date_range or {}).get("date_to")
    try:
        date_from = now - timedelta(days=90) if raw_from == "all" else parse_date(str(raw_from), now)
    except ValueError:
        date_from = parse_date(default_from, now)
    try:
        date_to = parse_date(str(raw_to), now) if raw_to else now
    except ValueError:
        date_to = now
    date_from, date_to = min(date_from, date_to), max(date_from, date_to)
    starts: list[datetime] = []
    cursor = _floor(date_from, str(interval))
    while cursor <= date_to and len(starts) < 750:
        starts.append(cursor)
        cursor = _step(cursor, str(interval))
    return Buckets(str(interval), starts, date_from, date_to)


def _volume(event: Any) -> float:
    if event is None:
        return ALL_EVENTS_VOLUME
    name = str(event)
    return DAILY_VOLUME.get(name, 40 + int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) % 400)


def _shape(start: datetime, interval: str, index: int) -> float:
    """Seasonality and gentle growth: weekday dips, a day/night cycle, longer buckets hold more events."""
    growth = 1 + 0.004 * index
    if interval in ("hour", "minute"):
        hour = start.hour
        daylight = 0.35 + 0.65 * max(0.0, 1 - abs(hour - 14) / 10)
        per = 1 / 24 if interval == "hour" else 1 / 1440
        return daylight * 1.7 * per * growth
    if interval == "week":
        return 6.0 * growth
    if interval == "month":
        return 26.0 * growth
    return WEEKDAY_SHAPE[start.weekday()] * growth


def _series_values(node: dict[str, Any], grid: Buckets, rng: random.Random) -> list[float]:
    math = str(node.get("math") or "total")
    volume = _volume(node.get("event") if node.get("kind", "EventsNode") == "EventsNode" else node.get("name"))
    if math in PROPERTY_MATHS:
        mean = PROPERTY_MEAN.get(str(node.get("math_property")), 25.0)
        values = []
        for index, start in enumerate(grid.starts):
            noise = rng.gauss(1, 0.07)
            per_event = mean * noise * (1 + 0.002 * index)
            total = volume * _shape(start, grid.interval, index) * per_event
            values.append(round(total if math == "sum" else per_event * (1.8 if math.startswith("p9") else 1), 2))
        return values
    factor = MATH_FACTOR.get(math, 0.4)
    counts: list[float] = []
    for index, start in enumerate(grid.starts):
        level = volume * factor * _shape(start, grid.interval, index) * rng.gauss(1, 0.08)
        counts.append(float(max(0, round(level))))
    return counts


def _legacy_filter(source: dict[str, Any], grid: Buckets, insight: str) -> dict[str, Any]:
    trends_filter = source.get("trendsFilter") if isinstance(source.get("trendsFilter"), dict) else {}
    return {
        "insight": insight,
        "interval": grid.interval,
        "date_from": iso(grid.date_from),
        "date_to": iso(grid.date_to),
        "display": (trends_filter or {}).get("display") or "ActionsLineGraph",
    }


def _action(node: dict[str, Any], order: int, days: list[str]) -> dict[str, Any]:
    event = node.get("event") if node.get("kind", "EventsNode") == "EventsNode" else node.get("id")
    return {
        "days": days,
        "id": event,
        "type": "events" if node.get("kind", "EventsNode") == "EventsNode" else "actions",
        "order": order,
        "name": node.get("name") or event or "All events",
        "custom_name": node.get("custom_name"),
        "math": node.get("math") or "total",
        "math_property": node.get("math_property"),
        "math_hogql": node.get("math_hogql"),
        "math_group_type_index": node.get("math_group_type_index"),
        "properties": {},
    }


def _label(node: dict[str, Any]) -> str:
    if node.get("kind", "EventsNode") == "EventsNode":
        return str(node.get("event") or "All events")
    return str(node.get("name") or node.get("id"))


BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: a / b if b else 0.0,
}


def _formula(expression: str, values: dict[str, float]) -> float:
    """Evaluate a series formula such as (A/B)*100 over one bucket."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            return BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values.get(node.id.upper(), 0.0)
        raise ValueError("unsupported formula")

    try:
        return walk(ast.parse(expression, mode="eval"))
    except (SyntaxError, ValueError):
        return 0.0


def _trend_item(data: list[float], grid: Buckets, label: str, display: str, extra: dict[str, Any]) -> dict[str, Any]:
    if display in TOTAL_VALUE_DISPLAYS:
        return {"data": [], "count": 0, "aggregated_value": round(sum(data), 2), "label": label, **extra}
    if display == "ActionsLineGraphCumulative":
        running, cumulative = 0.0, []
        for value in data:
            running += value
            cumulative.append(running)
        data = cumulative
        count = data[-1] if data else 0.0
    else:
        count = float(sum(data))
    return {
        "data": data,
        "labels": grid.labels(),
        "days": grid.days(),
        "count": round(count, 2),
        "label": label,
        **extra,
    }


def trends(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """TrendsQuery: one item per series (per breakdown value, per compare period, or per formula)."""
    grid = buckets(source, now)
    trends_filter = source.get("trendsFilter") if isinstance(source.get("trendsFilter"), dict) else {}
    display = str((trends_filter or {}).get("display") or "ActionsLineGraph")
    breakdown_filter = source.get("breakdownFilter") if isinstance(source.get("breakdownFilter"), dict) else {}
    breakdown = (breakdown_filter or {}).get("breakdown")
    compare = bool((source.get("compareFilter") or {}).get("compare"))
    series = [node for node in source.get("series") or [] if isinstance(node, dict)]
    formulas = [f for f in [(trends_filter or {}).get("formula"), *((trends_filter or {}).get("formulas") or [])] if f]
    legacy = _legacy_filter(source, grid, "TRENDS")
    periods = ["current", "previous"] if compare else [None]
    items: list[dict[str, Any]] = []
    for period in periods:
        shift = 0.93 if period == "previous" else 1.0
        raw = {}
        for order, node in enumerate(series):
            rng = _rng(query, "series", order, period)
            exact = str(node.get("math")) in PROPERTY_MATHS
            raw[order] = [
                round(value * shift, 2) if exact else float(round(value * shift))
                for value in _series_values(node, grid, rng)
            ]
        compare_keys: dict[str, Any] = {"compare": True, "compare_label": period} if period else {}
        if formulas:
            for formula in formulas:
                letters = {chr(65 + order): values for order, values in raw.items()}
                data = [
                    round(_formula(str(formula), {k: v[i] for k, v in letters.items()}), 2)
                    for i in range(len(grid.starts))
                ]
                extra = {"action": None, "filter": legacy, **compare_keys}
                items.append(_trend_item(data, grid, f"Formula ({formula})", display, extra))
            continue
        for order, node in enumerate(series):
            action = _action(node, order, grid.days())
            if breakdown:
                values = BREAKDOWN_VALUES.get(str(breakdown), [f"{breakdown} value {n}" for n in (1, 2, 3)])
                shares_rng = _rng(query, "breakdown", order)
                weights = [shares_rng.uniform(0.2, 1.0) / (rank + 1) for rank in range(len(values))]
                total = sum(weights)
                for value, weight in zip(values, weights, strict=True):
                    if str(node.get("math")) in PROPERTY_MATHS:
                        data = [round(point * (0.7 + weight), 2) for point in raw[order]]
                    else:
                        data = [float(round(point * weight / total)) for point in raw[order]]
                    label = f"{_label(node)} - {value}" if len(series) > 1 else str(value)
                    extra = {"action": action, "filter": legacy, "breakdown_value": value, **compare_keys}
                    items.append(_trend_item(data, grid, label, display, extra))
            else:
                extra = {"action": action, "filter": legacy, **compare_keys}
                items.append(_trend_item(raw[order], grid, _label(node), display, extra))
    events = ", ".join(f"'{_label(node)}'" for node in series) or "'$pageview'"
    hogql = (
        f"SELECT count() AS total, toStartOf{grid.interval.capitalize()}(timestamp) AS day_start\n"
        f"FROM events\nWHERE event IN ({events}) AND timestamp >= '{iso(grid.date_from)}'\n"
        "GROUP BY day_start\nORDER BY day_start ASC"
    )
    return Computed(items, hogql=hogql, resolved_date_range=grid.resolved())


def funnels(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """FunnelsQuery: steps (per breakdown value), conversion over time, or time to convert."""
    grid = buckets(source, now)
    series = [node for node in source.get("series") or [] if isinstance(node, dict)]
    funnels_filter = source.get("funnelsFilter") if isinstance(source.get("funnelsFilter"), dict) else {}
    viz = (funnels_filter or {}).get("funnelVizType") or "steps"
    rng = _rng(query, "funnel")
    users = _volume(series[0].get("event") if series else None) * 0.3
    entering = max(1, round(users * len(grid.starts) ** 0.7))
    rates = [rng.uniform(0.32, 0.82) for _ in series[1:]]
    if viz == "trends":
        data = [round(100 * _prod(rates) * rng.gauss(1, 0.06), 2) for _ in grid.starts]
        item = {"count": len(data), "data": data, "days": grid.days(), "labels": grid.labels()}
        return Computed([item], resolved_date_range=grid.resolved())
    if viz == "time_to_convert":
        average = round(rng.uniform(1800, 172800), 1)
        bins = [[int(average * step / 4), max(0, round(entering * rng.uniform(0.02, 0.2)))] for step in range(9)]
        return Computed({"average_conversion_time": average, "bins": bins}, resolved_date_range=grid.resolved())

    def steps(size: int, breakdown_value: str | None) -> list[dict[str, Any]]:
        out, count = [], size
        for order, node in enumerate(series):
            if order:
                count = round(count * rates[order - 1])
            event = node.get("event") if node.get("kind", "EventsNode") == "EventsNode" else node.get("id")
            seconds = None if order == 0 else round(rng.uniform(120, 86400 * 2), 1)
            step: dict[str, Any] = {
                "action_id": event,
                "name": node.get("name") or event or "All events",
                "custom_name": node.get("custom_name"),
                "order": order,
                "people": [],
                "count": count,
                "type": "events" if node.get("kind", "EventsNode") == "EventsNode" else "actions",
                "average_conversion_time": seconds,
                "median_conversion_time": None if seconds is None else round(seconds * 0.62, 1),
                "converted_people_url": None,
                "dropped_people_url": None,
            }
            if breakdown_value is not None:
                step["breakdown"] = [breakdown_value]
                step["breakdown_value"] = [breakdown_value]
            out.append(step)
        return out

    breakdown_filter = source.get("breakdownFilter") if isinstance(source.get("breakdownFilter"), dict) else {}
    breakdown = (breakdown_filter or {}).get("breakdown")
    if breakdown:
        values = BREAKDOWN_VALUES.get(str(breakdown), ["a", "b", "c"])[:4]
        sizes = [round(entering / (rank + 1.5)) for rank in range(len(values))]
        result: Any = [steps(size, value) for size, value in zip(sizes, values, strict=True)]
    else:
        result = steps(entering, None)
    return Computed(result, resolved_date_range=grid.resolved())


def _prod(values: list[float]) -> float:
    total = 1.0
    for value in values:
        total *= value
    return total


def retention(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """RetentionQuery: one cohort per period, each with its decaying returning counts."""
    retention_filter = source.get("retentionFilter") if isinstance(source.get("retentionFilter"), dict) else {}
    period = str((retention_filter or {}).get("period") or "Day")
    total = int((retention_filter or {}).get("totalIntervals") or 8)
    total = max(1, min(total, 60))
    step = {"Hour": timedelta(hours=1), "Week": timedelta(weeks=1), "Month": timedelta(days=30)}.get(
        period, timedelta(days=1)
    )
    target = ((retention_filter or {}).get("targetEntity") or {}).get("id")
    rng = _rng(query, "retention")
    first = start_of_day(now) - step * (total - 1)
    base = max(5, round(_volume(target) * 0.25 * (step / timedelta(days=1)) ** 0.8))
    keep = rng.uniform(0.28, 0.55)
    cohorts = []
    for index in range(total):
        size = max(1, round(base * rng.gauss(1, 0.1)))
        values = []
        for offset in range(total - index):
            share = 1.0 if offset == 0 else keep * offset**-0.45
            values.append({"count": round(size * share * rng.gauss(1, 0.04)), "label": f"{period} {offset}"})
        cohorts.append({"values": values, "label": f"{period} {index}", "date": iso(first + step * index)})
    resolved = {"date_from": iso(first), "date_to": iso(now)}
    return Computed(cohorts, resolved_date_range=resolved)


def paths(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """PathsQuery: weighted links `{source, target, value, average_conversion_time}` between numbered steps."""
    grid = buckets(source, now)
    paths_filter = source.get("pathsFilter") if isinstance(source.get("pathsFilter"), dict) else {}
    start = (paths_filter or {}).get("startPoint")
    limit = int((paths_filter or {}).get("stepLimit") or 5)
    rng = _rng(query, "paths")
    frontier = {str(start) if start else "/": float(round(_volume("$pageview") * 0.4 * len(grid.starts)))}
    links: list[dict[str, Any]] = []
    for step in range(1, max(2, min(limit, 8))):
        following: dict[str, float] = {}
        for page, users in sorted(frontier.items(), key=lambda item: -item[1])[:4]:
            targets = NEXT_PAGES.get(page, PAGES[:3])
            for rank, target in enumerate(targets):
                value = round(users * rng.uniform(0.12, 0.4) / (rank + 1))
                if value < 3:
                    continue
                links.append(
                    {
                        "source": f"{step}_{page}",
                        "target": f"{step + 1}_{target}",
                        "value": value,
                        "average_conversion_time": round(rng.uniform(4000, 90000), 1),
                    }
                )
                following[target] = following.get(target, 0.0) + value
        frontier = following
    links.sort(key=lambda link: -int(link["value"]))
    return Computed(links[:50], resolved_date_range=grid.resolved())


def stickiness(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """StickinessQuery: how many users did the event on exactly 1, 2, ... n intervals."""
    grid = buckets(source, now)
    series = [node for node in source.get("series") or [] if isinstance(node, dict)]
    unit = {"hour": "hour", "week": "week", "month": "month"}.get(grid.interval, "day")
    length = len(grid.starts)
    labels = [f"{n} {unit}" + ("" if n == 1 else "s") for n in range(1, length + 1)]
    items = []
    for order, node in enumerate(series):
        rng = _rng(query, "stickiness", order)
        top = _volume(node.get("event")) * 0.2
        data = [float(max(0, round(top * 0.62**n * rng.gauss(1, 0.08)))) for n in range(length)]
        items.append(
            {
                "data": data,
                "labels": labels,
                "days": list(range(1, length + 1)),
                "count": float(sum(data)),
                "label": _label(node),
                "action": _action(node, order, [str(n) for n in range(1, length + 1)]),
                "filter": _legacy_filter(source, grid, "STICKINESS"),
            }
        )
    return Computed(items, resolved_date_range=grid.resolved())


def lifecycle(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """LifecycleQuery: new, returning, resurrecting and (negative) dormant users per interval."""
    grid = buckets(source, now)
    series = [node for node in source.get("series") or [] if isinstance(node, dict)]
    node = series[0] if series else {"kind": "EventsNode", "event": "$pageview"}
    rng = _rng(query, "lifecycle")
    active = [_volume(node.get("event")) * 0.2 * _shape(s, grid.interval, i) for i, s in enumerate(grid.starts)]
    shares = {"new": 0.16, "returning": 0.62, "resurrecting": 0.11, "dormant": -0.24}
    items = []
    for status, share in shares.items():
        data = [float(round(level * share * rng.gauss(1, 0.1))) for level in active]
        items.append(
            {
                "data": data,
                "labels": grid.labels(),
                "days": grid.days(),
                "count": float(sum(data)),
                "label": f"{_label(node)} - {status}",
                "status": status,
                "action": _action(node, 0, grid.days()),
                "filter": _legacy_filter(source, grid, "LIFECYCLE"),
            }
        )
    return Computed(items, resolved_date_range=grid.resolved())


def _select_columns(sql: str) -> list[str]:
    match = re.search(r"select\s+(.*?)\s+from\s", sql, re.IGNORECASE | re.DOTALL)
    clause = match.group(1) if match else sql.removeprefix("SELECT").removeprefix("select")
    columns, depth, current = [], 0, ""
    for char in clause:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            columns.append(current)
            current = ""
        else:
            current += char
    columns.append(current)
    names = []
    for column in columns:
        alias = re.search(r"\s+as\s+([\w$]+)\s*$", column, re.IGNORECASE)
        names.append(alias.group(1) if alias else " ".join(column.split()))
    return [name for name in names if name] or ["value"]


def _cell(column: str, row: int, rng: random.Random, now: datetime) -> tuple[Any, str]:
    name = column.lower()
    if any(word in name for word in ("date", "day", "week", "month", "time")):
        return (start_of_day(now) - timedelta(days=row)).strftime("%Y-%m-%d"), "Date"
    if any(word in name for word in ("count", "total", "views", "users", "shared", "number")) or name.startswith("n_"):
        return max(1, round(rng.uniform(40, 900) / (row + 1) ** 0.6)), "UInt64"
    if any(word in name for word in ("revenue", "amount", "sum", "avg", "rate", "usd")):
        return round(rng.uniform(100, 9000) / (row + 1) ** 0.5, 2), "Float64"
    if "email" in name:
        people = ["ava", "ben", "chloe", "dev", "elif", "femi", "gus", "hana", "ines", "jon", "kai", "lena"]
        return f"{people[row % len(people)]}{row // len(people) or ''}@example.com", "String"
    if "path" in name or "url" in name:
        return PAGES[row % len(PAGES)], "String"
    if "plan" in name:
        return BREAKDOWN_VALUES["plan"][row % 3], "String"
    if "browser" in name:
        return BREAKDOWN_VALUES["$browser"][row % 5], "String"
    if "event" in name:
        events = list(DAILY_VOLUME)
        return events[row % len(events)], "String"
    return f"{column} {row + 1}", "String"


def hogql(query: Any, source: dict[str, Any], now: datetime) -> Computed:
    """HogQLQuery: rows whose columns follow the SELECT list, typed by their names."""
    sql = str(source.get("query") or "SELECT 1")
    columns = _select_columns(sql)
    limit_match = re.search(r"\blimit\s+(\d+)", sql, re.IGNORECASE)
    rows_wanted = min(int(limit_match.group(1)) if limit_match else 10, 25)
    group_by = re.search(r"\bgroup\s+by\s+([\w$.]+)", sql, re.IGNORECASE)
    if group_by:
        domains = {"plan": 3, "browser": 5, "path": len(PAGES), "url": len(PAGES)}
        grouped = group_by.group(1).lower()
        rows_wanted = min([rows_wanted, *(size for word, size in domains.items() if word in grouped)])
    rng = _rng(query, "hogql")
    rows, types = [], [[column, "String"] for column in columns]
    for row in range(rows_wanted):
        cells = []
        for index, column in enumerate(columns):
            value, kind = _cell(column, row, rng, now)
            cells.append(value)
            types[index][1] = kind
        rows.append(cells)
    order_by = re.search(r"\border\s+by\s+([\w$]+)(\s+desc)?", sql, re.IGNORECASE)
    if order_by and order_by.group(1) in columns:
        position = columns.index(order_by.group(1))
        rows.sort(key=lambda cells: cells[position], reverse=bool(order_by.group(2)))
    return Computed(rows, columns=columns, types=types, hogql=sql)


RUNNERS: dict[str, Callable[[Any, dict[str, Any], datetime], Computed]] = {
    "TrendsQuery": trends,
    "FunnelsQuery": funnels,
    "RetentionQuery": retention,
    "PathsQuery": paths,
    "StickinessQuery": stickiness,
    "LifecycleQuery": lifecycle,
    "HogQLQuery": hogql,
}


def compute(query: Any, now: datetime) -> Computed:
    """The result of running `query` at `now`; kinds the sandbox does not model give an empty table."""
    source = source_of(query)
    if source is None:
        return Computed(None)
    runner = RUNNERS.get(str(source.get("kind")))
    if runner is None:
        return Computed([], columns=[])
    return runner(query, source, now)
