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
from mcp_server.catalog import TOOLS
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
    scopes = ", ".join(sorted(grant.scopes or ())) or "none recorded (legacy key: everything)"
    report.line(OK, f"key scopes: {scopes}")
    assert app.default_account is not None
    try:
        project = await app.default_account.project_id()
        report.line(OK, f"project: {project}" + ("" if app.settings.project_id else " (worked out from the key)"))
    except errors.ToolError as exc:
        report.line(FAIL, "no project", exc.message)
    enabled = access.usable(app.tools, grant)
    report.line(
        OK if enabled else FAIL,
        f"tools enabled: {len(enabled)} of 17",
        None if enabled else "give the key insight or element scopes, or relax --tools / --read-only",
    )
    left_out: dict[str, list[str]] = {}
    for tool in TOOLS:
        refusal = access.configured_refusal(tool, app.settings) or grant.refusal(tool)
        if refusal is not None:
            left_out.setdefault(refusal.reason, []).append(tool.name)
    for reason, names in left_out.items():
        report.line(WARN, f"left out, {reason}: {', '.join(names)}")
