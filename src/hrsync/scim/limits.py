"""The per-token request rate of the SCIM door: a token bucket per integration, in this process.

A bucket holds a tenth of a minute's allowance (at least one request) and refills continuously; a
request that finds it empty is answered 429 with ``Retry-After`` (whole seconds until one request's
worth is back). Entra ID and Okta both back off on 429 and Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0  # requests per second
        self.capacity = max(1.0, per_minute / 10.0)
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: int) -> float | None:
        """None when the request may go ahead; else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
