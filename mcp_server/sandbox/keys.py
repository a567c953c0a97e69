"""The demo personal API keys and PostHog's rules for what a key may call."""

from __future__ import annotations

from dataclasses import dataclass

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


DEMO_KEYS: dict[str, DemoKey] = {
    "legacy": DemoKey(
        key="phx_sandbox_legacy_unscoped_demo_key",
        scopes=(),
        description="Legacy unscoped key: every endpoint, including insights/cancel/ and insights/my_last_viewed/.",
        label="Sandbox legacy key (no scopes)",
        id="0190a000-0000-7000-8000-000000000001",
    ),
    "all_access": DemoKey(
        key="phx_sandbox_all_access_demo_key",
        scopes=("*",),
        description="All access (*): everything except insights/cancel/ and insights/my_last_viewed/, "
        "which PostHog refuses to every scoped key.",
        label="Sandbox all-access key",
        id="0190a000-0000-7000-8000-000000000002",
    ),
    "read_only": DemoKey(
        key="phx_sandbox_read_only_demo_key",
        scopes=("insight:read", "element:read", "activity_log:read"),
        description="Read only: list and read insights, their activity and elements; no writes, no users/@me.",
        label="Sandbox read-only key",
        id="0190a000-0000-7000-8000-000000000003",
    ),
    "insight_only": DemoKey(
        key="phx_sandbox_insight_only_demo_key",
        scopes=("insight:read", "insight:write"),
        description="Insights only: read and write insights; no activity, no elements, no users/@me.",
        label="Sandbox insight-only key",
        id="0190a000-0000-7000-8000-000000000004",
    ),
    "project_scoped": DemoKey(
        key="phx_sandbox_project_scoped_demo_key",
        scopes=("*",),
        description=f"All access (*) limited to project {DEMO_PROJECT_ID}: other projects answer 403.",
        label="Sandbox project-scoped key",
        id="0190a000-0000-7000-8000-000000000005",
        scoped_teams=(DEMO_PROJECT_ID,),
    ),
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
