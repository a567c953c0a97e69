"""Names a result can carry from another tool's listing: an insight's dashboards, an unknown event's near misses.

Each naming is declared on a catalog entry (`Tool.naming`) with the tool whose listing supplies the names. The
backend fetches that listing's first page once per call, only when the reply holds something to name and the key
holds the lister's scope; a listing that fails or times out leaves the result exactly as it was.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp_server import errors

Objects = list[Mapping[str, Any]]


@dataclass(frozen=True)
class Listing:
    """The first page of a lister's items, and whether it holds every item PostHog has."""

    items: list[Mapping[str, Any]]
    total: int | None

    @property
    def complete(self) -> bool:
        """Whether no item was left off the page."""
        return self.total is not None and self.total <= len(self.items)


@dataclass(frozen=True)
class Naming:
    """What a tool's results can be told by another tool's listing, declared rather than coded per tool."""

    lister: str
    """The catalog tool whose request supplies the names; its scope is the one the key must hold."""
    wanted: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]
    """Whether one of PostHog's objects (with the call's arguments) holds something to name."""
    add: Callable[[Objects, Listing, Mapping[str, Any]], dict[str, Any]]
    """The fields to add at the top of the result, from PostHog's objects, the listing and the arguments."""


def read_listing(reply: Any) -> Listing | None:
    """A listing out of PostHog's offset page, or None for anything else (junk names nothing)."""
    if not isinstance(reply, Mapping) or not isinstance(reply.get("results"), list):
        return None
    count = reply.get("count")
    items = [item for item in reply["results"] if isinstance(item, Mapping)]
    return Listing(items, count if isinstance(count, int) and not isinstance(count, bool) else None)


def merge(result: dict[str, Any], added: Mapping[str, Any]) -> None:
    """Add fields to a result; a list joins a list already there (another part may have warnings too)."""
    for name, value in added.items():
        present = result.get(name)
        result[name] = present + value if isinstance(present, list) and isinstance(value, list) else value


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, int) and not isinstance(item, bool)]


def has_dashboards(item: Mapping[str, Any], _: Mapping[str, Any]) -> bool:
    """An insight on at least one dashboard."""
    return bool(_ids(item.get("dashboards")))


def dashboard_names(objects: Objects, listing: Listing, _: Mapping[str, Any]) -> dict[str, Any]:
    """`dashboard_names`: each dashboard id the insights hold, as a string, to its name (once per result)."""
    names = {
        item["id"]: item["name"]
        for item in listing.items
        if isinstance(item.get("id"), int) and isinstance(item.get("name"), str)
    }
    named = {str(i): names[i] for obj in objects for i in _ids(obj.get("dashboards")) if i in names}
    return {"dashboard_names": named} if named else {}


# Queries whose results are series or steps of the events their `series` nodes name.
EVENT_SERIES = frozenset({"TrendsQuery", "FunnelsQuery", "StickinessQuery", "LifecycleQuery"})
WRAPPERS = frozenset({"InsightVizNode", "DataVisualizationNode"})
# Bounds on the work: events warned about per result, close names per event, characters compared per name.
MAX_WARNINGS = 5
CLOSE_NAMES = 3
COMPARED = 100


def _source(query: Any) -> Mapping[str, Any] | None:
    if isinstance(query, Mapping) and query.get("kind") in WRAPPERS:
        query = query.get("source")
    return query if isinstance(query, Mapping) else None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _is_zero(item: Mapping[str, Any]) -> bool:
    """A series (data, count, aggregated_value) or funnel step (count) that counted nothing."""
    data = item.get("data")
    points = data if isinstance(data, list) else []
    return (
        not any(_number(v) for v in points)
        and not _number(item.get("count"))
        and not _number(item.get("aggregated_value"))
    )


def _order(item: Mapping[str, Any]) -> Any:
    """Which series node a result item belongs to: a trends series' action.order, a funnel step's order."""
    action = item.get("action")
    return action.get("order") if isinstance(action, Mapping) else item.get("order")


def _answer(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The computed answer: the reply itself, or what a finished computation's status read carries."""
    status = item.get("query_status")
    results = status.get("results") if isinstance(status, Mapping) and status.get("complete") else None
    return results if isinstance(results, Mapping) else item


def zero_events(item: Mapping[str, Any], arguments: Mapping[str, Any]) -> list[str]:
    """The events named in the query whose every series or funnel step counted zero."""
    source = _source(item.get("query") or arguments.get("query"))
    if source is None or source.get("kind") not in EVENT_SERIES or not isinstance(source.get("series"), list):
        return []
    events = {
        index: node["event"]
        for index, node in enumerate(source["series"])
        if isinstance(node, Mapping) and node.get("kind") == "EventsNode" and isinstance(node.get("event"), str)
    }
    answer = _answer(item)
    results = answer["result"] if "result" in answer else answer.get("results")
    if not events or not isinstance(results, list):
        return []
    # Funnels with a breakdown answer one list of steps per value.
    rows = [row for entry in results for row in (entry if isinstance(entry, list) else [entry])]
    counted = set()
    for row in rows:
        if isinstance(row, Mapping) and not _is_zero(row):
            order = _order(row)
            if not isinstance(order, int):
                # A row not tied to one node (a formula) that counted something: no node is known to be zero.
                return []
            counted.add(order)
    return list(dict.fromkeys(event for index, event in events.items() if index not in counted))


def has_zero_events(item: Mapping[str, Any], arguments: Mapping[str, Any]) -> bool:
    """A result in which an event of the query counted nothing."""
    return bool(zero_events(item, arguments))


def unknown_events(objects: Objects, listing: Listing, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`warnings` for each zero-counting event the project's event definitions do not hold, with the closest ones."""
    known = [str(item["name"]) for item in listing.items if isinstance(item.get("name"), str)]
    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(name.lower()[:COMPARED], name)
    warnings: list[str] = []
    for obj in objects:
        for event in zero_events(obj, arguments):
            if event in known or len(warnings) == MAX_WARNINGS:
                continue
            close = difflib.get_close_matches(event.lower()[:COMPARED], list(by_folded), n=CLOSE_NAMES, cutoff=0.6)
            names = [by_folded[folded] for folded in close]
            warnings.append(errors.unknown_event(event, names, len(known), listing.total, listing.complete))
    return {"warnings": warnings} if warnings else {}


DASHBOARD_NAMES = Naming("dashboards-list", has_dashboards, dashboard_names)
UNKNOWN_EVENTS = Naming("event-definitions-list", has_zero_events, unknown_events)
