"""The demo personal API keys (data/keys.json) and PostHog's rules for what a key may call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

DEMO_PROJECT_ID = 1
NO_PERSONAL_KEY_ACCESS = "This action does not support personal API key access"


@dataclass(frozen=True)
class DemoKey:
    """A fixed, public demo key: its value, stored scopes (empty = legacy unscoped) and what it is for."""

    key: str
    scopes: tuple[str, ...]
    description: str
    label: str = ""
    id: str = ""
    scoped_teams: tuple[int, ...] = ()
    user_id: int = 1

    @property
    def mask(self) -> str:
        """The masked form PostHog shows instead of the value."""
        return f"{self.key[:4]}...{self.key[-4:]}"


_KEYS = json.loads(resources.files("mcp_server.sandbox").joinpath("data/keys.json").read_text("utf-8"))
DEMO_KEYS: dict[str, DemoKey] = {
    name: DemoKey(**{**fields, "scopes": tuple(fields["scopes"]), "scoped_teams": tuple(fields["scoped_teams"])})
    for name, fields in _KEYS.items()
}
LEGACY_KEY = DEMO_KEYS["legacy"].key
BY_VALUE = {demo.key: demo for demo in DEMO_KEYS.values()}


def reported_scopes(key: DemoKey) -> list[str]:
    """What `personal_api_keys/@current/` shows: PostHog reports stored-empty scopes as `["*"]`."""
    return list(key.scopes) or ["*"]


def refusal(key: DemoKey, required: str | None, project_id: int | None) -> str | None:
    """Why `key` may not call an action requiring `required` (None: the action declares no scope), or None.

    Follows APIScopePermission's order: no declared scope, then project scoping, then `*`, then the scope
    itself (X:write implies X:read). Legacy unscoped keys pass everything, as they did in PostHog.
    """
    if not key.scopes:
        return None
    if required is None:
        return NO_PERSONAL_KEY_ACCESS
    if key.scoped_teams and not required.startswith("user:"):
        if project_id is None:
            return "API keys with scoped projects are only supported on project-based endpoints."
        if project_id not in key.scoped_teams:
            return f"API key does not have access to the requested project: ID {project_id}."
    if "*" in key.scopes or required in key.scopes:
        return None
    obj, _, level = required.partition(":")
    if level == "read" and f"{obj}:write" in key.scopes:
        return None
    return f"API key missing required scope '{required}'"
