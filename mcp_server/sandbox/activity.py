"""The activity log: writing insight entries with field-level changes, and serializing entries."""

from __future__ import annotations

import uuid
from typing import Any

from mcp_server.sandbox.accounts import user_minimal
from mcp_server.sandbox.store import Store

# The insight fields PostHog's changes_between compares (dashboards are added as a synthetic change).
TRACKED_FIELDS = ("name", "derived_name", "description", "query", "filters", "tags", "favorited", "saved", "deleted")


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """PostHog's changes_between for two versions of an insight."""
    found = []
    for field in TRACKED_FIELDS:
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        action = "created" if old is None else "deleted" if new is None else "changed"
        found.append({"type": "Insight", "action": action, "field": field, "before": old, "after": new})
    return found


def dashboards_change(before: list[int], after: list[int], names: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The synthetic `dashboards` change PostHog writes when an insight's dashboards are replaced."""
    if sorted(before) == sorted(after):
        return []

    def described(ids: list[int]) -> list[dict[str, Any]]:
        return [{"id": i, "name": names[i]["name"] if i in names else None} for i in sorted(ids)]

    change = {"type": "Insight", "action": "changed", "field": "dashboards"}
    return [change | {"before": described(before), "after": described(after)}]


def log_insight(
    store: Store,
    insight: dict[str, Any],
    activity: str,
    user_id: int | None,
    at: str,
    change_list: list[dict[str, Any]] | None = None,
    client: str | None = None,
    entry_id: str | None = None,
) -> None:
    """Write one insight entry, skipping what PostHog skips (no name at all; an update that changed nothing)."""
    name = insight.get("name") or insight.get("derived_name")
    if not name or (activity == "updated" and not change_list):
        return
    detail = {"id": None, "changes": change_list, "merge": None, "trigger": None, "name": name}
    entry = {"id": entry_id or str(uuid.uuid4()), "team_id": insight["team_id"], "scope": "Insight"}
    entry |= {"item_id": str(insight["id"]), "activity": activity, "user_id": user_id, "created_at": at}
    entry |= {"is_system": user_id is None, "was_impersonated": False, "client": client}
    store.insert("activity", entry | {"detail": detail | {"short_id": insight["short_id"], "type": None}})


def serialize(entry: dict[str, Any], users: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """ActivityLogSerializer plus the newer is_system / was_impersonated / client fields."""
    user = users.get(int(entry["user_id"])) if entry["user_id"] is not None else None
    fields = ("activity", "scope", "item_id", "detail", "created_at", "is_system", "was_impersonated", "client")
    return {"id": entry["id"], "user": user_minimal(user)} | {name: entry[name] for name in fields}
