"""PostHog's HTTP API: one shared client, authentication headers, retries and one deadline per call."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from mcp_server import __version__

log = logging.getLogger(__name__)

# The deadline of the tool call in progress, shared by every request it makes.
_call_deadline: ContextVar[float | None] = ContextVar("call_deadline", default=None)

# "posthog/mcp-server" is how PostHog recognises MCP clients, so an organisation's MCP read-only policy applies.
USER_AGENT = f"posthog-mcp/{__version__} (posthog/mcp-server compatible)"
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded retries, bounded waits, one deadline for the whole call."""

    deadline: float = 90.0
    rate_limit_retries: int = 3
    rate_limit_wait: float = 30.0
    fault_retries: int = 2
    backoff: float = 0.5


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
        """PostHog's `detail` text, or the body as text."""
        if isinstance(self.body, Mapping):
            return str(self.body.get("detail") or "")
        return str(self.body or "")

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


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return response.text[:500]


class PostHogClient:
    """Sends one logical request to PostHog, retrying only where that is safe."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
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
        policy = self.policy
        safe = method in SAFE_METHODS
        deadline = _call_deadline.get() or self._clock() + policy.deadline
        waited_for_rate_limit = 0.0
        rate_limited = faults = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                # Only reads are ever resent, and a throttled write did nothing: nothing half-done here.
                raise PostHogUnreachable(method, path, "deadline", may_have_applied=False, seconds=policy.deadline)
            try:
                response = await self._send(method, path, key, params, json_body, min(self.timeout, remaining))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                reason, may_have_applied, retryable = f"connect: {type(exc).__name__}", False, safe
            except httpx.TimeoutException:
                reason, may_have_applied, retryable = "timeout", not safe, False
            except httpx.TransportError as exc:
                reason, may_have_applied, retryable = f"dropped: {type(exc).__name__}", not safe, safe
            else:
                if response.status_code < 300:
                    if not response.content:
                        return None
                    try:
                        return response.json()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise MalformedReply(method, path, response.status_code) from None
                    except RecursionError:
                        raise MalformedReply(method, path, response.status_code, too_deep=True) from None
                error = PostHogError(
                    method,
                    path,
                    response.status_code,
                    _body(response),
                    retry_after=_retry_after(response),
                    request_id=response.headers.get("x-request-id"),
                    location=response.headers.get("location"),
                )
                if response.status_code == 429 and rate_limited < policy.rate_limit_retries:
                    # Throttling happens before PostHog's view runs, so any method may be resent.
                    wait = error.retry_after if error.retry_after is not None else policy.backoff * 2**rate_limited
                    if waited_for_rate_limit + wait > policy.rate_limit_wait or wait >= deadline - self._clock():
                        raise error
                    rate_limited += 1
                    waited_for_rate_limit += wait
                    log.warning("%s %s throttled; retrying in %.1f s", method, path, wait)
                    await self._sleep(wait)
                    continue
                if response.status_code >= 500 and safe and faults < policy.fault_retries:
                    faults += 1
                    await self._backoff(method, path, f"status {response.status_code}", faults, deadline)
                    continue
                raise error
            if retryable and faults < policy.fault_retries:
                faults += 1
                await self._backoff(method, path, reason, faults, deadline)
                continue
            raise PostHogUnreachable(method, path, reason, may_have_applied=may_have_applied)

    async def _send(
        self,
        method: str,
        path: str,
        key: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        timeout: float,  # noqa: ASYNC109 - a per-attempt httpx timeout, not a cancellation scope
    ) -> httpx.Response:
        started = time.monotonic()
        response = await self._http.request(
            method,
            path,
            params=params,
            json=json_body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        )
        log.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, (time.monotonic() - started) * 1000)
        return response

    @contextmanager
    def one_call(self) -> Iterator[None]:
        """Make every request inside share one deadline, however many a tool call needs."""
        token = _call_deadline.set(self._clock() + self.policy.deadline)
        try:
            yield
        finally:
            _call_deadline.reset(token)

    async def _backoff(self, method: str, path: str, reason: str, attempt: int, deadline: float) -> None:
        wait = self.policy.backoff * 2 ** (attempt - 1) * (0.5 + random.random())
        if wait >= deadline - self._clock():
            raise PostHogUnreachable(method, path, "deadline", may_have_applied=False, seconds=self.policy.deadline)
        log.warning("%s %s failed (%s); retry %d in %.1f s", method, path, reason, attempt, wait)
        await self._sleep(wait)
