"""What a query's results say about themselves: series summaries, funnel conversions, staleness, completeness.

Plain arithmetic over what PostHog returned. Trends series are PostHog's (posthog/hogql_queries/insights/trends/
trends_query_runner.py: `data`, `days`, `count`, `aggregated_value`, and `compare_label` "current"/"previous" when
the query has compareFilter); funnel steps are PostHog's (posthog/hogql_queries/insights/funnels/base.py:
`count`, and `average_conversion_time`/`median_conversion_time` in seconds, null on the first step).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp_server import errors

# The length of one interval; a month counts as 31 days, so that no complete month is taken for one in progress.
INTERVALS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=31),
}
# posthog/hogql_queries/hogql_query_runner.py: SQL results are cached "like day insight".
SQL_INTERVAL = "day"
# posthog/hogql/constants.py: MAX_SELECT_RETURNED_ROWS, the most rows an explicit LIMIT gets.
MAX_SQL_ROWS = 50_000
SQL_LIMIT = re.compile(r"\blimit\s+(\d+)(?:\s+offset\s+\d+)?\s*;?\s*$", re.IGNORECASE)
INSIGHT_SOURCES = ("TrendsQuery", "FunnelsQuery", "RetentionQuery", "PathsQuery", "StickinessQuery", "LifecycleQuery")
# Room the completeness fields may still need once the response budget has been applied.
RESERVE = len(',"complete":false,"cut_by":["response_budget"]')


# Deeper than this, values are left as they are: shaping clips them at a shallower depth anyway.
WHOLE_DEPTH = 100


def whole(value: Any, levels: int = WHOLE_DEPTH) -> Any:
    """The value with every whole float as an integer (1.0 becomes 1), down to `levels` deep."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not levels:
        return value
    if isinstance(value, list):
        return [whole(v, levels - 1) for v in value]
    if isinstance(value, dict):
        return {k: whole(v, levels - 1) for k, v in value.items()}
    return value


def percent(part: float, of: float) -> str | None:
    """`part` as a percentage of `of`, one decimal (None when `of` is zero)."""
    return f"{whole(round(100 * part / of, 1))}%" if of else None


def change(now: float, before: float) -> str | None:
    """The signed relative change from `before` to `now`, as a percentage (None when `before` is zero)."""
    if not before:
        return None
    return f"{whole(round(100 * (now - before) / before, 1)):+}%"


def duration(seconds: float) -> str:
    """Seconds in the largest unit that keeps the number at least one: 45 s, 1.5 min, 2 h, 3.2 d."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{whole(round(seconds / size, 1))} {unit}"
    return f"{whole(round(seconds, 1))} s"


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def moment(text: Any) -> datetime | None:
    """An ISO timestamp as an aware datetime (UTC when it names no zone); None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def zone(name: Any) -> Any:
    """The project's time zone by name, UTC when unknown."""
    try:
        return ZoneInfo(str(name)) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def source(query: Any) -> dict[str, Any]:
    """The query node that was computed: a wrapper's source, or the node itself."""
    if not isinstance(query, Mapping):
        return {}
    inner = query.get("source")
    return dict(inner) if isinstance(inner, Mapping) else dict(query)


def interval(query: Any) -> str | None:
    """The query's interval (day when it has none); None for a query this server cannot read."""
    node = source(query)
    kind = node.get("kind")
    if kind == "HogQLQuery":
        return SQL_INTERVAL
    if kind not in INSIGHT_SOURCES:
        return None
    period = (node.get("retentionFilter") or {}).get("period") if kind == "RetentionQuery" else None
    chosen = str(period or node.get("interval") or "day").lower()
    return chosen if chosen in INTERVALS else "day"


def _spacing(days: list[Any]) -> str | None:
    """The interval of a series' buckets, read from the gap between its first two."""
    first, second = (moment(day) for day in days[:2]) if len(days) > 1 else (None, None)
    if first is None or second is None:
        return None
    gap = second - first
    return min(INTERVALS, key=lambda name: abs(INTERVALS[name] - gap))


def _in_progress(day: Any, step: str | None, computed: datetime, tz: Any) -> bool:
    """Whether the bucket starting at `day` (project time) had not ended when the numbers were computed."""
    start = moment(day) if isinstance(day, str) and "T" in day else None
    if start is None and isinstance(day, str):
        try:
            start = datetime.fromisoformat(day).replace(tzinfo=tz)
        except ValueError:
            return False
    if start is None or step is None:
        return False
    return start + INTERVALS[step] > computed


def _is_series(item: Any) -> bool:
    return isinstance(item, dict) and ("aggregated_value" in item or isinstance(item.get("data"), list))


def _is_step(item: Any) -> bool:
    return isinstance(item, dict) and "order" in item and "count" in item and "data" not in item


def _pair_key(series: dict[str, Any]) -> str:
    action: Mapping[str, Any] = series["action"] if isinstance(series.get("action"), dict) else {}
    return json.dumps([action.get("order"), series.get("breakdown_value"), action.get("custom_name")], default=str)


def summarise_series(items: list[Any], step: str | None, computed: datetime, tz: Any) -> None:
    """Give each trends series its `summary`, and drop the zero `count` beside an aggregated value.

    summary: total (PostHog's count), last, min and max over the complete intervals, `in_progress` naming the
    last bucket when it had not ended, and `change` against the previous period: PostHog's previous-period series
    when the query compares (`vs`: "previous period"), otherwise the last complete interval against the one before
    it (`vs`: that interval's day).
    """
    # Each previous-period series' total, read before any series loses its count to its summary.
    previous = {
        _pair_key(s): s.get("aggregated_value", s.get("count"))
        for s in items
        if _is_series(s) and s.get("compare_label") == "previous"
    }
    for series in items:
        if not _is_series(series):
            continue
        prior = previous.get(_pair_key(series)) if series.get("compare_label") == "current" else None
        summary: dict[str, Any] = {}
        if "aggregated_value" in series:
            if series.get("count") == 0:
                del series["count"]
            value = series["aggregated_value"]
            if _number(prior) and _number(value):
                summary = {"change": change(value, prior), "vs": "previous period"}
        else:
            data = [v if _number(v) else 0 for v in series["data"]]
            if not data:
                continue
            days = series.get("days") if isinstance(series.get("days"), list) else []
            ongoing = len(days) == len(data) and _in_progress(days[-1], step or _spacing(days), computed, tz)
            done = data[:-1] if ongoing else data
            # PostHog's count is the total (the last value of a cumulative series): the summary carries it instead.
            count = series.pop("count", None)
            total = count if _number(count) else sum(data)
            summary = {"total": total}
            if done:
                summary |= {"last": done[-1], "min": min(done), "max": max(done)}
            if ongoing:
                summary["in_progress"] = days[-1]
            if _number(prior):
                summary |= {"change": change(total, prior), "vs": "previous period"}
            elif series.get("compare_label") is None and len(done) > 1:
                summary["change"] = change(done[-1], done[-2])
                summary["vs"] = days[len(done) - 2] if days else "previous interval"
        summary = {k: v for k, v in summary.items() if v is not None}
        if summary.get("change") is None:
            summary.pop("vs", None)
        if summary:
            series["summary"] = whole(summary)


def convert_steps(steps: list[Any]) -> None:
    """Give each funnel step after the first its conversion from the first and the previous step, and its times
    to convert with their unit (PostHog gives seconds)."""
    first = steps[0].get("count") if steps and isinstance(steps[0], dict) else None
    before: Any = None
    for step in steps:
        if not isinstance(step, dict):
            continue
        count = step.get("count")
        if before is not None and _number(count):
            if _number(first):
                step["from_first"] = percent(count, first)
            if _number(before):
                step["from_previous"] = percent(count, before)
        for raw, shown in (("median_conversion_time", "median_time"), ("average_conversion_time", "average_time")):
            seconds = step.pop(raw, None)
            if _number(seconds):
                step[shown] = duration(seconds)
        before = count


def describe(results: Any, query: Any, step: str | None, computed: datetime, tz: Any) -> None:
    """Add summaries to trends series and conversions to funnel steps, in place; other results are left alone.

    A query of another kind (stickiness, lifecycle, a funnel over time) is left alone too; without the query
    (query-get), the results' shape decides.
    """
    kind = source(query).get("kind")
    if not isinstance(results, list) or not results:
        return
    if kind in (None, "TrendsQuery") and any(_is_series(item) for item in results):
        summarise_series(results, step, computed, tz)
    elif kind not in (None, "FunnelsQuery"):
        return
    elif all(_is_step(item) for item in results):
        convert_steps(results)
    elif all(isinstance(group, list) and group and all(_is_step(s) for s in group) for group in results):
        for group in results:
            convert_steps(group)


def stale_note(step: str | None, computed: datetime | None, now: datetime, results: Any) -> str | None:
    """The note for numbers computed more than one interval of their query ago (None when fresh or unknown)."""
    if step is None and isinstance(results, list):
        series = next((s for s in results if _is_series(s)), None)
        step = _spacing(series.get("days") or []) if series else None
    if computed is None or step is None or now - computed <= INTERVALS[step]:
        return None
    return errors.stale(duration((now - computed).total_seconds()), step)


def sql_limit(sql: Any) -> int | None:
    """The LIMIT that ends a SQL query, if it has one."""
    match = SQL_LIMIT.search(sql) if isinstance(sql, str) else None
    return int(match.group(1)) if match else None


def cuts(item: Mapping[str, Any], rows: Any, query: Any) -> tuple[list[str], int | None]:
    """What PostHog's own limits cut from these results, and the limit applied."""
    node = source(query)
    rows = rows if isinstance(rows, list) else []
    if "columns" in item:
        more = ["posthog_row_limit"] if item.get("hasMore") else []
        given = item.get("limit")
        if _number(given):
            return more, int(given)
        written = sql_limit(node.get("query") if node else item.get("hogql"))
        if written is None or more:
            # An insight's SQL answer says whether PostHog held rows back (`hasMore`), not the limit it applied.
            return more, None if written is None else min(written, MAX_SQL_ROWS)
        applied = min(written, MAX_SQL_ROWS)
        if len(rows) < applied:
            return [], applied
        return (["posthog_row_limit"] if written > MAX_SQL_ROWS else ["sql_limit"]), applied
    breakdown: Mapping[str, Any] = node["breakdownFilter"] if isinstance(node.get("breakdownFilter"), Mapping) else {}
    limit = breakdown.get("breakdown_limit")
    return (["breakdown_limit"] if item.get("hasMore") else []), (int(limit) if _number(limit) else None)


# What encodeURIComponent leaves as it is, beyond letters, digits and `_.-~`.
URI_COMPONENT = "!*'()"


def new_insight_url(host: str, project_id: int | None, query: Any) -> str | None:
    """PostHog's page for an unsaved query: SQL opens in the SQL editor (`urls.sqlEditor` in
    frontend/src/scenes/urls.ts, where `urls.insightNew` in products/product_analytics/manifest.tsx sends it),
    any other query as a new insight."""
    node = source(query)
    if project_id is None or not node:
        return None
    if node.get("kind") == "HogQLQuery":
        sql = node.get("query")
        # Escaped as encodeURIComponent escapes it.
        return (
            f"{host}/project/{project_id}/sql?open_query={quote(sql, safe=URI_COMPONENT)}"
            if isinstance(sql, str)
            else None
        )
    state = json.dumps({"kind": "InsightVizNode", "source": node}, separators=(",", ":"))
    # Escaped as a fragment needs, `&`, `=` and `+` included: they would split PostHog's hash parameters.
    return f"{host}/project/{project_id}/insights/new#q={quote(state, safe=':,()*!$@/?')}"


def close(result: dict[str, Any], key: str) -> None:
    """Settle the completeness fields once the response budget has been applied: rows as sent, and the budget
    among the causes when it cut anything."""
    rows = result.get(key)
    if isinstance(rows, list) and "rows" in result:
        result["rows"] = len(rows)
    if "truncated" in result:
        result["complete"] = False
        result["cut_by"] = [*result.get("cut_by", []), "response_budget"]
