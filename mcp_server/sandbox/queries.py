"""Query nodes: PostHog's structural checks, the MCP wrapping rules, insight types and plain-English names."""

from __future__ import annotations

import json
from typing import Any

INSIGHT_KINDS = {
    f"{kind.capitalize()}Query": kind for kind in ("TRENDS", "FUNNELS", "RETENTION", "PATHS", "STICKINESS")
}
INSIGHT_KINDS["LifecycleQuery"] = "LIFECYCLE"
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


def describe(query: Any) -> tuple[str, str]:
    """A deterministic name and description for a query, standing in for PostHog's AI suggestion."""
    source = source_of(query) or {}
    kind = str(source.get("kind"))
    steps = [str(node.get("custom_name") or node.get("event") or "All events") for node in source.get("series") or []]
    date_from = str((source.get("dateRange") or {}).get("date_from") or "-7d")
    amount, unit = date_from[1:-1], {"h": "hours", "d": "days", "w": "weeks", "m": "months"}.get(date_from[-1:], "")
    when = f"last {amount} {unit}" if date_from.startswith("-") and amount.isdigit() and unit else f"since {date_from}"
    label = INSIGHT_KINDS.get(kind, {"HogQLQuery": "SQL", "EventsQuery": "EVENTS"}.get(kind, kind)).capitalize()
    what = (" → " if kind == "FunnelsQuery" else " vs ").join(steps) or " ".join(str(source.get("query", "")).split())[
        :60
    ]
    return f"{label}: {what or 'list'}, {when}", f"{label} of {what or 'matching rows'} over the {when}."
