"""Users, the organization and the key itself: `users/@me/`, `personal_api_keys/@current/`, UserBasic."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mcp_server.sandbox.dates import iso
from mcp_server.sandbox.keys import reported_scopes
from mcp_server.sandbox.state import Call, reply

ORGANIZATION_ID = "0190a000-0000-7000-8000-0000000000aa"
ORGANIZATION_NAME = "Hedgebox"
KEYS_CREATED_AT = "2024-03-04T09:30:00.000000Z"


def user_basic(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """UserBasicSerializer: the `created_by` / `last_modified_by` object."""
    if user is None:
        return None
    return {
        "id": user["id"],
        "uuid": user["uuid"],
        "distinct_id": user["distinct_id"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "email": user["email"],
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
    key = call.key
    return reply(
        {
            "id": key.id,
            "label": key.label,
            "value": None,
            "mask_value": key.mask,
            "created_at": KEYS_CREATED_AT,
            "last_used_at": iso(call.now.replace(minute=0, second=0, microsecond=0)),
            "user_id": key.user_id,
            "scopes": reported_scopes(key),
            "scoped_teams": list(key.scoped_teams),
            "scoped_organizations": [],
            "last_rolled_at": None,
        }
    )


def _team(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": project["id"],
        "uuid": project["uuid"],
        "organization": ORGANIZATION_ID,
        "project_id": project["id"],
        "api_token": project["api_token"],
        "name": project["name"],
        "completed_snippet_onboarding": True,
        "has_completed_onboarding_for": {"product_analytics": True},
        "ingested_event": True,
        "is_demo": True,
        "timezone": project["timezone"],
        "access_control": False,
    }


def me(call: Call) -> Response:
    """`GET /api/users/@me/`: the key owner, the current project and the organization."""
    user = call.store.users()[call.user_id]
    projects = call.store.projects()
    teams = [_team(project) for project in projects]
    organization = {
        "id": ORGANIZATION_ID,
        "name": ORGANIZATION_NAME,
        "slug": "hedgebox",
        "logo_media_id": None,
        "created_at": projects[0]["created_at"],
        "updated_at": projects[0]["created_at"],
        "membership_level": 15,
        "plugins_access_level": 9,
        "teams": teams,
        "projects": [{"id": p["id"], "organization_id": ORGANIZATION_ID, "name": p["name"]} for p in projects],
        "available_product_features": [],
        "is_member_join_email_enabled": True,
        "metadata": {},
        "customer_id": None,
        "enforce_2fa": None,
        "members_can_use_personal_api_keys": True,
        "member_count": len(call.store.users()),
    }
    return reply(
        {
            "date_joined": user["date_joined"],
            "uuid": user["uuid"],
            "distinct_id": user["distinct_id"],
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "email": user["email"],
            "pending_email": None,
            "is_email_verified": True,
            "notification_settings": {},
            "anonymize_data": False,
            "toolbar_mode": "toolbar",
            "has_password": True,
            "id": user["id"],
            "is_staff": False,
            "is_impersonated": False,
            "team": teams[0],
            "organization": organization,
            "organizations": [
                {
                    "id": ORGANIZATION_ID,
                    "name": ORGANIZATION_NAME,
                    "slug": "hedgebox",
                    "logo_media_id": None,
                    "membership_level": 15,
                    "members_can_use_personal_api_keys": True,
                    "is_active": True,
                    "is_not_active_reason": None,
                    "is_pending_deletion": False,
                }
            ],
            "events_column_config": {"active": "DEFAULT"},
            "is_2fa_enabled": False,
            "has_social_auth": False,
            "role_at_organization": user["role_at_organization"],
            "hedgehog_config": None,
        }
    )
