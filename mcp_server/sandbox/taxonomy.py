"""The names a project uses: event and property definitions and dashboards, as PostHog lists them.

Taken from posthog/api/event_definition.py, posthog/api/property_definition.py and
posthog/api/dashboards/dashboard.py; the definitions themselves are the Hedgebox demo's, in data/taxonomy.json.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from importlib import resources
from typing import Any

from starlette.responses import Response

from mcp_server.sandbox.dates import iso
from mcp_server.sandbox.errors import invalid
from mcp_server.sandbox.pages import limit_offset, offset_envelope
from mcp_server.sandbox.state import Call, reply

DATA = json.loads(resources.files("mcp_server.sandbox").joinpath("data/taxonomy.json").read_text("utf-8"))
PROPERTY_TYPES = ("event", "person", "group", "session")
ORDERING_FIELDS = ("name", "last_seen_at", "last_seen_at::date", "created_at", "created_at::date")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def _matches(name: str, search: str | None) -> bool:
    """term_search_filter_sql: every whitespace-separated term is in the name, in any case."""
    return all(term.lower() in name.lower() for term in (search or "").split())


def _event(call: Call, row: list[Any]) -> dict[str, Any]:
    name, description, seen_days_ago, created_days_ago, verified = row
    seen = iso(call.now - timedelta(days=seen_days_ago, minutes=len(name)))
    created = iso(call.now - timedelta(days=created_days_ago))
    empty = ("owner", "updated_by", "verified_by", "action_id", "last_calculated_at", "created_by")
    return dict.fromkeys(empty) | {
        "id": _uuid(call.project_id, "event", name),
        "name": name,
        "description": description,
        "tags": [],
        "created_at": created,
        "updated_at": created,
        "last_seen_at": seen,
        "last_updated_at": seen,
        "verified": verified,
        "verified_at": created if verified else None,
        "hidden": False,
        "is_action": False,
        "is_calculating": False,
        "post_to_slack": False,
        "default_columns": [],
    }


def _sort_key(item: dict[str, Any], field: str) -> Any:
    value = item[field.removesuffix("::date")] or ""
    return value[:10] if field.endswith("::date") else value


def list_event_definitions(call: Call) -> Response:
    """`GET event_definitions/`: search by name; newest seen day first, then name, unless `ordering` says."""
    items = [_event(call, row) for row in DATA["events"] if _matches(row[0], call.query.get("search"))]
    raw_orderings = [value for raw in call.query.getlist("ordering") for value in raw.split(",")]
    requested = [value for value in raw_orderings if value.lstrip("-") in ORDERING_FIELDS]
    ordering = requested or ["-last_seen_at::date"]
    if not any(value.lstrip("-") == "name" for value in ordering):
        ordering.append("name")
    # Python's sort is stable: apply the keys from last to first.
    for value in reversed(ordering):
        field = value.lstrip("-")
        items.sort(key=lambda item: _sort_key(item, field), reverse=value.startswith("-"))
    if (call.query.get("search") or "").strip() and not requested:
        items.sort(key=lambda item: len(item["name"]))
    limit, offset = limit_offset(call.query)
    return reply(offset_envelope(call.url, items, limit, offset))


def _property(call: Call, kind: str, name: str, kind_of_value: str, seen: bool | None) -> dict[str, Any]:
    return dict.fromkeys(("description", "updated_at", "updated_by", "verified_at", "verified_by")) | {
        "id": _uuid(call.project_id, kind, name),
        "name": name,
        "tags": [],
        "is_numerical": kind_of_value == "Numeric",
        "is_seen_on_filtered_events": seen,
        "property_type": kind_of_value,
        "verified": False,
        "hidden": False,
    }


def list_property_definitions(call: Call) -> Response:
    """`GET property_definitions/`: one type's properties; `event_names` marks (and, filtered, keeps) those seen."""
    kind = call.query.get("type", "event")
    if kind not in PROPERTY_TYPES:
        raise invalid(f'"{kind}" is not a valid choice.', "type", "invalid_choice")
    raw_names = call.query.get("event_names")
    if raw_names and kind != "event":
        raise invalid("`event_names` can only be set for `event` type", "non_field_errors")
    event_names = json.loads(raw_names) if raw_names else []
    only_seen = call.query.get("filter_by_event_names", "").lower() in ("true", "1")
    items = []
    for row in DATA["properties"].get(kind, []):
        name, kind_of_value = row[0], row[1]
        seen = bool(set(event_names) & set(row[2])) if event_names and kind == "event" else None
        if only_seen and kind == "event" and not seen:
            continue
        if _matches(name, call.query.get("search")):
            items.append(_property(call, kind, name, kind_of_value, seen))
    items.sort(key=lambda item: item["name"])
    items.sort(key=lambda item: not item["is_seen_on_filtered_events"])
    limit, offset = limit_offset(call.query)
    return reply(offset_envelope(call.url, items, limit, offset))


def _dashboard(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    extra = DATA["dashboards"].get(str(row["id"]), {})
    return dict.fromkeys(("created_by", "last_accessed_at", "last_refresh")) | {
        "id": row["id"],
        "name": row["name"],
        "description": extra.get("description", ""),
        "pinned": extra.get("pinned", False),
        "created_at": iso(call.now - timedelta(days=400 - int(row["id"]))),
        "is_shared": False,
        "deleted": False,
        "creation_mode": "default",
        "tags": extra.get("tags", []),
        "restriction_level": 21,
        "effective_restriction_level": 21,
        "effective_privilege_level": 37,
        "user_access_level": "editor",
        "access_control_version": "v2",
        "team_id": row["team_id"],
    }


def list_dashboards(call: Call) -> Response:
    """`GET dashboards/`: the project's dashboards, pinned first, then by name; PostHog takes no name search."""
    rows = [row for row in call.store.dashboards().values() if row["team_id"] == call.project_id]
    items = sorted((_dashboard(call, row) for row in rows), key=lambda item: (not item["pinned"], item["name"]))
    limit, offset = limit_offset(call.query)
    return reply(offset_envelope(call.url, items, limit, offset))
