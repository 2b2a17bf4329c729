"""A run's live progress on its row: phase, processed/total and the heartbeat.

Each write is its own short transaction, so the portal can draw a live bar from any process while
the run's own work (and its one apply transaction) goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from hrsync.store.models import ImportRun, RunPhase, RunStatus
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes
HEARTBEAT_INTERVAL = 30.0  # seconds; stale-run recovery waits much longer (see hrsync.jobs)


class Progress:
    """Writes phase, processed/total and the heartbeat on the run row, at most twice a second."""

    _pace: Callable[[], None] | None = None  # see __init__ (a subclass that writes nothing has none)

    def __init__(self, factory: sessionmaker[Session], run_id: int, pace: Callable[[], None] | None = None) -> None:
        self._factory = factory
        self._run_id = run_id
        self._pace = pace  # called at each pause point: a large import gives way there (jobs.give_way)
        # Made right after the claim, which wrote the phase and the heartbeat: the first count waits its
        # interval like the others (a small import then writes no count before its phases; issue 27).
        self._claimed = self._last = time.monotonic()
        self._pending: dict[str, Any] = {}  # a phase not written yet (see :meth:`phase`)
        self._lock = threading.Lock()

    def write(self, *, force: bool = False, **values: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < PROGRESS_INTERVAL:
                return
            self._last = now
            values = {**self._pending, **values}
            self._pending = {}
        with self._factory() as session, session.begin():
            session.execute(
                update(ImportRun)
                .where(ImportRun.id == self._run_id)
                .values(heartbeat_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )

    def phase(self, phase: RunPhase, *, brief: bool = False, **values: Any) -> None:
        """Write the run's new phase now. ``brief``: a phase that is over in a moment when the run is young
        (planning after a read of less than the interval: a few thousand people at most) is not written on
        its own then, but with the next write (the next phase, or the finish's counts). A fleet's thousands
        of small imports each save a transaction (issue 27)."""
        values = {"phase": phase.value, **values}
        if brief:
            with self._lock:
                if time.monotonic() - self._claimed < PROGRESS_INTERVAL:
                    self._pending.update(values)
                    return
        self.write(force=True, **values)

    def fetched(self, processed: int, total: int | None) -> None:
        self.write(processed=processed, total=total)
        self.pause_point()

    def pause_point(self) -> None:
        """A moment of the run that holds nothing (no transaction, no lock): each page boundary of the read,
        and the moment between the plan and its apply. A large import gives way there (jobs.give_way)."""
        if self._pace is not None:
            self._pace()


class NoProgress(Progress):
    """The progress of a read that is no run (a trace explaining one person): nothing is written."""

    def __init__(self) -> None:
        pass

    def write(self, *, force: bool = False, **values: Any) -> None:
        return None

    def phase(self, phase: RunPhase, *, brief: bool = False, **values: Any) -> None:
        return None


class Heartbeat(threading.Thread):
    """Keeps ``heartbeat_at`` fresh while the run works, even through a long wait on the HR system or
    a long apply, so stale-run recovery only ever takes over runs whose worker really died."""

    def __init__(self, factory: sessionmaker[Session], run_id: int) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self._factory = factory
        self._run_id = run_id
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(HEARTBEAT_INTERVAL):
            try:
                with self._factory() as session, session.begin():
                    session.execute(
                        update(ImportRun)
                        .where(ImportRun.id == self._run_id, ImportRun.status == RunStatus.RUNNING.value)
                        .values(heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
            except Exception:
                log.debug("heartbeat of run %s not written", self._run_id, exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
