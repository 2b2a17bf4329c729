"""Embedded mode: the scheduler and the import workers on threads inside one process.

``hrsync serve`` (without ``HRSYNC_BROKER_URL``) starts one :class:`EmbeddedScheduler` next to the
portal; ``hrsync scheduler`` without a broker runs one in the foreground. The parts:

* a loop thread (:class:`~hrsync.jobs.loop.PeriodicLoop`) that every tick queues due imports,
  recovers stale runs, sends the outbox and, once a day, runs the close-down job;
* a thread pool of ``workers`` threads running :func:`hrsync.sync.execute.execute_run` (and the
  decisions on held runs, :func:`hrsync.jobs.decisions.apply_decision`). One worker is the right
  default on SQLite (a single writer); more only helps on PostgreSQL.

The in-memory queue is only a shortcut: each pass also hands out queued runs it has not seen
(runs queued before a restart, or by another process sharing the database), so nothing queued
in the database is ever forgotten, and a run handed out twice is executed once (the runner's claim).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hrsync.jobs.decisions import apply_decision, requeue_pending_decisions
from hrsync.jobs.dispatch import DEFAULT_STALE_AFTER, requeue_queued_runs
from hrsync.jobs.loop import DEFAULT_TICK, PassReport, PeriodicLoop

log = logging.getLogger(__name__)

_current_lock = threading.Lock()
_current: EmbeddedScheduler | None = None


def current() -> EmbeddedScheduler | None:
    """The scheduler started in this process, if any (what :func:`hrsync.jobs.enqueue.enqueue_run` uses)."""
    with _current_lock:
        return _current


def _url_of(factory: sessionmaker[Session]) -> str | None:
    """The database URL behind a session factory, so the runner opens the same database."""
    bind = factory.kw.get("bind")
    url = getattr(bind, "url", None)
    return None if url is None else url.render_as_string(hide_password=False)


class EmbeddedScheduler:
    """Scheduler loop + worker pool on threads. ``start()`` once, ``stop()`` once."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        tick: float = DEFAULT_TICK,
        workers: int = 1,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        send_outbox: bool = True,
        closedown: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.factory = factory
        self.workers = workers
        self.url = _url_of(factory)
        self.worker_id = f"embedded:{socket.gethostname()}:{os.getpid()}"
        self.loop = PeriodicLoop(
            factory,
            self.enqueue,
            tick=tick,
            stale_after=stale_after,
            requeue=self._requeue,
            send_outbox=send_outbox,
            closedown=closedown,
        )
        self._lock = threading.Lock()
        self._inflight: set[int] = set()
        self._deciding: set[int] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self.outcomes: dict[int, Any] = {}  # run id → the runner's outcome (or None: someone else ran it)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, *, loop: bool = True) -> EmbeddedScheduler:
        """Start the worker pool and (unless ``loop=False``: one-off passes) the scheduler thread."""
        global _current
        if self._executor is not None:
            raise RuntimeError("this scheduler was already started")
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hrsync-import")
        with _current_lock:
            _current = self
        if loop:
            self._thread = threading.Thread(
                target=self.loop.run_forever, name="hrsync-scheduler", daemon=True
            )
            self._thread.start()
        return self

    def run_pass(self) -> PassReport:
        """One scheduler pass in the calling thread (the runs it queues go to the pool)."""
        return self.loop.run_once()

    def stop(self, *, wait: bool = True, drain: bool = False) -> None:
        """Stop scheduling. ``wait``: imports already running finish first. ``drain``: so do the
        ones handed to the pool but not started; otherwise they stay queued in the database for
        the next start (a portal shutting down should not wait for a backlog)."""
        global _current
        self._closing = True
        self.loop.stop()
        if self._thread is not None:
            self._thread.join()
        with _current_lock:
            if _current is self:
                _current = None
        if self._executor is not None:
            self._executor.shutdown(wait=wait or drain, cancel_futures=not drain)

    def __enter__(self) -> EmbeddedScheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queue -----------------------------------------------------------------------------------

    def enqueue(self, run_id: int, *, large: bool | None = None) -> bool:
        """Run this queued run on a worker thread; ``False`` if it is already waiting or running here.
        (``large`` is for a broker's queues: here every run takes the next free thread.)"""
        return self._submit(self._inflight, run_id, self._execute, run_id)

    def enqueue_decision(self, run_id: int, decision: str, admin_id: int | None) -> bool:
        """Apply a requested decision on a worker thread; ``False`` if it is already on its way here."""
        return self._submit(self._deciding, run_id, self._decide, run_id, decision, admin_id)

    def _submit(self, busy: set[int], run_id: int, work: Any, *args: Any) -> bool:
        """Hand ``work(*args)`` to the pool unless ``run_id`` is already in ``busy`` (which it joins
        until the work is done). When the pool is closed the job stays pending in the database,
        and the next scheduler to start hands it out."""
        executor = self._executor
        if executor is None or self._closing:
            return False
        with self._lock:
            if run_id in busy:
                return False
            busy.add(run_id)
        try:
            future: Future[Any] = executor.submit(work, *args)
        except RuntimeError:  # shut down between the check and the submit
            with self._lock:
                busy.discard(run_id)
            return False
        future.add_done_callback(lambda _f: self._release(busy, run_id))
        return True

    def _release(self, busy: set[int], run_id: int) -> None:
        with self._lock:
            busy.discard(run_id)

    def _decide(self, run_id: int, decision: str, admin_id: int | None) -> Any:
        outcome = apply_decision(run_id, decision, admin_id, factory=self.factory)
        if outcome is not None:
            self.outcomes[run_id] = outcome
        return outcome

    def _execute(self, run_id: int) -> Any:
        from hrsync.sync.execute import execute_run

        try:
            outcome = execute_run(run_id, factory=self.factory, worker_id=f"{self.worker_id}:{threading.get_ident()}")
        except Exception:  # the runner records its own failures; this is a last resort for the log
            log.exception("run %s: the embedded worker crashed", run_id)
            raise
        self.outcomes[run_id] = outcome
        return outcome

    def _requeue(self, _now: datetime) -> list[int]:
        with self._lock:
            busy, deciding = set(self._inflight), set(self._deciding)
        runs = requeue_queued_runs(self.factory, self.enqueue, skip=busy)
        return runs + requeue_pending_decisions(self.factory, self.enqueue_decision, skip=deciding)

    @property
    def inflight(self) -> set[int]:
        with self._lock:
            return set(self._inflight)

    def wake(self) -> None:
        """Run a scheduler pass now (tests, or after an administrator edits a schedule)."""
        self.loop.wake()
