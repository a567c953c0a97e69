"""Users, the organization and the key itself: `users/@me/`, `personal_api_keys/@current/`, UserBasic."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from starlette.responses import Response

from mcp_server.sandbox.dates import iso
from mcp_server.sandbox.keys import reported_scopes
from mcp_server.sandbox.state import Call, reply

ACCOUNT = json.loads(resources.files("mcp_server.sandbox").joinpath("data/account.json").read_text("utf-8"))
ORGANIZATION_ID = ACCOUNT["organization"]["id"]
KEYS_CREATED_AT = "2024-03-04T09:30:00.000000Z"


def user_basic(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """UserBasicSerializer: the `created_by` / `last_modified_by` object."""
    if user is None:
        return None
    basic = {name: user[name] for name in ("id", "uuid", "distinct_id", "first_name", "last_name", "email")}
    return basic | {
        "is_email_verified": True,
        "hedgehog_config": None,
        "role_at_organization": user["role_at_organization"],
    }


def user_minimal(user: dict[str, Any] | None) -> dict[str, Any]:
    """UserMinimalSerializer, as on activity entries (a missing user reads as the system)."""
    if user is None:
        return {"first_name": "System", "email": None, "is_system": True}
    return {"first_name": user["first_name"], "email": user["email"]}


def current_key(call: Call) -> Response:
    """`GET /api/personal_api_keys/@current/`: the key describing itself, never its value."""
    key, last_used = call.key, iso(call.now.replace(minute=0, second=0, microsecond=0))
    described: dict[str, Any] = {"id": key.id, "label": key.label, "value": None, "mask_value": key.mask}
    described |= {"created_at": KEYS_CREATED_AT, "last_used_at": last_used, "user_id": key.user_id}
    described |= {"scopes": reported_scopes(key), "scoped_teams": list(key.scoped_teams), "scoped_organizations": []}
    return reply(described | {"last_rolled_at": None})


def me(call: Call) -> Response:
    """`GET /api/users/@me/`: the key owner, the current project and the organization (data/account.json)."""
    users = call.store.users()
    user, projects = users[call.user_id], call.store.projects()
    teams = [
        {**ACCOUNT["team"], "project_id": p["id"]} | {k: p[k] for k in ("id", "uuid", "api_token", "name", "timezone")}
        for p in projects
    ]
    organization = {
        **ACCOUNT["organization"],
        "created_at": projects[0]["created_at"],
        "updated_at": projects[0]["created_at"],
        "teams": teams,
        "projects": [{"id": p["id"], "organization_id": ORGANIZATION_ID, "name": p["name"]} for p in projects],
        "member_count": len(users),
    }
    fields = ("date_joined", "uuid", "distinct_id", "first_name", "last_name", "email", "id", "role_at_organization")
    return reply(
        {**{name: user[name] for name in fields}, **ACCOUNT["user"]}
        | {"team": teams[0], "organization": organization, "organizations": [ACCOUNT["membership"]]}
    )
