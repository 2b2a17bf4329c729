"""Fault injection and request counters, switchable while the simulator serves.

Real APIs rate-limit, fail, stall, cut answers off and change between two page requests; the
connector must survive all of it, so tests need to cause each on demand and count what happened.

Kinds that misbehave without end, to prove the connector's reads are bounded (``count`` tunes them):

* ``runaway``: list answers claim ``count`` (default 100) more records, and so more pages, with
  every request, as a directory that never stops growing would; the extra pages come back empty.
* ``same_page``: list answers are always page 1, whatever page was asked for.
* ``nested``: a 200 answer whose body is JSON nested ``count`` (default 100,000) arrays deep.
* ``oversized``: a valid answer padded with whitespace to at least ``count`` bytes (default 40 MiB).
* ``not_json``: a 200 answer with an HTML body, as a proxy's error page would be.

``refused`` answers ``status`` (401, 403 or 404, default 404) with intelliHR's error body: a key
without permission for that endpoint, or a tenant where the endpoint does not exist.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

FAULT_KINDS = (
    "rate_limit", "server_error", "slow", "truncated", "grow", "shrink",
    "runaway", "same_page", "nested", "oversized", "not_json", "refused",
)
DEFAULT_COUNTS = {"runaway": 100, "nested": 100_000, "oversized": 40 * 1024 * 1024}
SERVER_ERROR_STATUSES = (500, 502, 503)
REFUSED_STATUSES = (401, 403, 404)


@dataclass(slots=True)
class FaultRule:
    """One armed fault. ``after`` matching requests pass first; then ``times`` are affected (None: all)."""

    kind: str
    times: int | None = 1
    after: int = 0
    path: str = "/v1/people"
    status: int | None = None
    retry_after: int | datetime | None = None
    delay: float | None = None
    count: int | None = None
    seen: int = 0
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        retry = self.retry_after.isoformat() if isinstance(self.retry_after, datetime) else self.retry_after
        return {
            "kind": self.kind,
            "times": self.times,
            "after": self.after,
            "path": self.path,
            "status": self.status,
            "retry_after": retry,
            "delay": self.delay,
            "count": self.count,
            "seen": self.seen,
            "fired": self.fired,
        }


class Faults:
    """The armed faults; rules are checked in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        kind: str,
        *,
        times: int | None = 1,
        after: int = 0,
        path: str = "/v1/people",
        status: int | None = None,
        retry_after: int | datetime | None = None,
        delay: float | None = None,
        count: int | None = None,
    ) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if times is not None and times < 0:
            raise ValueError("times must be >= 0 or None")
        if after < 0:
            raise ValueError("after must be >= 0")
        if kind == "server_error":
            status = status or 500
            if status not in SERVER_ERROR_STATUSES:
                raise ValueError("status must be 500, 502 or 503")
        if kind == "refused":
            status = status or 404
            if status not in REFUSED_STATUSES:
                raise ValueError("status must be 401, 403 or 404")
        if kind == "rate_limit":
            status = 429
            if retry_after is None:
                retry_after = 1
        if kind == "slow" and (delay is None or delay < 0):
            raise ValueError("slow needs a delay in seconds")
        if kind in ("grow", "shrink") and (count is None or count < 0):
            raise ValueError(f"{kind} needs a count")
        if kind in DEFAULT_COUNTS:
            count = DEFAULT_COUNTS[kind] if count is None else count
            if count < 1:
                raise ValueError(f"{kind} needs a count of at least 1")
        if isinstance(retry_after, datetime) and retry_after.tzinfo is None:
            raise ValueError("retry_after as a datetime must be timezone-aware")
        if isinstance(retry_after, int) and retry_after < 0:
            raise ValueError("retry_after must be >= 0 seconds")
        rule = FaultRule(kind, times, after, path, status, retry_after, delay, count)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def match(self, path: str) -> list[FaultRule]:
        """The rules firing for this request; every matching rule counts it as seen."""
        firing: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.path):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                rule.fired += 1
                firing.append(rule)
        return firing


class Stats:
    """Requests served, by path (without the query) and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int]] = Counter()

    def record(self, path: str, status: int) -> None:
        with self._lock:
            self._counts[(path, status)] += 1

    def count(self, path_prefix: str | None = None, status: int | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (path, code), n in self._counts.items()
                if (path_prefix is None or path.startswith(path_prefix)) and (status is None or code == status)
            )

    @property
    def total(self) -> int:
        return self.count()

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            rows = [{"path": p, "status": s, "count": n} for (p, s), n in sorted(self._counts.items())]
        return {"total": sum(r["count"] for r in rows), "requests": rows}
