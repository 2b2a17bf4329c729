"""The at-most-daily summary e-mail of a push door's (SCIM's) changes (docs/scim.md, "Summary e-mail").

A SCIM integration has no import to report on: its identity provider's writes are counted in one
history entry per hour (:mod:`hrsync.services.scim_members`). Once a day at most, the scheduler's
pass (:class:`hrsync.jobs.loop.PeriodicLoop`, in embedded mode and beside Celery workers alike) sends
the administrator who set the integration up (else the programme's owners, as for imports) what
those entries counted since the last summary: created, updated, deactivated (leavers), reinstated,
refused requests, and the deactivations held for approval.

The period is made of whole hours: it runs from where the last summary ended
(``integration.summary_until``; the publication for the first) to the start of the current hour, so
an hour still being written is reported the next time, never twice. Nothing is sent when nothing
happened. ``integration.summary_sent_at`` is read and written under the integration's row lock
(:func:`hrsync.store.locks.hold_row`): two schedulers, or one restarted, send one summary per 24
hours; the outbox key names the period too, so a retried pass cannot queue it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain.vocabulary import programme_zone
from hrsync.notify import links
from hrsync.notify.outbox import queue_rendered
from hrsync.notify.run_emails import recipients_of, source_name
from hrsync.sources.registry import REGISTRY
from hrsync.store.locks import hold_row
from hrsync.store.models import ImportRun, Integration, IntegrationStatus, Programme, RunStatus, RunTrigger

log = logging.getLogger(__name__)

EMAIL_KIND = "scim_summary"
EVERY = timedelta(hours=24)  # at most one summary per integration in this time
_HOURLY = (RunStatus.SUCCEEDED.value, RunStatus.SUCCEEDED_WITH_ERRORS.value)


@dataclass(frozen=True)
class SummaryCounts:
    created: int = 0
    updated: int = 0
    leavers: int = 0
    reinstated: int = 0
    refused: int = 0
    held: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.leavers + self.reinstated + self.refused + self.held

    def lines(self) -> list[tuple[str, int]]:
        return [("Created", self.created), ("Updated", self.updated), ("Deactivated (leavers)", self.leavers),
                ("Reinstated", self.reinstated), ("Refused requests", self.refused),
                ("Deactivations held for approval", self.held)]


def push_kinds() -> list[str]:
    return [kind.kind for kind in REGISTRY.values() if kind.can("push")]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def counts_between(session: Session, integration_id: int, since: datetime | None, until: datetime) -> SummaryCounts:
    """What the integration's SCIM history entries counted in ``[since, until)``: the hourly entries'
    counts, and the deactivations in the held runs (a held run has a plan; an hourly entry none)."""
    query = select(ImportRun).where(ImportRun.integration_id == integration_id,
                                    ImportRun.trigger == RunTrigger.SCIM.value, ImportRun.created_at < until)
    if since is not None:
        query = query.where(ImportRun.created_at >= since)
    totals = dict.fromkeys(("created", "updated", "leavers", "reinstated", "refused", "held"), 0)
    for run in session.scalars(query):
        if run.plan is not None:
            totals["held"] += run.leavers or 0
        elif run.status in _HOURLY:
            for key in ("created", "updated", "leavers", "reinstated"):
                totals[key] += getattr(run, key) or 0
            totals["refused"] += run.errors or 0
    return SummaryCounts(**totals)


def _due(integration: Integration, now: datetime) -> bool:
    return integration.summary_sent_at is None or integration.summary_sent_at <= now - EVERY


def _queue(session: Session, integration: Integration, counts: SummaryCounts, since: datetime,
           until: datetime) -> int:
    programme = session.get_one(Programme, integration.programme_id)
    zone = programme_zone(programme.timezone)
    label = (integration.settings or {}).get("label")
    held = session.scalar(select(ImportRun.id).where(
        ImportRun.integration_id == integration.id, ImportRun.trigger == RunTrigger.SCIM.value,
        ImportRun.status == RunStatus.HELD.value))
    context: dict[str, Any] = {
        "programme_name": programme.name,
        "date_format": integration.date_format or programme.date_format,
        "integration_name": source_name(integration) + (f" ({label})" if label else ""),
        "since": since.astimezone(zone), "until": until.astimezone(zone), "timezone": programme.timezone,
        "lines": counts.lines(), "refused": counts.refused, "held": counts.held,
        "changed": counts.created + counts.updated + counts.leavers + counts.reinstated,
        "link": links.absolute(f"/integrations/{integration.id}/runs"),
        "held_link": links.run_url(integration.id, held) if held is not None else None,
    }
    queued = 0
    for admin in recipients_of(session, integration).admins:
        if not admin.email:
            continue
        row = queue_rendered(session, EMAIL_KIND, context, programme_id=programme.id, to=admin.email,
                             dedup_key=f"{EMAIL_KIND}:{integration.id}:{until:%Y%m%d%H}:admin{admin.id}")
        queued += row is not None
    return queued


#: Integrations this process found quiet, and up to which hour. Hours before ``until`` are finished (the
#: hourly entries of past hours no longer grow), so a quiet answer holds until the next hour begins: the
#: scheduler's pass, every few seconds, does not count a fleet of quiet SCIM integrations again each time.
_quiet_until: dict[tuple[str, int], datetime] = {}


def send_due_summaries(factory: sessionmaker[Session], now: datetime) -> dict[str, int]:
    """Queue the summary of every push integration that is due one and had changes; each in its own
    transaction, holding the integration's row while it decides (the scheduler's step)."""
    cutoff = now - EVERY
    with factory() as session:
        ids = list(session.scalars(select(Integration.id).where(
            Integration.kind.in_(push_kinds()), Integration.status != IntegrationStatus.DRAFT.value,
            or_(Integration.summary_sent_at.is_(None), Integration.summary_sent_at <= cutoff))
            .order_by(Integration.id)))
    sent = quiet = 0
    until = hour_of(now)
    database = str(getattr(factory.kw.get("bind"), "url", ""))  # ids are per database
    for integration_id in ids:
        if _quiet_until.get((database, integration_id)) == until:  # found quiet up to this hour: still quiet
            quiet += 1
            continue
        with factory() as session:  # a quiet integration is passed over without taking its row
            since = session.scalar(select(Integration.summary_until).where(Integration.id == integration_id))
            if counts_between(session, integration_id, since, until).total == 0:
                _quiet_until[(database, integration_id)] = until
                quiet += 1
                continue
        with factory.begin() as session:
            integration = hold_row(session, Integration, integration_id)
            if integration is None or not _due(integration, now):
                continue  # another scheduler sent it meanwhile
            since = integration.summary_until
            counts = counts_between(session, integration.id, since, until)
            if counts.total == 0:
                quiet += 1
                continue  # nothing happened: nothing sent, the period goes on
            start = since or integration.published_at or integration.created_at
            if _queue(session, integration, counts, start, until):
                integration.summary_sent_at = now
                integration.summary_until = until
                sent += 1
            else:
                log.warning("integration %s: no administrator to send the SCIM summary to", integration.id)
    return {"sent": sent, "nothing_to_say": quiet}
