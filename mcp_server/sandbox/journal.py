"""The request log: what "PostHog" received, for tests in this or another process. Never holds a key."""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from starlette.requests import Request

from mcp_server.sandbox.dates import iso, utc_now

KEPT_HEADERS = ("user-agent", "x-posthog-client", "content-type")
MAX_ENTRIES = 1000


class Journal:
    """The most recent requests (at most MAX_ENTRIES), oldest first."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self._lock = threading.Lock()

    def record(self, request: Request, raw_body: bytes) -> dict[str, Any]:
        """Log a request; the returned entry is completed later with `status` and `fault`."""
        query: dict[str, Any] = {}
        for name in request.query_params:
            values = ["[redacted]" if name == "personal_api_key" else v for v in request.query_params.getlist(name)]
            query[name] = values[0] if len(values) == 1 else values
        body: Any = None
        body_text = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body_text = raw_body.decode("utf-8", "replace")[:2000]
            if isinstance(body, dict) and "personal_api_key" in body:
                body = {**body, "personal_api_key": "[redacted]"}
        entry: dict[str, Any] = {
            "time": iso(utc_now()),
            "method": request.method,
            "path": request.url.path,
            "query": query,
            "body": body,
            "body_text": body_text,
            "headers": {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
            "authorization": "authorization" in request.headers,
            "status": None,
            "fault": None,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the log."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._entries.clear()
