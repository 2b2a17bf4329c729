"""The retry time budget of one import, shared by all concurrent requests.

The budget bounds how long an import may spend *in trouble*: the wall-clock time during which at
least one request is failing, backing off or being retried. Healthy paging does not use it up, so a
100,000-person directory is not cut off for being large, while an import facing a rate limit or an
outage gives up after about two minutes instead of hanging. Concurrent requests in trouble at the
same moment count once (it is the union of their troubled intervals), so four threads waiting out
the same ``Retry-After`` spend its seconds once, not four times.
"""

from __future__ import annotations

import threading
import time


class RetryBudget:
    def __init__(self, seconds: float) -> None:
        self.total = max(0.0, float(seconds))
        self._lock = threading.Lock()
        self._in_trouble = 0
        self._since = 0.0
        self._spent = 0.0
        self._last_exit = float("-inf")
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """The import is over (failed or abandoned): requests still backing off stop at once."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def sleep(self, seconds: float) -> None:
        """Back off, but wake up as soon as the import is cancelled."""
        self._cancelled.wait(seconds)

    def enter(self, since: float | None = None) -> None:
        """A request started failing (``since``: when its failed attempt began, monotonic clock)."""
        now = time.monotonic()
        with self._lock:
            if self._in_trouble == 0:
                start = now if since is None else min(now, since)
                self._since = max(start, self._last_exit)  # never count the same second twice
            self._in_trouble += 1

    def leave(self) -> None:
        """The request that called :meth:`enter` is over (succeeded or failed for good)."""
        now = time.monotonic()
        with self._lock:
            self._in_trouble -= 1
            if self._in_trouble == 0:
                self._spent += now - self._since
                self._last_exit = now

    def spent(self) -> float:
        with self._lock:
            running = time.monotonic() - self._since if self._in_trouble else 0.0
            return self._spent + running

    def remaining(self) -> float:
        return max(0.0, self.total - self.spent())
