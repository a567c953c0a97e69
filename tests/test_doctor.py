"""`posthog-mcp doctor` against the sandbox: a good key, a bad key, a scoped key, an unreachable host."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from mcp_server.config import Settings
from mcp_server.doctor import run_doctor
from mcp_server.sandbox import DEMO_KEYS, DEMO_PROJECT_ID, embedded_transport

pytestmark = pytest.mark.anyio

SANDBOX = Settings(posthog_host="http://sandbox.test", project_id=None)


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
    assert "tools enabled: 17 of 17" in text
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
    assert "key scopes: activity_log:read, element:read, insight:read" in text
    assert "tools enabled: 8 of 17" in text
    assert (
        "left out, the key lacks the scope 'insight:write': insight-create, insight-update, insight-delete, "
        "insight-generate-metadata" in text
    )
    assert (
        "left out, PostHog serves them only to legacy unscoped keys: insights-my-last-viewed, insight-query-cancel"
        in text
    )


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
    assert "tools enabled: 17 of 17" in out
