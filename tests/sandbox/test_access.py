"""Authentication, scopes per demo key, the legacy-only actions, the MCP read-only cap and the rate limit."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from mcp_server.sandbox import DEMO_KEYS, LEGACY_KEY, create_app
from mcp_server.sandbox.state import Sandbox
from tests.sandbox.conftest import PROJECT, Api

pytestmark = pytest.mark.anyio

NO_ACCESS = "This action does not support personal API key access"
ENDPOINTS = {
    "list insights": ("GET", "insights/", None),
    "create insight": ("POST", "insights/", {"name": "x"}),
    "retrieve insight": ("GET", "insights/101/", None),
    "update insight": ("PATCH", "insights/101/", {"name": "Renamed"}),
    "activity": ("GET", "insights/101/activity/", None),
    "viewed": ("POST", "insights/viewed/", {"insight_ids": [101]}),
    "generate metadata": ("POST", "insights/generate_metadata/", {"query": None}),
    "my last viewed": ("GET", "insights/my_last_viewed/", None),
    "cancel": ("POST", "insights/cancel/", {"client_query_id": "abc"}),
    "list elements": ("GET", "elements/", None),
    "element stats": ("GET", "elements/stats/", None),
    "element values": ("GET", "elements/values/?key=text", None),
    "create element": ("POST", "elements/", {"tag_name": "a"}),
}
# What each key gets, as (status, missing scope or refusal text); None is success (any 2xx or 400).
EXPECTED: dict[str, dict[str, str | None]] = {
    "legacy": dict.fromkeys(ENDPOINTS),
    "all_access": {**dict.fromkeys(ENDPOINTS), "my last viewed": NO_ACCESS, "cancel": NO_ACCESS},
    "read_only": {
        **dict.fromkeys(ENDPOINTS),
        "create insight": "API key missing required scope 'insight:write'",
        "update insight": "API key missing required scope 'insight:write'",
        "generate metadata": "API key missing required scope 'insight:write'",
        "my last viewed": NO_ACCESS,
        "cancel": NO_ACCESS,
        "create element": "API key missing required scope 'element:write'",
    },
    "insight_only": {
        **dict.fromkeys(ENDPOINTS),
        "activity": "API key missing required scope 'activity_log:read'",
        "my last viewed": NO_ACCESS,
        "cancel": NO_ACCESS,
        "list elements": "API key missing required scope 'element:read'",
        "element stats": "API key missing required scope 'element:read'",
        "element values": "API key missing required scope 'element:read'",
        "create element": "API key missing required scope 'element:write'",
    },
}
CASES = [(key, endpoint, refusal) for key, table in EXPECTED.items() for endpoint, refusal in table.items()]


@pytest.mark.parametrize(("key", "endpoint", "refusal"), CASES, ids=[f"{k}-{e}" for k, e, _ in CASES])
async def test_each_demo_key_reaches_exactly_its_scopes(api: Api, key: str, endpoint: str, refusal: str | None) -> None:
    method, path, body = ENDPOINTS[endpoint]
    response = await api(key).request(method, PROJECT + path, json=body)
    if refusal is None:
        assert response.status_code in (200, 201, 400), response.text
    else:
        assert response.status_code == 403
        assert response.json() == {
            "type": "authentication_error",
            "code": "permission_denied",
            "detail": refusal,
            "attr": None,
        }


async def test_a_request_without_credentials_is_401_not_authenticated(api: Api) -> None:
    response = await api(None).get(PROJECT + "insights/")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "type": "authentication_error",
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
        "attr": None,
    }


async def test_an_unknown_key_is_401_authentication_failed(api: Api) -> None:
    response = await api(None, Authorization="Bearer phx_not_a_real_key").get(PROJECT + "insights/")
    assert response.status_code == 401
    assert response.json() == {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Personal API key found in request Authorization header is invalid.",
        "attr": None,
    }


async def test_a_project_key_as_bearer_is_refused_like_any_unknown_key(api: Api) -> None:
    response = await api(None, Authorization="Bearer phc_sandbox_hedgebox_demo_project_token").get(
        PROJECT + "elements/"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


async def test_a_key_in_the_query_string_is_accepted_and_named_as_such_when_wrong(api: Api) -> None:
    good = await api(None).get(PROJECT + "elements/", params={"personal_api_key": LEGACY_KEY})
    bad = await api(None).get(PROJECT + "elements/", params={"personal_api_key": "phx_nope"})
    assert good.status_code == 200
    assert bad.json()["detail"] == "Personal API key found in request query string is invalid."


@pytest.mark.parametrize("name", list(DEMO_KEYS))
async def test_current_key_describes_itself_without_its_value(api: Api, name: str) -> None:
    response = await api(name).get("/api/personal_api_keys/@current/")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "id",
        "label",
        "value",
        "mask_value",
        "created_at",
        "last_used_at",
        "user_id",
        "scopes",
        "scoped_teams",
        "scoped_organizations",
        "last_rolled_at",
    }
    assert body["value"] is None
    assert DEMO_KEYS[name].key not in response.text
    assert body["scopes"] == (list(DEMO_KEYS[name].scopes) or ["*"])


async def test_the_legacy_key_reports_all_scopes_though_none_are_stored(api: Api) -> None:
    body = (await api("legacy").get("/api/personal_api_keys/@current/")).json()
    assert body["scopes"] == ["*"]
    assert body["scoped_teams"] == []


@pytest.mark.parametrize(("name", "status"), [("legacy", 200), ("all_access", 200), ("read_only", 403)])
async def test_users_me_needs_user_read(api: Api, name: str, status: int) -> None:
    response = await api(name).get("/api/users/@me/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["team"]["project_id"] == 1
        assert body["email"] == "ava@hedgebox.example"
    else:
        assert response.json()["detail"] == "API key missing required scope 'user:read'"


async def test_a_project_scoped_key_is_refused_on_other_projects(api: Api) -> None:
    own = await api("project_scoped").get(PROJECT + "insights/?limit=1")
    other = await api("project_scoped").get("/api/projects/2/insights/")
    assert own.status_code == 200
    assert other.status_code == 403
    assert other.json()["detail"] == "API key does not have access to the requested project: ID 2."


@pytest.mark.parametrize("project", ["999", "abc"])
async def test_an_unknown_project_is_404_project_not_found(api: Api, project: str) -> None:
    response = await api().get(f"/api/projects/{project}/insights/")
    assert response.status_code == 404
    assert response.json() == {
        "type": "invalid_request",
        "code": "not_found",
        "detail": "Project not found.",
        "attr": None,
    }


async def test_environments_is_an_alias_of_projects(api: Api) -> None:
    client = api()
    via_projects = await client.get(PROJECT + "insights/", params={"basic": "true"})
    via_environments = await client.get("/api/environments/1/insights/", params={"basic": "true"})
    assert via_environments.status_code == 200
    assert [i["id"] for i in via_environments.json()["results"]] == [i["id"] for i in via_projects.json()["results"]]
    assert via_environments.json()["next"] is None or "/api/environments/1/" in via_environments.json()["next"]


async def test_an_unknown_path_is_404_not_found(api: Api) -> None:
    response = await api().get(PROJECT + "cohorts/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


async def test_a_wrong_method_on_an_action_route_is_405_with_drf_body(api: Api) -> None:
    response = await api().get(PROJECT + "insights/viewed/")
    assert response.status_code == 405
    assert response.json() == {
        "type": "invalid_request",
        "code": "method_not_allowed",
        "detail": 'Method "GET" not allowed.',
        "attr": None,
    }


async def test_mcp_writes_are_refused_when_the_organization_caps_mcp_to_read_only(api: Api, sandbox: Sandbox) -> None:
    sandbox.mcp_read_only_org = True
    mcp = api("all_access", **{"User-Agent": "posthog/mcp-server (posthog-mcp 0.1.0)"})
    write = await mcp.patch(PROJECT + "insights/101/", json={"name": "Renamed"})
    read = await mcp.get(PROJECT + "insights/101/")
    viewed = await mcp.post(PROJECT + "insights/viewed/", json={"insight_ids": [101]})
    browser = await api("all_access").patch(PROJECT + "insights/101/", json={"name": "Renamed"})
    assert write.status_code == 403
    assert write.json()["detail"] == (
        "Your organization restricts MCP access to read-only. "
        "An organization admin can change this in your organization settings."
    )
    assert (read.status_code, viewed.status_code, browser.status_code) == (200, 201, 200)


async def test_the_read_only_cap_is_a_create_app_option() -> None:
    assert create_app(mcp_read_only_org=True).state.sandbox.mcp_read_only_org is True


async def test_the_rate_limit_answers_429_with_retry_after_in_whole_seconds() -> None:
    import httpx

    app: Starlette = create_app(rate_limit=2)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://s", headers={"Authorization": f"Bearer {LEGACY_KEY}"}
    )
    statuses = [(await client.get(PROJECT + "elements/values/?key=text")).status_code for _ in range(3)]
    throttled = await client.get(PROJECT + "elements/values/?key=text")
    assert statuses == [200, 200, 429]
    wait = int(throttled.headers["retry-after"])
    assert 1 <= wait <= 60
    assert throttled.json() == {
        "type": "throttled_error",
        "code": "throttled",
        "detail": f"Request was throttled. Expected available in {wait} seconds.",
        "attr": None,
    }


async def test_burst_and_sustained_rates_both_throttle_per_key() -> None:
    """posthog/rate_limit.py: ClickHouseBurstRateThrottle per minute, ClickHouseSustainedRateThrottle per hour."""
    import httpx

    app: Starlette = create_app(rate_limit=2, rate_limit_hour=4)
    now = [1000.0]
    app.state.sandbox.limiter.clock = lambda: now[0]
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://s", headers={"Authorization": f"Bearer {LEGACY_KEY}"}
    )
    first_minute = [(await client.get(PROJECT + "elements/?limit=1")).status_code for _ in range(3)]
    now[0] += 61  # the request the burst rate refused still counted against the hour, as DRF's throttles do
    second_minute = [(await client.get(PROJECT + "elements/?limit=1")) for _ in range(2)]
    assert first_minute == [200, 200, 429]
    assert [r.status_code for r in second_minute] == [200, 429]
    assert int(second_minute[1].headers["retry-after"]) > 60


async def test_refused_requests_do_not_count_against_the_rate_limit() -> None:
    import httpx

    app: Starlette = create_app(rate_limit=1)
    transport = httpx.ASGITransport(app)
    read_only = httpx.AsyncClient(
        transport=transport, base_url="http://s", headers={"Authorization": f"Bearer {DEMO_KEYS['read_only'].key}"}
    )
    refused = await read_only.post(PROJECT + "insights/", json={"name": "x"})
    allowed = await read_only.get(PROJECT + "elements/values/?key=text")
    assert (refused.status_code, allowed.status_code) == (403, 200)


async def test_the_rate_limit_window_slides_per_key() -> None:
    import httpx

    app: Starlette = create_app(rate_limit=1)
    limiter = app.state.sandbox.limiter
    now = [1000.0]
    limiter.clock = lambda: now[0]

    def client(name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://s",
            headers={"Authorization": f"Bearer {DEMO_KEYS[name].key}"},
        )

    first = await client("legacy").get(PROJECT + "elements/?limit=1")
    other_key = await client("all_access").get(PROJECT + "elements/?limit=1")
    now[0] += 59.5
    still_limited = await client("legacy").get(PROJECT + "elements/?limit=1")
    now[0] += 1
    again = await client("legacy").get(PROJECT + "elements/?limit=1")
    assert [r.status_code for r in (first, other_key, still_limited, again)] == [200, 200, 429, 200]
    assert still_limited.headers["retry-after"] == "1"
    assert still_limited.json()["detail"] == "Request was throttled. Expected available in 1 second."
