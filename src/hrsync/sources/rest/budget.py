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

from hrsync.sources.base import SourceError


class RetryBudget:
    def __init__(self, seconds: float, *, deadline: Deadline | None = None) -> None:
        self.total = max(0.0, float(seconds))
        self.deadline = deadline if deadline is not None else Deadline(None)
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


class Deadline:
    """The latest moment a whole read may still be going on (``HRSYNC_IMPORT_READ_DEADLINE``).

    The retry budget bounds time spent *in trouble*; the deadline bounds everything else too: a
    directory that never ends, a server trickling bytes, a proxy answering slowly but always. Every
    request's timeout is clipped to what is left, so nothing in flight outlives it.
    """

    def __init__(self, seconds: float | None, *, service: str = "the source") -> None:
        self.seconds = None if seconds is None else max(0.0, float(seconds))
        self.service = service  # named in the error: "reading <service> took longer than ..."
        self._at = float("inf") if self.seconds is None else time.monotonic() + self.seconds

    def left(self) -> float:
        return max(0.0, self._at - time.monotonic())

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._at

    def error(self, request: str | None = None) -> SourceError:
        limit = _duration(self.seconds or 0.0)
        return SourceError(
            f"reading {self.service} took longer than the {limit} an import may spend reading "
            "(HRSYNC_IMPORT_READ_DEADLINE); nothing was imported, try again later",
            code="read_deadline",
            request=request,
        )


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds:g} second" + ("s" if seconds != 1 else "")
