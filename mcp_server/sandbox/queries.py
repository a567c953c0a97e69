"""Query nodes: PostHog's structural checks, the MCP wrapping rules, insight types and plain-English names."""

from __future__ import annotations

import json
from typing import Any

INSIGHT_KINDS = {
    "TrendsQuery": "TRENDS",
    "FunnelsQuery": "FUNNELS",
    "RetentionQuery": "RETENTION",
    "PathsQuery": "PATHS",
    "StickinessQuery": "STICKINESS",
    "LifecycleQuery": "LIFECYCLE",
}
SERIES_KINDS = ("EventsNode", "ActionsNode", "DataWarehouseNode", "GroupNode")
WRAPPER_KINDS = ("InsightVizNode", "DataVisualizationNode", "DataTableNode")
INTERVALS = ("minute", "hour", "day", "week", "month")
SERIES_INSIGHTS = ("TrendsQuery", "FunnelsQuery", "StickinessQuery", "LifecycleQuery")


class QueryRejected(Exception):
    """A query that does not validate; `details` reads like pydantic's `loc: msg; ...`."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


def _expected(kinds: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


def structure_error(query: Any) -> str | None:
    """The pre-check PostHog runs for every client: a query must be an object with a `kind`."""
    if not isinstance(query, dict):
        return (
            "1 validation error for QuerySchemaRoot\n  Input should be a valid dictionary or object to extract "
            f"fields from [type=model_attributes_type, input_value={query!r}, input_type={type(query).__name__}]"
        )
    if not isinstance(query.get("kind"), str):
        return (
            "1 validation error for QuerySchemaRoot\n  Unable to extract tag using discriminator 'kind' "
            f"[type=union_tag_not_found, input_value={json.dumps(query)[:80]}, input_type=dict]"
        )
    return None


def _series_errors(source: dict[str, Any], loc: str) -> list[str]:
    series = source.get("series")
    if series is None:
        return [f"{loc}.series: Field required"]
    if not isinstance(series, list):
        return [f"{loc}.series: Input should be a valid list"]
    errors = []
    for index, node in enumerate(series):
        kind = node.get("kind") if isinstance(node, dict) else None
        if kind not in SERIES_KINDS:
            errors.append(
                f"{loc}.series.{index}: Input tag '{kind}' found using 'kind' does not match any of the "
                f"expected tags: {_expected(SERIES_KINDS)}"
            )
        elif kind == "ActionsNode" and not isinstance(node.get("id"), int):
            errors.append(f"{loc}.series.{index}.ActionsNode.id: Field required")
    return errors


def source_errors(source: Any, loc: str, allowed: tuple[str, ...]) -> list[str]:
    """Why `source` is not one of the `allowed` query kinds, as pydantic would put it."""
    kind = source.get("kind") if isinstance(source, dict) else None
    if not isinstance(source, dict) or kind not in allowed:
        return [
            f"{loc}: Input tag '{kind}' found using 'kind' does not match any of the expected tags: "
            f"{_expected(allowed)}"
        ]
    where = f"{loc}.{kind}"
    errors: list[str] = []
    if kind in SERIES_INSIGHTS:
        errors += _series_errors(source, where)
    if kind == "RetentionQuery" and not isinstance(source.get("retentionFilter"), dict):
        errors.append(f"{where}.retentionFilter: Field required")
    if kind == "PathsQuery" and not isinstance(source.get("pathsFilter"), dict):
        errors.append(f"{where}.pathsFilter: Field required")
    if kind == "HogQLQuery" and not isinstance(source.get("query"), str):
        errors.append(f"{where}.query: Field required")
    interval = source.get("interval")
    if interval is not None and interval not in INTERVALS:
        errors.append(f"{where}.interval: Input should be {_expected(INTERVALS)}")
    date_range = source.get("dateRange")
    if date_range is not None and not isinstance(date_range, dict):
        errors.append(f"{where}.dateRange: Input should be a valid dictionary")
    return errors


def insight_viz_errors(query: Any) -> list[str]:
    """Errors of `InsightVizNode.model_validate(query)`."""
    if not isinstance(query, dict) or query.get("kind") != "InsightVizNode":
        kind = query.get("kind") if isinstance(query, dict) else None
        return [f"kind: Input should be 'InsightVizNode' [input_value={kind!r}]"]
    return source_errors(query.get("source"), "source", tuple(INSIGHT_KINDS))


def for_mcp(query: dict[str, Any]) -> dict[str, Any]:
    """MCPInsightSerializer.validate_query: wrap bare nodes, keep valid wrappers, refuse the rest."""
    kind = query.get("kind")
    if kind == "HogQLQuery" and not source_errors(query, "source", ("HogQLQuery",)):
        return {"kind": "DataVisualizationNode", "source": query}
    if kind == "DataVisualizationNode":
        errors = source_errors(query.get("source"), "source", ("HogQLQuery",))
    elif kind == "InsightVizNode":
        errors = insight_viz_errors(query)
    else:
        errors = source_errors(query, "source", tuple(INSIGHT_KINDS))
        if not errors:
            return {"kind": "InsightVizNode", "source": query}
    if errors:
        raise QueryRejected("; ".join(errors))
    return query


def metadata_query_ok(query: Any) -> bool:
    """generate_metadata accepts valid actor/event/group queries, and otherwise only a valid InsightVizNode."""
    kind = query.get("kind") if isinstance(query, dict) else None
    if kind == "EventsQuery":
        return isinstance(query.get("select"), list)
    if kind == "GroupsQuery":
        return isinstance(query.get("group_type_index"), int)
    if kind == "ActorsQuery":
        return True
    return not insight_viz_errors(query)


def source_of(query: Any) -> dict[str, Any] | None:
    """The query node that is computed: a wrapper's source, or the node itself."""
    if not isinstance(query, dict):
        return None
    if query.get("kind") in WRAPPER_KINDS and isinstance(query.get("source"), dict):
        source: dict[str, Any] = query["source"]
        return source
    return query


def insight_type(query: Any) -> str | None:
    """The `insight` list filter's type: TRENDS ... LIFECYCLE, SQL, JSON; None without a query."""
    if not isinstance(query, dict) or not query:
        return None
    kind = query.get("kind")
    source = query.get("source") if isinstance(query.get("source"), dict) else {}
    source_kind = source.get("kind") if isinstance(source, dict) else None
    if kind in WRAPPER_KINDS and source_kind == "HogQLQuery":
        return "SQL"
    if kind == "InsightVizNode" and source_kind in INSIGHT_KINDS:
        return INSIGHT_KINDS[str(source_kind)]
    return "JSON"


def range_phrase(date_from: str | None) -> str:
    """A date_from such as -14d in words: 'last 14 days'."""
    value = date_from or "-7d"
    named = {"dStart": "today", "mStart": "this month", "yStart": "this year", "all": "all time"}
    if value in named:
        return named[value]
    units = {"h": "hour", "d": "day", "w": "week", "m": "month", "q": "quarter", "y": "year"}
    if value.startswith("-") and value[1:-1].isdigit() and value[-1] in units:
        amount, unit = int(value[1:-1]), units[value[-1]]
        return f"last {unit}" if amount == 1 else f"last {amount} {unit}s"
    return f"since {value}"


def _series_phrase(node: dict[str, Any]) -> str:
    event = node.get("custom_name") or node.get("event") or node.get("name") or "All events"
    math = node.get("math") or "total"
    prop = node.get("math_property")
    phrases = {
        "total": f"{event} count",
        "dau": f"unique users doing {event}",
        "weekly_active": f"weekly active users ({event})",
        "monthly_active": f"monthly active users ({event})",
        "unique_session": f"sessions with {event}",
        "first_time_for_user": f"first-time {event}",
    }
    if math in phrases:
        return phrases[math]
    if prop:
        return f"{math} of {prop} per {event}"
    return f"{event} ({math})"


def describe(query: Any) -> tuple[str, str]:
    """A deterministic name and description for a query, in the spirit of PostHog's AI suggestion."""
    source = source_of(query) or {}
    kind = source.get("kind")
    date_range = source.get("dateRange") if isinstance(source.get("dateRange"), dict) else {}
    when = range_phrase(date_range.get("date_from") if date_range else None)
    series = [node for node in source.get("series") or [] if isinstance(node, dict)]
    steps = [str(node.get("custom_name") or node.get("event") or "All events") for node in series]
    breakdown_filter = source.get("breakdownFilter") if isinstance(source.get("breakdownFilter"), dict) else {}
    breakdown = breakdown_filter.get("breakdown") if breakdown_filter else None
    by = f" by {breakdown}" if breakdown else ""
    interval = source.get("interval") or "day"
    adjective = {"minute": "Per-minute", "hour": "Hourly", "day": "Daily", "week": "Weekly", "month": "Monthly"}
    if kind == "TrendsQuery":
        trends_filter = source.get("trendsFilter") if isinstance(source.get("trendsFilter"), dict) else {}
        formula = (trends_filter or {}).get("formula")
        what = f"Formula {formula}" if formula else " vs ".join(_series_phrase(node) for node in series) or "events"
        name = f"{adjective.get(str(interval), 'Daily')} {what}{by}, {when}"
        description = f"Trend of {what}{by} per {interval} over the {when}."
        return name, description
    if kind == "FunnelsQuery":
        path = " → ".join(steps) or "steps"
        return f"Funnel: {path}{by}, {when}", f"Conversion through {len(steps)} steps ({path}){by} over the {when}."
    if kind == "RetentionQuery":
        retention_filter = source.get("retentionFilter") or {}
        period = str(retention_filter.get("period") or "Day").lower()
        target = (retention_filter.get("targetEntity") or {}).get("id") or "any event"
        returning = (retention_filter.get("returningEntity") or {}).get("id") or "any event"
        return (
            f"{period.capitalize()}ly retention: {target} → {returning}",
            f"Share of users who did {target} and came back to do {returning}, per {period}.",
        )
    if kind == "PathsQuery":
        paths_filter = source.get("pathsFilter") or {}
        start = paths_filter.get("startPoint")
        name = f"User paths from {start}" if start else "User paths"
        return f"{name}, {when}", f"Most common paths users take{' from ' + start if start else ''} over the {when}."
    if kind == "StickinessQuery":
        what = " vs ".join(steps) or "events"
        return f"Stickiness of {what}, {when}", f"How many {interval}s users did {what} over the {when}."
    if kind == "LifecycleQuery":
        what = steps[0] if steps else "events"
        return (
            f"Lifecycle of {what} users, {when}",
            f"New, returning, resurrecting and dormant users doing {what} per {interval} over the {when}.",
        )
    if kind == "HogQLQuery":
        text = " ".join(str(source.get("query") or "").split())
        return "SQL: " + text[:60], "Results of the SQL query: " + text[:200]
    label = {"EventsQuery": "Events", "ActorsQuery": "Persons", "GroupsQuery": "Groups"}.get(str(kind), str(kind))
    return f"{label} list", f"A table of {label.lower()} matching the query."
