"""Retries: bounded, honouring Retry-After, never repeating a write blindly, within one deadline."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mcp_server.posthog import PostHogClient, PostHogError, PostHogUnreachable, RetryPolicy
from tests.conftest import KEY, FakePostHog, connect, error_text, payload
from tests.posthog_json import insight

pytestmark = pytest.mark.anyio


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client_for(handler: Callable[[httpx.Request], httpx.Response], time: FakeTime, **policy: float) -> PostHogClient:
    return PostHogClient(
        "https://posthog.example.com",
        transport=httpx.MockTransport(handler),
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=time.sleep,
        clock=time.clock,
    )


def sequence(*answers: httpx.Response | Exception) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    seen: list[str] = []
    remaining = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        answer = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def throttled(seconds: str) -> httpx.Response:
    return httpx.Response(429, json={"type": "throttled_error", "code": "throttled"}, headers={"Retry-After": seconds})


async def test_429_is_retried_honouring_retry_after() -> None:
    time = FakeTime()
    handler, seen = sequence(throttled("2"), throttled("3"), httpx.Response(200, json={"ok": 1}))
    client = client_for(handler, time)
    assert await client.request("POST", "/x/", key=KEY, json_body={}) == {"ok": 1}
    assert seen == ["POST"] * 3
    assert time.sleeps == [2.0, 3.0]


async def test_429_is_retried_at_most_three_times() -> None:
    time = FakeTime()
    handler, seen = sequence(throttled("1"))
    client = client_for(handler, time)
    with pytest.raises(PostHogError) as raised:
        await client.request("GET", "/x/", key=KEY)
    assert raised.value.status == 429
    assert len(seen) == 4


async def test_a_retry_after_beyond_the_wait_budget_ends_the_call_at_once() -> None:
    time = FakeTime()
    handler, seen = sequence(throttled("45"))
    client = client_for(handler, time)
    with pytest.raises(PostHogError) as raised:
        await client.request("GET", "/x/", key=KEY)
    assert raised.value.retry_after == 45.0
    assert len(seen) == 1
    assert time.sleeps == []


async def test_a_get_answered_5xx_is_retried_twice_with_backoff() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.Response(502), httpx.Response(503), httpx.Response(200, json=[]))
    client = client_for(handler, time)
    assert await client.request("GET", "/x/", key=KEY) == []
    assert len(seen) == 3
    assert len(time.sleeps) == 2 and 0 < time.sleeps[0] < time.sleeps[1] * 2


async def test_a_get_gives_up_after_two_retries() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.Response(500))
    with pytest.raises(PostHogError):
        await client_for(handler, time).request("GET", "/x/", key=KEY)
    assert len(seen) == 3


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
async def test_a_write_answered_500_is_sent_exactly_once(method: str) -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.Response(500))
    with pytest.raises(PostHogError):
        await client_for(handler, time).request(method, "/x/", key=KEY, json_body={})
    assert seen == [method]


async def test_a_write_whose_connection_dropped_is_not_repeated() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    with pytest.raises(PostHogUnreachable) as raised:
        await client_for(handler, time).request("POST", "/x/", key=KEY, json_body={})
    assert seen == ["POST"]
    assert raised.value.may_have_applied


async def test_a_get_whose_connection_dropped_is_retried() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.RemoteProtocolError("dropped"), httpx.Response(200, json={}))
    assert await client_for(handler, time).request("GET", "/x/", key=KEY) == {}
    assert len(seen) == 2


async def test_a_write_that_could_not_connect_is_not_repeated_and_is_known_not_to_have_applied() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.ConnectError("refused"), httpx.Response(201, json={"id": 1}))
    with pytest.raises(PostHogUnreachable) as raised:
        await client_for(handler, time).request("POST", "/x/", key=KEY, json_body={})
    assert seen == ["POST"]
    assert not raised.value.may_have_applied


async def test_a_get_that_could_not_connect_is_retried() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.ConnectError("refused"), httpx.Response(200, json={"id": 1}))
    assert await client_for(handler, time).request("GET", "/x/", key=KEY) == {"id": 1}
    assert seen == ["GET", "GET"]


async def test_all_requests_of_one_call_share_one_deadline() -> None:
    time = FakeTime()
    timeouts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        time.now += 50  # a slow answer
        return httpx.Response(200, json={})

    client = client_for(handler, time, deadline=90.0)
    with client.one_call():
        await client.request("GET", "/api/personal_api_keys/@current/", key=KEY)
        await client.request("GET", "/x/", key=KEY)
        with pytest.raises(PostHogUnreachable) as raised:
            await client.request("GET", "/y/", key=KEY)
    assert timeouts == [60.0, 40.0]
    assert raised.value.reason == "deadline"


async def test_a_read_timeout_is_not_retried() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.ReadTimeout("slow"))
    with pytest.raises(PostHogUnreachable) as raised:
        await client_for(handler, time).request("GET", "/x/", key=KEY)
    assert raised.value.reason == "timeout"
    assert len(seen) == 1


async def test_the_deadline_bounds_all_retries_of_one_call() -> None:
    time = FakeTime()
    handler, seen = sequence(throttled("20"))
    client = client_for(handler, time, deadline=30.0, rate_limit_wait=100.0)
    with pytest.raises(PostHogError):
        await client.request("GET", "/x/", key=KEY)
    assert time.now < 30.0
    assert len(seen) == 2


async def test_the_read_timeout_is_capped_by_the_time_left_before_the_deadline() -> None:
    time = FakeTime()
    timeouts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        return throttled("25") if len(timeouts) == 1 else httpx.Response(200, json={})

    await client_for(handler, time, deadline=70.0).request("GET", "/x/", key=KEY)
    assert timeouts == [60.0, 45.0]


async def test_through_the_server_a_post_answered_500_reaches_posthog_once_and_says_so(fake: FakePostHog) -> None:
    fake.on("POST", "insights/", httpx.Response(500, json={"type": "server_error", "code": "error"}))
    async with connect(fake) as client:
        result = await client.call_tool("insight-create", {"query": {"kind": "TrendsQuery", "series": []}})
    assert len([r for r in fake.tool_requests() if r.method == "POST"]) == 1
    assert "not repeated automatically" in error_text(result)


async def test_through_the_server_a_throttled_get_succeeds_after_waiting(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", throttled("1"), insight(12))
    async with connect(fake) as client:
        result = payload(await client.call_tool("insight-get", {"id": 12}))
    assert result["id"] == 12
    assert len(fake.tool_requests()) == 2


async def test_a_429_without_retry_after_backs_off_within_the_rate_limit_budget() -> None:
    time = FakeTime()
    handler, seen = sequence(httpx.Response(429, json={"type": "throttled_error", "code": "throttled"}))
    policy = RetryPolicy()
    with pytest.raises(PostHogError) as raised:
        await client_for(handler, time).request("GET", "/x/", key=KEY)
    assert raised.value.retry_after is None
    assert len(seen) == 1 + policy.rate_limit_retries
    assert time.sleeps == [0.5, 1.0, 2.0]
    assert sum(time.sleeps) <= policy.rate_limit_wait


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-5", "1e12", "soon"])
async def test_a_retry_after_that_is_not_a_usable_number_counts_as_absent(value: str) -> None:
    time = FakeTime()
    handler, seen = sequence(throttled(value), httpx.Response(200, json={}))
    assert await client_for(handler, time).request("GET", "/x/", key=KEY) == {}
    assert len(seen) == 2
    assert time.sleeps == [0.5]


async def test_the_rate_limit_error_after_an_infinite_retry_after_names_no_infinite_wait(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", throttled("inf"))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insight-get", {"id": 12}))
    assert "inf" not in message
    assert "Retry insight-get in a minute." in message


async def test_the_rate_limit_error_speaks_of_one_second_in_the_singular(fake: FakePostHog) -> None:
    fake.on("GET", "insights/12/", throttled("0.4"), throttled("0.4"), throttled("0.4"), throttled("1"))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insight-get", {"id": 12}))
    assert "Retry insight-get in 1 second." in message


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        # posthog/exceptions.py: ClickHouseQueryTimeOut
        (504, "Query has hit the max execution time before completing."),
        # posthog/exceptions.py: ClickHouseEstimatedQueryExecutionTimeTooLong
        (512, "Estimated query execution time is too long. Try reducing its scope by changing the time range."),
    ],
)
async def test_a_query_failure_is_not_retried_and_passes_on_posthogs_detail(
    fake: FakePostHog, status: int, detail: str
) -> None:
    fake.on("GET", "insights/12/", httpx.Response(status, json={"type": "server_error", "detail": detail}))
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insight-get", {"id": 12, "refresh": "blocking"}))
    assert len(fake.tool_requests()) == 1
    assert f"({status}): {detail.rstrip('.')}" in message
    assert "narrow it (a shorter date range" in message


@pytest.mark.parametrize(
    ("retry_after", "said"),
    [("1", "in 1 second"), ("45", "in 45 seconds"), ("150", "in 3 minutes"), ("7200", "in 2 hours")],
)
async def test_the_rate_limit_message_gives_the_wait_in_a_natural_unit_rounded_up(retry_after: str, said: str) -> None:
    answer = httpx.Response(429, json={"detail": "Request was throttled."}, headers={"Retry-After": retry_after})
    fake = FakePostHog().on("GET", "insights/1/", answer)
    async with connect(fake) as client:
        message = error_text(await client.call_tool("insight-get", {"id": 1}))
    assert f"Retry insight-get {said}." in message


async def test_the_request_log_times_the_exchange_by_the_injected_clock(caplog: pytest.LogCaptureFixture) -> None:
    ticks = iter(range(1000))
    client = PostHogClient(
        "https://posthog.example.com",
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json={})),
        clock=lambda: float(next(ticks)),
    )
    with caplog.at_level("DEBUG", logger="mcp_server.posthog"):
        await client.request("GET", "/api/projects/1/insights/", key=KEY)
    await client.aclose()
    assert "GET /api/projects/1/insights/ -> 200 in 1000 ms" in caplog.messages
