"""PostHog's HTTP API: one shared client, authentication headers, retries and one deadline per call."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx

from mcp_server import __version__

log = logging.getLogger(__name__)

# The deadline of the tool call in progress, shared by every request it makes.
_call_deadline: ContextVar[float | None] = ContextVar("call_deadline", default=None)

# "posthog/mcp-server" is how PostHog recognises MCP clients, so an organisation's MCP read-only policy applies.
USER_AGENT = f"posthog-mcp/{__version__} (posthog/mcp-server compatible)"
SAFE_METHODS = frozenset({"GET", "HEAD"})
# PostHog's query failures (posthog/exceptions.py): 504 ClickHouseQueryTimeOut, 512 estimated execution too long.
QUERY_FAILURES = frozenset({504, 512})
DEFAULT_MAX_REPLY = 20_000_000
# Replies of at least this many bytes are decoded and shaped off the event loop, so that other requests (even ping)
# go on meanwhile; for smaller ones the thread hop costs more than the work.
OFF_LOOP_BYTES = 64 * 1024
# Enough of an error answer for its `detail`; the rest is not read.
ERROR_BODY_LIMIT = 65_536
# A Retry-After beyond a day (or inf, nan, negative) is no instruction a caller can follow.
MAX_RETRY_AFTER = 86_400.0
# Any JSON escape; group 1 is an unpaired UTF-16 surrogate, which no UTF-8 writer can encode.
ESCAPE = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F][0-9a-fA-F]{2})|.)", re.DOTALL
)
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded retries, bounded waits, one deadline for the whole call."""

    deadline: float = 90.0
    rate_limit_retries: int = 3
    rate_limit_wait: float = 30.0
    fault_retries: int = 2
    backoff: float = 0.5
    # A computation is read again after poll_first seconds, then twice as long each time, up to poll_max.
    poll_first: float = 0.5
    poll_max: float = 5.0
    # The share of the deadline kept for answering once waiting for a computation stops.
    poll_reserve: float = 0.05


class PostHogError(Exception):
    """PostHog answered, but not with success."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(f"{method} {path} answered {status}")
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.request_id = request_id
        self.location = location

    @property
    def detail(self) -> str:
        """PostHog's `detail` text, or the body as text; nothing for an HTML page (a proxy's, not PostHog's)."""
        if isinstance(self.body, Mapping):
            status = self.body.get("query_status")
            # A failed computation's status read (GET query/{id}/) says why in its status, not in `detail`.
            failed = status.get("error_message") if isinstance(status, Mapping) else None
            return str(self.body.get("detail") or failed or "")
        text = str(self.body or "")
        return "" if text.lstrip()[:1] == "<" else text

    @property
    def auth_failed(self) -> bool:
        """The key itself was refused (PostHog sends some of these as 403, so read the code too)."""
        code = self.body.get("code") if isinstance(self.body, Mapping) else None
        return self.status == 401 or code in ("authentication_failed", "not_authenticated")

    @property
    def attr(self) -> str | None:
        """The field PostHog blames, when it names one."""
        if isinstance(self.body, Mapping) and self.body.get("attr"):
            return str(self.body["attr"])
        return None


class PostHogUnreachable(Exception):
    """No answer from PostHog: a connection fault, a timeout or the call's deadline."""

    def __init__(
        self, method: str, path: str, reason: str, *, may_have_applied: bool, seconds: float | None = None
    ) -> None:
        super().__init__(f"{method} {path}: {reason}")
        self.method = method
        self.path = path
        self.reason = reason
        self.may_have_applied = may_have_applied
        self.seconds = seconds


class MalformedReply(Exception):
    """PostHog answered success with a body that is not JSON, or JSON nested too deeply to decode."""

    def __init__(self, method: str, path: str, status: int, *, too_deep: bool = False) -> None:
        super().__init__(
            f"{method} {path} answered {status} with a body that is not {'decodable' if too_deep else 'JSON'}"
        )
        self.method = method
        self.path = path
        self.status = status
        self.too_deep = too_deep


class ReplyTooLarge(MalformedReply):
    """PostHog's successful answer was longer than the most this server reads; reading stopped there."""

    def __init__(self, method: str, path: str, status: int, cap: int) -> None:
        super().__init__(method, path, status)
        self.cap = cap

    def __str__(self) -> str:
        return f"{self.method} {self.path} answered {self.status} with more than {self.cap} bytes"


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: httpx.Headers
    content: bytes


@dataclass(frozen=True)
class _Fault:
    """No usable answer: why, whether a write may have been applied, and whether resending is safe."""

    reason: str
    may_have_applied: bool
    retryable: bool


def _retry_after(headers: httpx.Headers) -> float | None:
    try:
        seconds = float(headers.get("retry-after", "nan"))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER else None


def _lone_surrogate(match: re.Match[str]) -> str:
    return "\\ufffd" if match.group(1) else match.group(0)


def decode(raw: bytes) -> Any:
    """JSON out of PostHog's bytes, always encodable as UTF-8: unpaired surrogates (escaped or raw) become U+FFFD.

    NaN and Infinity, which are not JSON, become null.
    """
    text = raw.decode("utf-8", "replace")
    if SURROGATE_ESCAPE.search(text):
        text = ESCAPE.sub(_lone_surrogate, text)
    return json.loads(text, parse_constant=lambda _: None)


def _error_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return decode(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class _Failure:
    """An attempt without success: the error it ends in, and the kind of resend that may still cure it."""

    error: PostHogError | PostHogUnreachable
    reason: str
    retry: Literal["throttled", "fault"] | None
    retry_after: float | None = None


def _failure(method: str, path: str, outcome: _Reply | _Fault, safe: bool) -> _Failure:
    """Classify an attempt that did not succeed."""
    if isinstance(outcome, _Fault):
        error = PostHogUnreachable(method, path, outcome.reason, may_have_applied=outcome.may_have_applied)
        return _Failure(error, outcome.reason, "fault" if outcome.retryable else None)
    refusal = PostHogError(
        method,
        path,
        outcome.status,
        _error_body(outcome.content),
        retry_after=_retry_after(outcome.headers),
        request_id=outcome.headers.get("x-request-id"),
        location=outcome.headers.get("location"),
    )
    if outcome.status == 429:
        # Throttling happens before PostHog's view runs, so any method may be resent.
        return _Failure(refusal, "throttled", "throttled", refusal.retry_after)
    transient = outcome.status >= 500 and outcome.status not in QUERY_FAILURES
    return _Failure(refusal, f"status {outcome.status}", "fault" if transient and safe else None)


@dataclass
class _Resends:
    """The resends of one request so far, bounded by the policy."""

    method: str
    path: str
    policy: RetryPolicy
    faults: int = 0
    throttled: int = 0
    throttled_for: float = 0.0

    def wait(self, failure: _Failure, remaining: float) -> float:
        """Seconds to wait before sending again; raises the failure's error when no resend is left or fits."""
        policy, method, path = self.policy, self.method, self.path
        if failure.retry == "throttled" and self.throttled < policy.rate_limit_retries:
            wait = failure.retry_after if failure.retry_after is not None else policy.backoff * 2.0**self.throttled
            if self.throttled_for + wait <= policy.rate_limit_wait and wait < remaining:
                self.throttled += 1
                self.throttled_for += wait
                log.warning("%s %s throttled; retrying in %.1f s", method, path, wait)
                return wait
        elif failure.retry == "fault" and self.faults < policy.fault_retries:
            self.faults += 1
            wait = policy.backoff * 2.0 ** (self.faults - 1) * (0.5 + random.random())
            if wait >= remaining:
                raise PostHogUnreachable(method, path, "deadline", may_have_applied=False, seconds=policy.deadline)
            log.warning("%s %s failed (%s); retry %d in %.1f s", method, path, failure.reason, self.faults, wait)
            return wait
        raise failure.error


async def _decoded(method: str, path: str, reply: _Reply) -> Any:
    """A successful reply's JSON (None for an empty body)."""
    if not reply.content:
        return None
    try:
        if len(reply.content) < OFF_LOOP_BYTES:
            return decode(reply.content)
        return await anyio.to_thread.run_sync(decode, reply.content)
    except ValueError:
        raise MalformedReply(method, path, reply.status) from None
    except RecursionError:
        raise MalformedReply(method, path, reply.status, too_deep=True) from None


class PostHogClient:
    """Sends one logical request to PostHog, retrying only where that is safe."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        max_reply: int = DEFAULT_MAX_REPLY,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_reply = max_reply
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=5.0),
            headers={"User-Agent": USER_AGENT, "X-PostHog-Client": "mcp", "Accept": "application/json"},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        key: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send the request and return the decoded JSON answer (None for an empty body)."""
        answer, _ = await self.request_sized(method, path, key=key, params=params, json_body=json_body)
        return answer

    async def request_sized(
        self,
        method: str,
        path: str,
        *,
        key: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[Any, int]:
        """As `request`, with the size of PostHog's answer in bytes."""
        request = self._http.build_request(
            method, path, params=params, json=json_body, headers={"Authorization": f"Bearer {key}"}
        )
        safe = method in SAFE_METHODS
        deadline = _call_deadline.get() or self._clock() + self.policy.deadline
        resends = _Resends(method, path, self.policy)
        while True:
            outcome = await self._attempt(request, path, safe, deadline)
            if isinstance(outcome, _Reply) and outcome.status < 300:
                return await _decoded(method, path, outcome), len(outcome.content)
            failure = _failure(method, path, outcome, safe)
            await self._sleep(resends.wait(failure, deadline - self._clock()))

    async def _attempt(self, request: httpx.Request, path: str, safe: bool, deadline: float) -> _Reply | _Fault:
        """One exchange within what is left of the deadline: PostHog's answer, or the fault that prevented one."""
        method = request.method
        remaining = deadline - self._clock()
        if remaining <= 0:
            # Only reads are ever resent, and a throttled write did nothing: nothing half-done here.
            raise PostHogUnreachable(method, path, "deadline", may_have_applied=False, seconds=self.policy.deadline)
        # The deadline covers the whole exchange, so a body that trickles in cannot outlast it.
        with anyio.move_on_after(remaining):
            try:
                return await self._exchange(request, path, min(self.timeout, remaining))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                return _Fault(f"connect: {type(exc).__name__}", may_have_applied=False, retryable=safe)
            except httpx.TimeoutException:
                return _Fault("timeout", may_have_applied=not safe, retryable=False)
            except httpx.TransportError as exc:
                return _Fault(f"dropped: {type(exc).__name__}", may_have_applied=not safe, retryable=safe)
        raise PostHogUnreachable(method, path, "deadline", may_have_applied=not safe, seconds=self.policy.deadline)

    async def _exchange(
        self,
        request: httpx.Request,
        path: str,
        timeout: float,  # noqa: ASYNC109 - a per-read httpx timeout, not a cancellation scope
    ) -> _Reply:
        started = self._clock()
        method = request.method
        request.extensions["timeout"] = httpx.Timeout(timeout, connect=min(5.0, timeout)).as_dict()
        response = await self._http.send(request, stream=True)
        try:
            content = await self._read(response, method, path)
        finally:
            await response.aclose()
        log.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, (self._clock() - started) * 1000)
        return _Reply(response.status_code, response.headers, content)

    async def _read(self, response: httpx.Response, method: str, path: str) -> bytes:
        """The body, read no further than the cap: past it, a success is refused and an error's text cut."""
        success = response.status_code < 300
        cap = self.max_reply if success else min(self.max_reply, ERROR_BODY_LIMIT)
        declared = response.headers.get("content-length", "")
        if success and declared.isdigit() and int(declared) > cap:
            raise ReplyTooLarge(method, path, response.status_code, cap)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > cap:
                if success:
                    raise ReplyTooLarge(method, path, response.status_code, cap)
                return bytes(body[:cap])
        return bytes(body)

    def time_left(self) -> float:
        """Seconds left before the deadline of the call in progress (a whole deadline outside one)."""
        now = self._clock()
        return (_call_deadline.get() or now + self.policy.deadline) - now

    async def pause(self, seconds: float) -> None:
        """Wait between two reads of a computation (with the client's own sleep, which tests replace)."""
        await self._sleep(seconds)

    @contextmanager
    def one_call(self) -> Iterator[None]:
        """Make every request inside share one deadline, however many a tool call needs."""
        token = _call_deadline.set(self._clock() + self.policy.deadline)
        try:
            yield
        finally:
            _call_deadline.reset(token)
