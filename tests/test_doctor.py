"""`posthog-mcp doctor` against the sandbox: a good key, a bad key, a scoped key, an unreachable host.

PostHog facts pinned here: a missing project is 404 "Project not found." (posthog/api/routing.py), a project
outside a key's scoped_teams is 403 (APIScopePermission in posthog/permissions.py), a legacy key's empty scopes
are shown as ["*"] (PersonalAPIKeySerializer.to_representation in posthog/api/personal_api_key.py), and actions
that declare no scope, like insights/my_last_viewed/, refuse every scoped key (posthog/permissions.py).
"""

from __future__ import annotations

import io
from dataclasses import replace

import httpx
import pytest

from mcp_server.catalog import DEFAULT_TOOLSETS, TOOLS, Tool
from mcp_server.config import Settings
from mcp_server.doctor import run_doctor
from mcp_server.sandbox import DEMO_KEYS, DEMO_PROJECT_ID, embedded_transport
from tests.conftest import PREFIX, PROJECT, FakePostHog, settings
from tests.posthog_json import offset_page

pytestmark = pytest.mark.anyio

SANDBOX = Settings(posthog_host="http://sandbox.test", project_id=None)
DEFAULT_TOOLS = [tool for tool in TOOLS if tool.toolset in DEFAULT_TOOLSETS]
READ_SCOPES = {"activity_log:read", "element:read", "insight:read"}  # the demo read_only key's


def enabled(tools: list[Tool]) -> str:
    """The doctor's line for these tools offered out of the catalog's."""
    return f"tools enabled: {len(tools)} of {len(TOOLS)}"


async def doctor(key: str, **overrides: object) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_doctor(replace(SANDBOX, api_key=key, **overrides), transport=embedded_transport(), out=out)  # type: ignore[arg-type]
    return code, out.getvalue()


async def test_a_good_key_passes_every_check_and_never_prints_the_key() -> None:
    key = DEMO_KEYS["legacy"].key
    code, text = await doctor(key)
    assert code == 0
    assert "[FAIL]" not in text
    assert "host reachable, key accepted" in text
    assert f"project: {DEMO_PROJECT_ID} (worked out from the key)" in text
    assert enabled(DEFAULT_TOOLS) in text
    assert key not in text


async def test_a_bad_key_fails_with_the_fix() -> None:
    code, text = await doctor("phx_not_a_real_key_000000000000000")
    assert code == 1
    assert "[FAIL] PostHog rejected the API key" in text
    assert "fix: create a personal API key" in text
    assert "phx_not_a_real_key" not in text


async def test_a_scoped_key_shows_its_scopes_and_what_it_leaves_out() -> None:
    code, text = await doctor(DEMO_KEYS["read_only"].key, project_id=DEMO_PROJECT_ID)
    assert code == 0
    assert f"key scopes: {', '.join(sorted(READ_SCOPES))}" in text
    assert enabled([t for t in DEFAULT_TOOLS if t.scope in READ_SCOPES]) in text
    assert (
        "left out, the key lacks the scope 'insight:write': insight-create, insight-update, insight-delete, "
        "insight-generate-metadata" in text
    )
    assert "left out, PostHog serves them only to legacy unscoped keys: insights-my-last-viewed\n" in text
    assert "left out, the key lacks the scope 'query:read': insight-query-cancel, query-run, query-get" in text


async def test_a_scoped_key_without_a_project_is_told_to_set_one() -> None:
    code, text = await doctor(DEMO_KEYS["insight_only"].key)
    assert code == 1
    assert "[FAIL] no project" in text
    assert "POSTHOG_PROJECT_ID" in text


async def test_an_unreachable_host_fails_with_the_fix() -> None:
    out = io.StringIO()
    settings = replace(SANDBOX, api_key=DEMO_KEYS["legacy"].key, posthog_host="http://127.0.0.1:9", timeout=2.0)
    code = await run_doctor(settings, out=out)
    assert code == 1
    assert "[FAIL] host unreachable" in out.getvalue()
    assert "check POSTHOG_HOST" in out.getvalue()


def test_doctor_runs_from_the_command_line_on_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    from mcp_server.cli import main

    assert main(["--sandbox", "doctor"]) == 0
    out = capsys.readouterr().out
    assert "PostHog: the sandbox (demo data)" in out
    assert enabled(DEFAULT_TOOLS) in out


async def test_a_project_that_does_not_exist_fails_with_the_fix() -> None:
    code, text = await doctor(DEMO_KEYS["legacy"].key, project_id=999)
    assert code == 1
    assert "[FAIL] project 999 cannot be used with this key (PostHog answered 404: Project not found.)" in text
    assert "fix: set POSTHOG_PROJECT_ID to the id of an existing project" in text
    assert "[ok]   project: 999" not in text


async def test_a_project_outside_the_keys_allowed_projects_fails_with_the_fix() -> None:
    code, text = await doctor(DEMO_KEYS["project_scoped"].key, project_id=2)
    assert code == 1
    assert "[FAIL] project 2 cannot be used with this key (PostHog answered 403: API key does not have access" in text
    assert "fix: set POSTHOG_PROJECT_ID to a project this key may access (it is limited to 1)" in text


async def test_a_least_privilege_insight_key_checks_the_project_with_one_cheap_insight_read() -> None:
    fake = FakePostHog(scopes=["insight:read"]).on("GET", "insights/", offset_page([], 0, 1))
    out = io.StringIO()
    code = await run_doctor(
        replace(settings(), project_id=PROJECT), transport=httpx.MockTransport(fake.handle), out=out
    )
    assert code == 0
    assert f"[ok]   project: {PROJECT}, reachable with this key" in out.getvalue()
    (probe,) = fake.tool_requests()
    assert probe.route == f"GET {PREFIX}insights/"
    assert probe.params == {"limit": "1", "basic": "true"}


async def test_a_legacy_key_that_posthog_shows_as_star_is_named_and_keeps_the_legacy_only_tools() -> None:
    code, text = await doctor(DEMO_KEYS["legacy"].key, project_id=DEMO_PROJECT_ID)
    assert code == 0
    assert "key scopes: * (a legacy unscoped key, which PostHog also shows as *" in text
    assert enabled(DEFAULT_TOOLS) in text


async def test_an_all_access_scoped_key_is_told_apart_from_a_legacy_key_and_loses_the_legacy_only_tools() -> None:
    code, text = await doctor(DEMO_KEYS["all_access"].key, project_id=DEMO_PROJECT_ID)
    assert code == 0
    assert "key scopes: * (all access, but a scoped key: PostHog refuses insights-my-last-viewed to it)" in text
    # insight-query-cancel stays: it takes its query:read fallback.
    assert enabled([t for t in DEFAULT_TOOLS if t.scope is not None or t.fallback is not None]) in text
    assert "[warn] left out, PostHog serves them only to legacy unscoped keys: insights-my-last-viewed\n" in text


async def test_doctor_shows_the_chosen_toolsets_each_tools_set_and_what_the_sets_leave_out() -> None:
    code, text = await doctor(DEMO_KEYS["legacy"].key)
    assert code == 0
    assert "[ok]   toolsets: insights, elements (the default), of insights, elements, elements-legacy" in text
    assert "[ok]   elements: elements-stats-retrieve, elements-values-list" in text
    assert (
        "left out, in the toolset 'elements-legacy', which --toolsets does not choose: elements-list, element-get, "
        "element-create, element-update, element-delete" in text
    )


async def test_doctor_says_when_tools_replaces_the_toolsets() -> None:
    code, text = await doctor(DEMO_KEYS["legacy"].key, tools=frozenset({"element-get"}))
    assert code == 0
    assert "toolsets do not apply" in text
    assert "[ok]   elements-legacy: element-get" in text
