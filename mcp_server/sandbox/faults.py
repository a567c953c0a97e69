"""Fault injection: make the next N matching requests fail the way networks and PostHog fail.

Kinds:
* `status`: answer `status` with PostHog's JSON body for it (504 and 512 are PostHog's query timeout and
  too-expensive query, posthog/errors.py), or an HTML error page (`html=True`).
* `rate_limit`: answer 429 with PostHog's throttled body and `Retry-After: retry_after` (None: no header).
* `delay`: wait `seconds`, then answer normally.
* `drop`: send the start of a response, then abort the connection. Over real HTTP the client sees the
  connection close mid-body (httpx: `RemoteProtocolError`); through `embedded_transport()` the same
  `httpx.RemoteProtocolError` is raised; a bare `httpx.ASGITransport` raises `ConnectionDropped` itself.
  With `processed=True` the request is carried out first, so a write happens but its answer is lost.
* `malformed_json`: answer 200 with `application/json` whose body is not JSON.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, fields
from typing import Any

from starlette.responses import Response
from starlette.types import Send

from mcp_server.sandbox.errors import throttled

FAULT_KINDS = ("status", "rate_limit", "delay", "drop", "malformed_json")
TRUNCATED_JSON = '{"count": 12, "next": null, "previous": null, "results": [{"id": 1, "name": "Weekly'
HTML_PAGE = "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1>"
HTML_PAGE += "</center>\r\n</body>\r\n</html>\r\n"
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
# posthog/errors.py: ClickHouseQueryTimeOut and ClickHouseEstimatedQueryExecutionTimeTooLong.
QUERY_ERRORS = {
    504: "Query has hit the max execution time before completing. See our docs for how to improve your query "
    "performance. You may need to materialize.",
    512: "Estimated query execution time is too long. Try reducing its scope by changing the time range.",
}


class ConnectionDropped(Exception):
    """Raised after a partial response so that the server aborts the connection."""


@dataclass
class Fault:
    """One armed fault. `count` None keeps it armed until cleared."""

    kind: str
    path: str | None = None
    regex: str | None = None
    method: str | None = None
    count: int | None = 1
    status: int = 500
    html: bool = False
    retry_after: int | None = 1
    seconds: float = 0.0
    processed: bool = False
    id: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is one this fault targets."""
        same_method = not self.method or self.method.upper() == method.upper()
        return same_method and path.startswith(self.path or "") and bool(re.search(self.regex or "", path))

    def response(self) -> Response:
        """The answer for the kinds that replace PostHog's answer entirely."""
        if self.kind == "rate_limit":
            error = throttled(self.retry_after)
            return Response(json.dumps(error.body()), 429, headers=error.headers, media_type="application/json")
        if self.kind == "malformed_json":
            return Response(TRUNCATED_JSON, 200, media_type="application/json")
        if self.html:
            page = HTML_PAGE.format(status=self.status, reason=REASONS.get(self.status, "Error"))
            return Response(page, self.status, media_type="text/html")
        kind, detail = ("server_error", QUERY_ERRORS.get(self.status, "A server error occurred."))
        if self.status < 500:
            kind, detail = "invalid_request", "Injected fault."
        body = {"type": kind, "code": "error", "detail": detail, "attr": None}
        return Response(json.dumps(body), self.status, media_type="application/json")


class Faults:
    """The armed faults of one sandbox; safe to use from the test thread while a server thread serves."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._next_id = 1

    def add(self, kind: str, **options: Any) -> Fault:
        """Arm a fault, e.g. `add("status", path="/api/projects/1/insights/", status=503, count=2)`.

        Raises ValueError for an unknown kind or option, or a value of the wrong type.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        known = {f.name for f in fields(Fault)} - {"kind", "id", "fired"}
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
        fault = Fault(kind, **options)
        _check(fault)
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        """The faults still armed, oldest first."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching a request, spending one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.fired += 1
                    if fault.count is not None and fault.fired >= fault.count:
                        self._faults.remove(fault)
                    return fault
        return None


def _check(fault: Fault) -> None:
    if not (fault.count is None or (isinstance(fault.count, int) and fault.count >= 1)):
        raise ValueError("count must be a positive integer")
    if not (isinstance(fault.status, int) and 100 <= fault.status <= 599):
        raise ValueError("status must be an HTTP status code")
    if not (fault.retry_after is None or (isinstance(fault.retry_after, int) and fault.retry_after >= 0)):
        raise ValueError("retry_after must be whole seconds")
    if not (isinstance(fault.seconds, int | float) and fault.seconds >= 0):
        raise ValueError("seconds must be a non-negative number")
    try:
        re.compile(fault.regex or "")
    except re.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from exc


async def drop_connection(send: Send) -> None:
    """Start a response promising more body than it sends, then abort."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"results": [', "more_body": True})
    raise ConnectionDropped("the sandbox dropped the connection (injected fault)")
