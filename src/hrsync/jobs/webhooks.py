"""The worker's webhook step: due hints → re-fetch the person with the stored key → a ``webhook`` run.

A delivery is only a hint (the published spec shows no signature): nothing in it is used but the id of
the person (or job) to re-fetch. For each due ``webhook_hint`` row (claimed by deleting it, so two
workers never take the same one):

1. a ``job:<id>`` subject is resolved to its person (``GET /jobs/{id}``); a vanished job is dropped (the
   next scheduled import reconciles);
2. the person is applied as a run with trigger ``webhook``: an ordinary run narrowed to that HR record
   (:mod:`hrsync.sync.one_person`), as a trace's apply is: the person read live (``GET /people/{id}``)
   with the people their outcome depends on, planned against every member by the same planner with the
   integration's scoping rules and transforms, narrowed to that person, braked on that change alone,
   applied in one transaction, recorded in the history, invitations and e-mails queued by the runner;
3. a person intelliHR answers 404 for (deleted, or an id nobody has) follows the vanished-person rule for
   the member holding that HR record (``vanished_are_leavers``: a leaver; otherwise a warning), and
   nobody else.

So a forged or replayed delivery changes nothing a re-fetch would not. A hint whose integration is busy
(another run active) or whose read failed is put back with a later due time, a few times; the scheduled
full import reconciles whatever is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hrsync.errors import RunBlocked, ServiceError
from hrsync.jobs.webhook_cap import full_import_instead, over_cap
from hrsync.sources.base import SourceError
from hrsync.store.enums import RunTrigger
from hrsync.store.models import Integration, IntegrationStatus, WebhookHint, WebhookSubscription
from hrsync.store.types import utcnow
from hrsync.sync.execute import run_one_person
from hrsync.sync.one_person import OnePerson
from hrsync.sync.runs import RunOutcome

log = logging.getLogger(__name__)

BATCH: Final = 50  # hints one pass takes; the rest wait for the next pass (a second later)
MAX_ATTEMPTS: Final = 5  # a hint retried this often is dropped: the scheduled import reconciles
RETRY_AFTER: Final = timedelta(seconds=15)
POLL_SECONDS: Final = 1.0


@dataclass
class HintReport:
    applied: list[int] = field(default_factory=list)  # run ids
    dropped: int = 0
    retried: int = 0
    full_imports: list[int] = field(default_factory=list)  # run ids queued past the cap

    def to_dict(self) -> dict[str, Any]:
        return {"applied": list(self.applied), "dropped": self.dropped, "retried": self.retried,
                "full_imports": list(self.full_imports)}


def apply_hint(factory: sessionmaker[Session], integration_id: int, person_id: str) -> RunOutcome:
    """Re-fetch one person and apply them as a ``webhook`` run: an ordinary run narrowed to that HR record
    (:func:`hrsync.sync.execute.run_one_person`). Raises ``RunBlocked`` while another run of the
    integration is active."""
    return run_one_person(factory, integration_id, OnePerson(record=person_id), trigger=RunTrigger.WEBHOOK)


def _claim(factory: sessionmaker[Session], now: datetime, limit: int) -> list[WebhookHint]:
    with factory() as session:
        due = list(session.scalars(select(WebhookHint).where(WebhookHint.due_at <= now)
                                   .order_by(WebhookHint.due_at, WebhookHint.id).limit(limit)).all())
        session.expunge_all()
    claimed = []
    for hint in due:
        with factory() as session, session.begin():
            gone = session.execute(delete(WebhookHint).where(WebhookHint.id == hint.id)
                                   .execution_options(synchronize_session=False))
        if getattr(gone, "rowcount", 0) == 1:
            claimed.append(hint)
    return claimed


def _put_back(factory: sessionmaker[Session], hint: WebhookHint, now: datetime, why: str) -> bool:
    """Queue the hint again, later; False when it has been tried enough (then it is dropped)."""
    if hint.attempts + 1 >= MAX_ATTEMPTS:
        log.warning("webhook hint %s of integration %s dropped after %s attempts: %s", hint.subject,
                    hint.integration_id, hint.attempts + 1, why)
        _note_error(factory, hint.integration_id, why)
        return False
    try:
        with factory() as session, session.begin():
            session.add(WebhookHint(integration_id=hint.integration_id, subject=hint.subject, event=hint.event,
                                    deliveries=hint.deliveries, received_at=hint.received_at,
                                    due_at=now + RETRY_AFTER * (hint.attempts + 1), attempts=hint.attempts + 1))
    except IntegrityError:  # a new delivery for the person arrived meanwhile: that row will do
        pass
    return True


def _note_error(factory: sessionmaker[Session], integration_id: int, why: str) -> None:
    with factory() as session, session.begin():
        row = session.scalars(select(WebhookSubscription)
                              .where(WebhookSubscription.integration_id == integration_id)).one_or_none()
        if row is not None:
            row.last_error = why[:500]


def _person_of(factory: sessionmaker[Session], integration_id: int, subject: str) -> str | None:
    kind, _, ident = subject.partition(":")
    if kind == "person":
        return ident
    from hrsync.sources.intellihr.source import IntelliHRSource
    from hrsync.sources.intellihr.webhooks import person_of_job
    from hrsync.sources.registry import source_for

    with factory() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return None
        source = source_for(integration, consume=False)
    try:
        if not isinstance(source, IntelliHRSource):
            return None
        return person_of_job(source, ident)
    finally:
        source.close()


def process_due(factory: sessionmaker[Session], now: datetime | None = None, *, limit: int = BATCH) -> HintReport:
    """Take the due hints and apply their people (one run per person, however many deliveries)."""
    now = now or utcnow()
    report = HintReport()
    done: set[tuple[int, str]] = set()
    for hint in _claim(factory, now, limit):
        with factory() as session:
            integration = session.get(Integration, hint.integration_id)
            live = integration is not None and integration.status == IntegrationStatus.LIVE.value
        if not live:
            report.dropped += 1
            continue
        try:
            if over_cap(factory, hint.integration_id, now):  # one full import instead (jobs.webhook_cap)
                report.full_imports += [r for r in [full_import_instead(factory, hint.integration_id, now)] if r]
                report.dropped += 1
                continue
            person_id = _person_of(factory, hint.integration_id, hint.subject)
            if person_id is None or (hint.integration_id, person_id) in done:
                report.dropped += 1
                continue
            done.add((hint.integration_id, person_id))
            outcome = apply_hint(factory, hint.integration_id, person_id)
        except RunBlocked as exc:
            report.retried += _put_back(factory, hint, now, exc.reason)
            continue
        except (SourceError, ServiceError) as exc:
            report.retried += _put_back(factory, hint, now, getattr(exc, "reason", str(exc)))
            continue
        report.applied.append(outcome.id)
    return report


class HintPoller:
    """A light thread that runs :func:`process_due` every :data:`POLL_SECONDS` (a delivery is applied
    within seconds, not at the scheduler's next tick)."""

    def __init__(self, factory: sessionmaker[Session], *, interval: float = POLL_SECONDS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.factory = factory
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HintPoller:
        self._thread = threading.Thread(target=self._run, name="hrsync-webhook-hints", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = process_due(self.factory, self.clock())
                if report.applied or report.retried:
                    log.info("webhook hints: %s", report.to_dict())
            except Exception:  # the next poll tries again; the scheduled import reconciles meanwhile
                log.exception("webhook hints step failed")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
