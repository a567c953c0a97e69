"""`posthog-mcp doctor`: checks a set-up the way a person needs when something is wrong, one verdict a line."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import httpx

from mcp_server import access, errors
from mcp_server.access import Grant
from mcp_server.accounts import KEY_PATH
from mcp_server.app import App
from mcp_server.catalog import TOOLS, TOOLSETS, Tool
from mcp_server.config import Settings
from mcp_server.posthog import MalformedReply, PostHogError, PostHogUnreachable

OK, WARN, FAIL = "[ok]  ", "[warn]", "[FAIL]"


class Report:
    """Lines of verdicts, remembering whether any failed."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failed = False

    def line(self, verdict: str, what: str, fix: str | None = None) -> None:
        self.failed = self.failed or verdict == FAIL
        self.out.write(f"{verdict} {what}\n")
        if fix:
            self.out.write(f"       fix: {fix}\n")


def _describe_key(key: str) -> str:
    kind = "personal API key" if key.startswith("phx_") else "key of an unrecognised kind"
    return f"{kind} ({len(key)} characters; not shown)"


async def run_doctor(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None, out: TextIO | None = None
) -> int:
    """Check host, key, scopes, project and tools; 0 when everything works, 1 otherwise."""
    report = Report(out or sys.stdout)
    python = ".".join(str(part) for part in sys.version_info[:3])
    report.line(OK, f"Python {python}")
    where = "the sandbox (demo data)" if settings.sandbox else settings.posthog_host
    report.line(OK, f"PostHog: {where}")
    key = settings.api_key
    if not key:
        report.line(FAIL, "no API key", "set POSTHOG_PERSONAL_API_KEY to a personal API key (phx_...)")
        return 1
    report.line(
        OK if key.startswith("phx_") else WARN,
        f"API key: {_describe_key(key)}",
        None if key.startswith("phx_") else "personal API keys start with phx_",
    )
    app = App.create(settings, transport=transport)
    try:
        await _check_posthog(app, key, report)
    finally:
        await app.aclose()
    return 1 if report.failed else 0


async def _check_posthog(app: App, key: str, report: Report) -> None:
    started = time.monotonic()
    try:
        info: Any = await app.client.request("GET", KEY_PATH, key=key)
    except PostHogUnreachable as exc:
        report.line(
            FAIL,
            f"host unreachable ({exc.reason})",
            "check POSTHOG_HOST (us, eu or your instance's URL) and the network or proxy",
        )
        return
    except MalformedReply:
        report.line(FAIL, "the host answered, but not like PostHog's API", "check POSTHOG_HOST")
        return
    except PostHogError as exc:
        report.line(OK, f"host reachable (answered {exc.status})")
        if exc.auth_failed:
            report.line(
                FAIL,
                "PostHog rejected the API key (invalid, expired or revoked)",
                "create a personal API key under Settings > Personal API keys and set POSTHOG_PERSONAL_API_KEY",
            )
        else:
            report.line(
                FAIL,
                f"reading the key's details failed: {errors.redact(exc.detail, [key])}",
                "check POSTHOG_HOST points at PostHog's app host",
            )
        return
    elapsed = (time.monotonic() - started) * 1000
    report.line(OK, f"host reachable, key accepted ({elapsed:.0f} ms)")
    grant = Grant.from_key(info if isinstance(info, dict) else {})
    assert app.default_account is not None
    try:
        project: int | None = await app.default_account.project_id()
    except errors.ToolError as exc:
        report.line(FAIL, "no project", exc.message)
        project = None
    if project is not None:
        worked_out = "" if app.settings.project_id else " (worked out from the key)"
        project = await _check_project(app, key, grant, project, worked_out, report)
    legacy = await _is_legacy(app, key, project) if grant.scopes == ALL and project is not None else None
    report.line(OK, f"key scopes: {_describe_scopes(grant, legacy)}")

    def refusal(tool: Tool) -> errors.ToolError | None:
        refused = access.configured_refusal(tool, app.settings) or grant.refusal(tool)
        if refused is None and grant.request(tool).scope is None and legacy is False:
            return errors.legacy_key_only(tool.name)
        return refused

    report.line(OK, access.describe_choice(app.settings))
    enabled = [tool for tool in TOOLS if refusal(tool) is None]
    report.line(
        OK if enabled else FAIL,
        f"tools enabled: {len(enabled)} of {len(TOOLS)}",
        None if enabled else "give the key insight or element scopes, or relax --tools / --read-only",
    )
    for toolset in TOOLSETS:
        names = [tool.name for tool in enabled if tool.toolset == toolset]
        if names:
            report.line(OK, f"{toolset}: {', '.join(names)}")
    left_out: dict[str, list[str]] = {}
    for tool in TOOLS:
        refused = refusal(tool)
        if refused is not None:
            left_out.setdefault(refused.reason, []).append(tool.name)
    for reason, names in left_out.items():
        report.line(WARN, f"left out, {reason}: {', '.join(names)}")


# One cheap read per scope a least-privilege key may hold: it proves the project exists and the key reaches it.
PROJECT_PROBES = (
    ("insight:read", "insights/", {"limit": "1", "basic": "true"}),
    ("element:read", "elements/", {"limit": "1"}),
)
LEGACY_PROBE = "insights/my_last_viewed/"
ALL = frozenset({"*"})


async def _check_project(app: App, key: str, grant: Grant, project: int, worked_out: str, report: Report) -> int | None:
    """The project if one real request shows the key can reach it; else a verdict with the fix, and None."""
    probe = next((p for p in PROJECT_PROBES if grant.allows(p[0])), None)
    if probe is None:
        report.line(
            WARN, f"project: {project}{worked_out}, not checked: the key can read neither insights nor elements"
        )
        return project
    _, path, params = probe
    try:
        await app.client.request("GET", f"/api/projects/{project}/{path}", key=key, params=params)
    except PostHogError as exc:
        answer = f"PostHog answered {exc.status}: {errors.redact(exc.detail, [key]) or 'no detail'}"
        if exc.status not in (403, 404):
            report.line(WARN, f"project: {project}{worked_out}, not checked ({answer})")
            return None
        if exc.status == 404:
            fix = "set POSTHOG_PROJECT_ID to the id of an existing project (PostHog > Settings > Project shows it)"
        else:
            limited = f" (it is limited to {', '.join(map(str, grant.scoped_teams))})" if grant.scoped_teams else ""
            fix = (
                f"set POSTHOG_PROJECT_ID to a project this key may access{limited}, or give the key access to project "
                f"{project} under Settings > Personal API keys"
            )
        report.line(FAIL, f"project {project}{worked_out} cannot be used with this key ({answer})", fix)
        return None
    except (PostHogUnreachable, MalformedReply) as exc:
        report.line(WARN, f"project: {project}{worked_out}, not checked ({exc})")
        return None
    report.line(OK, f"project: {project}{worked_out}, reachable with this key")
    return project


async def _is_legacy(app: App, key: str, project: int) -> bool | None:
    """Whether a `*` key is a legacy unscoped one: PostHog shows both as `*`, but serves this to legacy keys only."""
    try:
        await app.client.request("GET", f"/api/projects/{project}/{LEGACY_PROBE}", key=key)
    except PostHogError as exc:
        return False if errors.NO_API_KEY_ACCESS in exc.detail.lower() else None
    except (PostHogUnreachable, MalformedReply):
        return None
    return True


def _describe_scopes(grant: Grant, legacy: bool | None) -> str:
    if not grant.scopes:
        return "none recorded (legacy key: everything)"
    if grant.scopes != ALL:
        return ", ".join(sorted(grant.scopes))
    # The tools whose only request PostHog serves to legacy keys alone.
    legacy_only = ", ".join(tool.name for tool in TOOLS if tool.scope is None and tool.fallback is None)
    if legacy is True:
        return f"* (a legacy unscoped key, which PostHog also shows as *: {legacy_only} work with it)"
    if legacy is False:
        return f"* (all access, but a scoped key: PostHog refuses {legacy_only} to it)"
    return "* (all access, or a legacy unscoped key: PostHog shows both as *, and which one could not be checked)"
