"""Quarantined integrations, as the portal and the CLI see and lift them (issue 16, decision 0030).

The transitions themselves happen where a run ends (:func:`hrsync.sync.finish.record_health`): after
``HRSYNC_QUARANTINE_AFTER`` configuration failures in a row a live integration is quarantined, and
any import that reads the source lifts it. This module adds what people do about it:

* :func:`retry_now`: the "Retry now" button and ``hrsync integration retry ID``; one import is
  queued at once (and handed to a worker); the quarantine ends if it succeeds, or stays with the
  new failure shown;
* :func:`lift_on_reauthorize`: re-authorizing (a new key) lifts it at once;
* :func:`quarantine_of`: what the banner says (since when, why, what to do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.failures import failure
from hrsync.services import activity
from hrsync.services.errors import ServiceError
from hrsync.services.imports import source_name, start
from hrsync.store.enums import RunStatus, RunTrigger
from hrsync.store.models import AdminUser, ImportRun, Integration
from hrsync.sync.finish import HEALTH_TRIGGERS, lift_quarantine

__all__ = ["Quarantine", "lift_on_reauthorize", "quarantine_of", "retry_now"]

RETRY_ACTION = "quarantine_retry"
NOT_QUARANTINED = "This integration is not quarantined: use Import data now to import."


@dataclass(frozen=True)
class Quarantine:
    """What the banner says about a quarantined integration: since when, after how many failures,
    and the newest failed import's reason and advice (a failed retry shows its own)."""

    since: datetime
    failures: int
    run_id: int | None
    run_number: int | None
    reason: str | None
    advice: str


def _newest_failure(session: Session, integration: Integration) -> ImportRun | None:
    return session.scalar(
        select(ImportRun)
        .where(ImportRun.integration_id == integration.id, ImportRun.status == RunStatus.FAILED.value,
               ImportRun.dry_run.is_(False), ImportRun.trigger.in_(sorted(HEALTH_TRIGGERS)))
        .order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
        .limit(1)
    )


def quarantine_of(session: Session, integration: Integration) -> Quarantine | None:
    """The integration's quarantine, or ``None`` when its scheduled imports run normally."""
    if integration.quarantined_at is None:
        return None
    run = _newest_failure(session, integration)
    row = failure(run.failure_code if run is not None else None)
    return Quarantine(
        since=integration.quarantined_at,
        failures=integration.consecutive_config_failures,
        run_id=run.id if run is not None else None,
        run_number=run.history_number if run is not None else None,
        reason=run.reason if run is not None else None,
        advice=row.advice_for(source_name(integration)),
    )


def retry_now(
    session: Session,
    integration: Integration,
    actor: AdminUser | None,
    *,
    trigger: str = RunTrigger.MANUAL.value,
    dispatch: bool = True,
) -> ImportRun:
    """Queue one import of a quarantined integration now, logged as a retry, and commit.

    ``dispatch`` hands it to a worker (the portal); the CLI passes ``False`` and runs it in the
    foreground. Raises ``ServiceError`` (``not_quarantined``) when there is nothing to retry, and
    ``RunBlocked`` or ``ServiceError`` as any import would (another run active, no access).
    """
    if integration.quarantined_at is None:
        raise ServiceError(NOT_QUARANTINED, code="not_quarantined")
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action=RETRY_ACTION)
    if dispatch:
        return start(session, integration, actor, trigger, via="retry_now")
    from hrsync.sync.runs import request_run

    run = request_run(session, integration.id, trigger=trigger, triggered_by_id=actor.id if actor else None)
    session.commit()
    return run


def lift_on_reauthorize(session: Session, integration: Integration, actor: AdminUser | None) -> bool:
    """A new key (or account) was authorized: the quarantine ends and scheduled imports resume."""
    return lift_quarantine(session, integration, admin_id=actor.id if actor else None, how="reauthorized")
