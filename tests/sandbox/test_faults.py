"""Fault injection through the Python API and the control endpoints, and the request log."""

from __future__ import annotations

import time

import httpx
import pytest

from mcp_server.sandbox import LEGACY_KEY, embedded_transport
from mcp_server.sandbox.faults import ConnectionDropped
from mcp_server.sandbox.state import Sandbox
from tests.sandbox.conftest import BASE, PROJECT, Api

pytestmark = pytest.mark.anyio

INSIGHTS = PROJECT + "insights/"


async def test_a_status_fault_answers_the_next_n_matching_requests(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("status", path=INSIGHTS, status=503, count=2)
    statuses = [(await api().get(INSIGHTS + "?limit=1")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


async def test_a_status_fault_has_a_posthog_body_by_default(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("status", path=INSIGHTS, status=500)
    response = await api().get(INSIGHTS)
    assert response.json() == {
        "type": "server_error",
        "code": "error",
        "detail": "A server error occurred.",
        "attr": None,
    }


async def test_a_status_fault_can_answer_an_html_gateway_page(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("status", path=INSIGHTS, status=502, html=True)
    response = await api().get(INSIGHTS)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text


async def test_a_fault_only_hits_matching_paths_and_methods(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("status", regex=r"/insights/\d+/$", method="PATCH", status=500)
    listed = await api().get(INSIGHTS + "?limit=1")
    read = await api().get(INSIGHTS + "101/")
    written = await api().patch(INSIGHTS + "101/", json={"name": "x"})
    assert [listed.status_code, read.status_code, written.status_code] == [200, 200, 500]


async def test_a_rate_limit_fault_answers_429_with_retry_after(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("rate_limit", path=INSIGHTS, retry_after=7)
    response = await api().get(INSIGHTS)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["detail"] == "Request was throttled. Expected available in 7 seconds."


async def test_a_rate_limit_fault_may_come_without_retry_after(api: Api, sandbox: Sandbox) -> None:
    """DRF's Throttled with no wait (rest_framework/exceptions.py, as PostHog's throttles raise it)."""
    sandbox.faults.add("rate_limit", path=INSIGHTS, retry_after=None)
    response = await api().get(INSIGHTS)
    assert (response.status_code, "retry-after" in response.headers) == (429, False)
    assert response.json()["detail"] == "Request was throttled."


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (504, "Query has hit the max execution time before completing."),
        (512, "Estimated query execution time is too long. Try reducing its scope by changing the time range."),
    ],
)
async def test_query_errors_carry_posthogs_detail(api: Api, sandbox: Sandbox, status: int, detail: str) -> None:
    """posthog/errors.py: ClickHouseQueryTimeOut (504), ClickHouseEstimatedQueryExecutionTimeTooLong (512)."""
    sandbox.faults.add("status", path=INSIGHTS, status=status)
    response = await api().get(INSIGHTS + "101/")
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


async def test_a_delay_fault_answers_normally_after_waiting(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("delay", path=INSIGHTS, seconds=0.3)
    started = time.monotonic()
    response = await api().get(INSIGHTS + "?limit=1")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_a_malformed_json_fault_answers_200_that_does_not_parse(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("malformed_json", path=INSIGHTS)
    response = await api().get(INSIGHTS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        response.json()


async def test_a_dropped_connection_raises_connection_dropped_through_a_bare_asgi_transport(
    api: Api, sandbox: Sandbox
) -> None:
    sandbox.faults.add("drop", path=INSIGHTS)
    with pytest.raises(ConnectionDropped):
        await api().get(INSIGHTS)


async def test_a_dropped_connection_is_a_remote_protocol_error_through_the_embedded_transport() -> None:
    transport = embedded_transport()
    sandbox: Sandbox = transport.app.state.sandbox  # type: ignore[attr-defined]
    sandbox.faults.add("drop", path=INSIGHTS)
    client = httpx.AsyncClient(transport=transport, base_url=BASE, headers={"Authorization": f"Bearer {LEGACY_KEY}"})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(INSIGHTS)
    assert (await client.get(INSIGHTS + "?limit=1")).status_code == 200


async def test_a_processed_drop_carries_out_the_write_before_losing_the_answer(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("drop", path=INSIGHTS, method="POST", processed=True)
    with pytest.raises(ConnectionDropped):
        await api().post(INSIGHTS, json={"name": "Written but unanswered"})
    names = [i["name"] for i in (await api().get(INSIGHTS + "?basic=true&search=unanswered")).json()["results"]]
    assert names == ["Written but unanswered"]


async def test_faults_can_be_listed_and_cleared(sandbox: Sandbox) -> None:
    sandbox.faults.add("status", path=INSIGHTS, count=None)
    assert [fault.kind for fault in sandbox.faults.active()] == ["status"]
    sandbox.faults.clear()
    assert sandbox.faults.active() == []


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("explode", {}, "kind must be one of"),
        ("status", {"colour": "red"}, "unknown fault option(s): colour"),
        ("status", {"count": 0}, "count must be a positive integer"),
        ("status", {"regex": "("}, "regex does not compile"),
    ],
)
async def test_a_bad_fault_is_refused(sandbox: Sandbox, kind: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sandbox.faults.add(kind, **options)


async def test_control_endpoints_arm_list_and_clear_faults(api: Api) -> None:
    control = api(None)
    armed = await control.post("/_sandbox/faults", json={"kind": "status", "path": INSIGHTS, "status": 504})
    listed = await control.get("/_sandbox/faults")
    hit = await api().get(INSIGHTS)
    await control.post("/_sandbox/faults", json={"kind": "status", "path": INSIGHTS, "count": None})
    cleared = await control.delete("/_sandbox/faults")
    after = await api().get(INSIGHTS + "?limit=1")
    assert armed.status_code == 201 and armed.json()["status"] == 504
    assert [fault["kind"] for fault in listed.json()] == ["status"]
    assert hit.status_code == 504
    assert cleared.status_code == 204 and after.status_code == 200


async def test_control_endpoints_refuse_a_bad_fault_with_400(api: Api) -> None:
    response = await api(None).post("/_sandbox/faults", json={"kind": "status", "status": "five hundred"})
    assert response.status_code == 400
    assert "status must be an HTTP status code" in response.json()["detail"]


async def test_the_request_log_records_what_posthog_received_without_the_key(api: Api) -> None:
    client = api(**{"User-Agent": "posthog/mcp-server test", "X-PostHog-Client": "mcp"})
    await client.post(INSIGHTS + "?refresh=blocking", json={"name": "Logged", "query": None})
    await api(None).get(INSIGHTS)
    entries = (await api(None).get("/_sandbox/requests")).json()
    first, second = entries
    assert (first["method"], first["path"], first["query"]) == ("POST", INSIGHTS, {"refresh": "blocking"})
    assert first["body"] == {"name": "Logged", "query": None}
    assert first["headers"]["user-agent"] == "posthog/mcp-server test"
    assert first["headers"]["x-posthog-client"] == "mcp"
    assert (first["authorization"], second["authorization"]) == (True, False)
    assert (first["status"], second["status"]) == (400, 401)
    assert LEGACY_KEY not in str(entries)


async def test_the_request_log_notes_injected_faults_and_can_be_cleared(api: Api, sandbox: Sandbox) -> None:
    sandbox.faults.add("status", path=INSIGHTS, status=500)
    await api().get(INSIGHTS, params={"tags": ["a", "b"]})
    entry = sandbox.requests.entries()[0]
    assert (entry["fault"], entry["status"], entry["query"]) == ("status", 500, {"tags": ["a", "b"]})
    assert (await api(None).delete("/_sandbox/requests")).status_code == 204
    assert sandbox.requests.entries() == []


async def test_health_needs_no_key(api: Api) -> None:
    response = await api(None).get("/_sandbox/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
