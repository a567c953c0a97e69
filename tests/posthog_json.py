"""PostHog objects shaped as PostHog's serializers return them, for tests and benchmarks."""

from __future__ import annotations

import uuid
from typing import Any

USER = {
    "id": 7,
    "uuid": "0191d1c2-8f3a-7c4e-9b1d-2f6a8e4c1b3d",
    "distinct_id": "kzT1x9hQwV2pYc3mR8nL5bF7dG4jS6aE0uI2oK9tZ",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@hedgebox.net",
    "is_email_verified": True,
    "hedgehog_config": None,
    "role_at_organization": "engineering",
}

TRENDS_QUERY = {
    "kind": "InsightVizNode",
    "source": {
        "kind": "TrendsQuery",
        "series": [{"kind": "EventsNode", "event": "$pageview", "name": "$pageview", "math": "total"}],
        "interval": "day",
        "dateRange": {"date_from": "-14d"},
        "trendsFilter": {"display": "ActionsLineGraph"},
        "filterTestAccounts": True,
        "version": 2,
    },
}


def series(days: int = 14) -> dict[str, Any]:
    data = [120 + (i * 37) % 90 for i in range(days)]
    return {
        "data": data,
        "labels": [f"{i + 1}-Nov-2026" for i in range(days)],
        "days": [f"2026-11-{i + 1:02d}" for i in range(days)],
        "count": float(sum(data)),
        "label": "$pageview",
        "filter": {"insight": "TRENDS", "interval": "day", "date_from": "-14d", "display": "ActionsLineGraph"},
        "action": {
            "days": [f"2026-11-{i + 1:02d}T00:00:00Z" for i in range(days)],
            "id": "$pageview",
            "type": "events",
            "order": 0,
            "name": "$pageview",
            "custom_name": None,
            "math": "total",
            "math_property": None,
            "math_hogql": None,
            "math_group_type_index": None,
            "properties": {},
        },
    }


def insight(number: int, *, result: Any = None, basic: bool = False) -> dict[str, Any]:
    """An insight as PostHog's InsightSerializer (or InsightBasicSerializer) returns it."""
    short_id = f"Ab{number:06d}"
    common: dict[str, Any] = {
        "id": number,
        "short_id": short_id,
        "name": f"Weekly signups {number}" if number % 3 else None,
        "derived_name": f"Pageview count {number}",
        "filters": {},
        "query": TRENDS_QUERY,
        "dashboards": [3, 9] if number % 2 else [],
        "dashboard_tiles": [{"id": 100 + number, "dashboard_id": 3, "deleted": None}] if number % 2 else [],
        "description": "Tracks signups from the marketing site" if number % 4 == 0 else "",
        "last_refresh": "2026-11-26T08:00:00Z",
        "saved": True,
        "tags": ["growth", "weekly-review"] if number % 2 else [],
        "updated_at": "2026-11-25T10:00:00Z",
        "created_by": USER,
        "created_at": "2026-10-01T09:30:00Z",
        "last_modified_at": "2026-11-25T10:00:00Z",
        "favorited": number % 5 == 0,
        "user_access_level": "editor",
        "last_viewed_at": "2026-11-26T09:00:00Z",
    }
    if basic:
        return {**common, "refreshing": False}
    return {
        **common,
        "order": None,
        "deleted": False,
        "cache_target_age": "2026-11-26T14:00:00Z",
        "next_allowed_client_refresh": "2026-11-26T08:03:00Z",
        "result": result,
        "hasMore": False,
        "columns": None,
        "last_modified_by": USER,
        "is_sample": False,
        "effective_restriction_level": 21,
        "effective_privilege_level": 37,
        "timezone": "UTC",
        "is_cached": True,
        "query_status": None,
        "hogql": "SELECT arrayMap(number -> plus(toStartOfDay(...)), ...) AS date, ...",
        "types": [["Array(DateTime)", "Array(Float64)"]],
        "resolved_date_range": {"date_from": "2026-11-13T00:00:00Z", "date_to": "2026-11-26T23:59:59Z"},
        "alerts": [],
        "filters_hash": f"cache_{number:032x}",
    }


# posthog/api/element.py, ElementSerializer.Meta.fields: no `id`.
ELEMENT_SERIALIZER_FIELDS = [
    "text",
    "tag_name",
    "attr_class",
    "href",
    "attr_id",
    "nth_child",
    "nth_of_type",
    "attributes",
    "order",
]


def element(number: int) -> dict[str, Any]:
    """An element as PostHog's ElementSerializer (posthog/api/element.py) sends it: no id."""
    return {
        "text": f"Sign up {number}",
        "tag_name": "button",
        "attr_class": ["btn", "btn-primary"],
        "href": None,
        "attr_id": None,
        "nth_child": 2,
        "nth_of_type": 1,
        "attributes": {"attr__class": "btn btn-primary", "attr__data-attr": f"signup-{number}"},
        "order": 0,
    }


def stats_row(number: int) -> dict[str, Any]:
    clicked = element(number)
    return {
        "count": 1000 - number,
        "hash": f"{number:016x}",
        "type": "$autocapture",
        "elements": [clicked, {**clicked, "tag_name": "div", "text": None, "attr_class": None, "order": 1}],
    }


def activity(number: int) -> dict[str, Any]:
    return {
        "id": f"0191d1c2-0000-7000-8000-{number:012d}",
        "user": {"first_name": "Ada", "email": "ada@hedgebox.net"},
        "activity": "updated",
        "scope": "Insight",
        "item_id": "12",
        "detail": {
            "id": None,
            "changes": [
                {"type": "Insight", "action": "changed", "field": "name", "before": f"Old {number}", "after": "New"}
            ],
            "merge": None,
            "trigger": None,
            "name": "New",
            "short_id": "Ab000012",
            "type": None,
        },
        "created_at": f"2026-11-{(number % 28) + 1:02d}T10:00:00Z",
        "is_system": False,
        "was_impersonated": False,
        "client": None,
    }


def offset_page(items: list[Any], offset: int, limit: int, *, with_count: bool = True) -> dict[str, Any]:
    window = items[offset : offset + limit]
    more = offset + limit < len(items)
    page: dict[str, Any] = {
        "next": f"https://posthog.example.com/api/x/?limit={limit}&offset={offset + limit}" if more else None,
        "previous": None,
        "results": window,
    }
    if with_count:
        page["count"] = len(items)
    return page


def dashboard(number: int, name: str) -> dict[str, Any]:
    """A dashboard as DashboardBasicSerializer lists it (posthog/api/dashboards/dashboard.py)."""
    return {
        "id": number,
        "name": name,
        "description": "",
        "pinned": False,
        "created_at": "2026-01-01T00:00:00Z",
        "created_by": None,
        "last_accessed_at": None,
        "last_viewed_at": None,
        "is_shared": False,
        "deleted": False,
        "creation_mode": "default",
        "tags": [],
        "restriction_level": 21,
        "effective_restriction_level": 21,
        "effective_privilege_level": 37,
        "user_access_level": "editor",
        "access_control_version": "v2",
        "last_refresh": None,
        "team_id": 42,
    }


def event_definition(name: str) -> dict[str, Any]:
    """An event definition as EventDefinitionSerializer lists it (posthog/api/event_definition.py)."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "name": name,
        "created_at": "2026-01-03T10:00:00Z",
        "last_seen_at": "2026-11-29T03:58:00Z",
        "last_updated_at": "2026-11-29T03:58:00Z",
        "tags": [],
        "is_action": False,
        "action_id": None,
        "is_calculating": False,
        "last_calculated_at": None,
        "created_by": None,
        "post_to_slack": False,
    }
