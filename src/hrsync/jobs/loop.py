"""The periodic pass both modes share: schedule, recover, re-queue, summarise SCIM, send mail, close down.

One plain thread that wakes every ``tick`` seconds is all the timing this needs, because the
*when* lives in the database (``integration.next_run_at``), not in the timer: a pass that runs
late, twice, or on two machines queues the same runs once. That is why neither APScheduler nor
Celery beat is used: both would keep a second copy of the schedule (a job store, a beat file)
that can disagree with the database, and beat must never run twice, while this loop may.

Every step is isolated: an SMTP outage or a close-down bug is logged and the next step still runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hrsync.jobs.dispatch import DEFAULT_STALE_AFTER, SCHEDULE_BATCH, Enqueue, recover_stale_runs, schedule_due
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

DEFAULT_TICK = 30.0  # seconds; schedules have minute precision, so this is late by at most half a minute

# Called with "now"; hands out queued runs the queue may have lost, returns their ids.
Requeue = Callable[[datetime], list[int]]


@dataclass
class PassReport:
    """What one pass did, step by step (``errors`` names the steps that raised)."""

    at: datetime
    steps: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), **self.steps, "errors": dict(self.errors)}


class PeriodicLoop:
    """Runs :meth:`run_once` every ``tick`` seconds until stopped.

    ``closedown`` runs once per UTC day per process (and at start): it is idempotent and uses each
    programme's local date itself, so running it on two schedulers or twice a day is harmless.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        enqueue: Enqueue,
        *,
        tick: float = DEFAULT_TICK,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        requeue: Requeue | None = None,
        send_outbox: bool = True,
        closedown: bool = True,
        webhook_hints: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory = factory
        self.enqueue = enqueue
        self.tick = tick
        self.stale_after = stale_after
        self.requeue = requeue
        self.send_outbox = send_outbox
        self.closedown = closedown
        self.webhook_hints = webhook_hints
        self.clock = clock
        self.passes = 0
        self._closedown_day: date | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()

    def _step(self, report: PassReport, name: str, action: Callable[[], Any]) -> None:
        try:
            report.steps[name] = action()
        except Exception as exc:  # one broken step must not stop imports from being scheduled
            log.exception("scheduler step %s failed", name)
            report.errors[name] = f"{type(exc).__name__}: {exc}"

    def run_once(self, now: datetime | None = None) -> PassReport:
        now = now or self.clock()
        report = PassReport(at=now)
        self._step(report, "scheduled", lambda: schedule_due(self.factory, now, self.enqueue).to_dict())
        self._step(
            report,
            "recovered",
            lambda: recover_stale_runs(self.factory, now, self.stale_after, self.enqueue).to_dict(),
        )
        self._step(report, "expired_held_runs", lambda: self._expire_held_runs(now))
        if self.webhook_hints:
            self._step(report, "webhook_hints", lambda: self._webhook_hints(now))
        requeue = self.requeue
        if requeue is not None:
            self._step(report, "requeued", lambda: requeue(now))
        self._step(report, "push_summaries", lambda: self._push_summaries(now))
        if self.send_outbox:
            self._step(report, "outbox", self._send_outbox)
        if self.closedown and self._closedown_day != now.date():
            self._step(report, "sessions_purged", lambda: self._purge_sessions(now))
            self._step(report, "closedown", lambda: self._run_closedown(now))
        self.passes += 1
        return report

    def _expire_held_runs(self, now: datetime) -> int:
        """Held plans nobody decided on within 7 days expire (the history then says so)."""
        from hrsync.sync.runs import expire_held_runs

        with self.factory.begin() as session:
            return expire_held_runs(session, now)

    def _webhook_hints(self, now: datetime) -> dict[str, Any]:
        """Webhook deliveries that came due: each person re-fetched and applied (see jobs/webhooks.py).
        Between passes a :class:`~hrsync.jobs.webhooks.HintPoller` does the same every second."""
        from hrsync.jobs.webhooks import process_due

        return process_due(self.factory, now).to_dict()

    def _push_summaries(self, now: datetime) -> dict[str, int]:
        """A SCIM integration's summary e-mail of its changes, at most daily (queued here, sent by the
        outbox step right after)."""
        from hrsync.notify.push_summary import send_due_summaries

        return send_due_summaries(self.factory, now)

    def _send_outbox(self) -> dict[str, Any]:
        from hrsync.notify.delivery import send_due

        return send_due(self.factory).to_dict()

    def _purge_sessions(self, now: datetime) -> int:
        """Portal sessions that ended or expired over a day ago are deleted (a bounded batch a day)."""
        from hrsync.lifecycle.sessions import purge_sessions

        with self.factory.begin() as session:
            return purge_sessions(session, now=now)

    def _run_closedown(self, now: datetime) -> dict[str, int]:
        from hrsync.lifecycle.closedown import run_closedown

        counts = run_closedown(self.factory, now=now)
        self._closedown_day = now.date()
        return counts

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the tick."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run_forever(self) -> None:
        """A pass every ``tick`` seconds (or when woken), counted from the start of the last one, so a
        long pass does not push the next one back: with 2,000 programmes due in one minute a pass takes
        a good part of a second, and the next due runs would wait for it *and* a whole tick (issue 27).
        A pass that found a full batch due starts the next at once. Returns after :meth:`stop`. Webhook
        deliveries are taken every second by a :class:`~hrsync.jobs.webhooks.HintPoller` thread meanwhile."""
        poller = None
        if self.webhook_hints:
            from hrsync.jobs.webhooks import HintPoller

            poller = HintPoller(self.factory, clock=self.clock).start()
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                report = self.run_once()
                scheduled = report.steps.get("scheduled", {})
                if scheduled.get("queued") or report.errors:
                    log.info("scheduler pass: %s", report.to_dict())
                full = len(scheduled.get("queued", ())) + len(scheduled.get("skipped", ())) >= SCHEDULE_BATCH
                self._wake.wait(0.0 if full else max(0.0, self.tick - (time.monotonic() - started)))
                self._wake.clear()
        finally:
            if poller is not None:
                poller.stop()
