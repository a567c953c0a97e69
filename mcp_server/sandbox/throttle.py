"""Per-key throttling as PostHog's insight endpoints do it: a burst rate and a sustained rate, each a sliding window.

posthog/rate_limit.py: ClickHouseBurstRateThrottle (240/minute) and ClickHouseSustainedRateThrottle (1200/hour),
keyed by the personal API key. DRF asks every throttle; one that allows the request records it, and the wait
reported is the longest among those that refused.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

MINUTE, HOUR = 60.0, 3600.0


class RateLimiter:
    """`rates` is (requests, window seconds) pairs; `clock` is replaceable so tests need not wait."""

    def __init__(self, rates: Sequence[tuple[int, float]], clock: Callable[[], float] = time.monotonic) -> None:
        self.rates = list(rates)
        self.clock = clock
        self._hits: dict[tuple[str, int], deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> int | None:
        """Count a request; None if every rate allows it, else whole seconds until the strictest one does."""
        waits: list[int] = []
        with self._lock:
            now = self.clock()
            for index, (allowed, window) in enumerate(self.rates):
                hits = self._hits.setdefault((key, index), deque())
                while hits and hits[0] <= now - window:
                    hits.popleft()
                if len(hits) >= allowed:
                    waits.append(max(1, math.ceil(hits[0] + window - now)))
                else:
                    hits.append(now)
        return max(waits) if waits else None
