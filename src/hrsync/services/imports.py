"""Imports as the portal, the API and the CLI start and decide them: queued, never run in a request.

* :func:`start` queues a run (or a dry run), logs who asked, **commits**, then hands the run id to
  whatever executes runs here (:func:`hrsync.jobs.enqueue.enqueue_run`: Celery, the embedded
  worker, or the database for the next scheduler pass). A worker must never receive an id it
  cannot see yet, hence the commit first.
* :func:`preview` is the setup wizard's dry run: the same, started by an administrator, with the
  ``preview`` trigger; it replaces the integration's previous finished preview (one per review).
* :func:`approve` and :func:`reject` record the decision on a held run and queue it; a worker
  applies it (:mod:`hrsync.jobs.decisions`). Until then the run stays ``held`` with the decision
  pending (:func:`decision_pending`), and its progress reads as waiting for a worker.

The runner's names used by the web and CLI (its errors, the run lookup, the active run, and for the
CLI's foreground commands ``request_run``, ``execute_run``, ``approve_run``, ``reject_run``) are
re-exported here, so callers above the services never import the runner themselves.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hrsync.domain.failures import failure
from hrsync.jobs.decisions import PendingDecision, pending_decision, request_decision
from hrsync.services import activity
from hrsync.services.errors import RunBlocked, RunNotFound
from hrsync.services.exports import issues_csv_lines
from hrsync.services.queries import RunProgress, active_run, run_in_programme, run_progress
from hrsync.sources.registry import REGISTRY, account_of, display_name
from hrsync.store.enums import RunPhase, RunStatus, RunTrigger
from hrsync.store.models import AdminUser, ImportRun, Integration
from hrsync.sync.decisions import approve_run, reject_run
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import RunOutcome, discard_previews, request_run

log = logging.getLogger(__name__)

__all__ = [
    "FailureAdvice", "RunBlocked", "RunNotFound", "RunOutcome", "active_run", "approve", "approve_run",
    "decision_pending", "execute_run", "failure_advice", "issues_csv_lines", "preview", "progress_of", "reject",
    "reject_run", "request_run", "run_in_programme", "source_address", "source_name", "source_place", "start",
]


def start(
    session: Session,
    integration: Integration,
    actor: AdminUser | None,
    trigger: str,
    dry_run: bool = False,
    *,
    via: str | None = None,
) -> ImportRun:
    """Queue, log, commit and dispatch a run. Raises ``RunBlocked`` or ``ServiceError`` unchanged."""
    run = request_run(
        session, integration.id, trigger=trigger, triggered_by_id=actor.id if actor else None, dry_run=dry_run
    )
    detail: dict[str, object] = {"run_id": run.id, "dry_run": dry_run}
    if via:
        detail["via"] = via
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None,
                    action="previewed" if trigger == RunTrigger.PREVIEW.value else "imported_now", detail=detail)
    session.commit()
    _dispatch_run(run.id)
    return run


def preview(session: Session, integration: Integration, actor: AdminUser) -> ImportRun:
    """The wizard's preview: a queued dry run; its page follows the progress like an import's.

    The previous finished preview (and its issues) is deleted in the same transaction, so the
    history holds one preview per review; if the new one is refused, nothing is deleted.
    """
    discard_previews(session, integration.id)
    return start(session, integration, actor, RunTrigger.PREVIEW.value, dry_run=True)


def _dispatch_run(run_id: int) -> str:
    from hrsync.jobs.enqueue import enqueue_run

    destination = enqueue_run(run_id)
    log.info("run %s handed to %s", run_id, destination)
    return destination


def _decide(session: Session, run: ImportRun, decision: str, actor: AdminUser | None) -> ImportRun:
    from hrsync.jobs.enqueue import enqueue_decision

    pending = request_decision(session, run, decision, actor.id if actor else None)
    session.commit()
    destination = enqueue_decision(pending.run_id, pending.decision, pending.admin_id)
    log.info("%s of run %s handed to %s", decision, run.id, destination)
    return run


def approve(session: Session, run: ImportRun, actor: AdminUser | None = None) -> ImportRun:
    """Ask a worker to apply a held run's plan. Raises ``ServiceError`` (``state``) if not held."""
    return _decide(session, run, "approve", actor)


def reject(session: Session, run: ImportRun, actor: AdminUser | None = None) -> ImportRun:
    """Ask a worker to discard a held run's plan. Raises ``ServiceError`` (``state``) if not held."""
    return _decide(session, run, "reject", actor)


def decision_pending(session: Session, run: ImportRun) -> PendingDecision | None:
    """The approval or rejection asked for on this held run and not applied yet, if any."""
    return pending_decision(session, run)


def progress_of(session: Session, run: ImportRun) -> RunProgress:
    """The run's progress; a held run whose decision is on its way reads as waiting for a worker."""
    progress = run_progress(run)
    if progress.held and decision_pending(session, run) is not None:
        return dataclasses.replace(progress, held=False, phase=RunPhase.QUEUED.value, percent=0, count_text="")
    return progress


# ------------------------------------------------------------------------------------------------
# why a run failed, and what to do about it
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureAdvice:
    """A failed run's code (``hrsync.domain.failures``), its kind, and advice naming the source."""

    code: str | None
    kind: str
    advice: str

    def line(self, reason: str | None) -> str:
        """One line for the CLI: ``failed (bad_key): <reason> — <advice>``."""
        text = f"failed ({self.code or 'internal'})"
        if reason:
            text += f": {reason}"
        return f"{text} — {self.advice}" if self.advice else text


def source_name(integration: Integration) -> str:
    """The source's display name, or its kind when the registry does not know it."""
    return display_name(integration.kind)


def source_address(integration: Integration) -> str | None:
    """Where the integration's data comes from, as people recognise it: a URL (``https://`` and the
    kind's tenant address) or a folder."""
    kind = REGISTRY.get(integration.kind)
    address = kind.tenant_address(integration) if kind is not None else None
    if address and (address.startswith("/") or "://" in address):  # a folder, or a whole URL (SCIM's)
        return address
    return f"https://{address}" if address else None


def source_place(integration: Integration) -> str | None:
    """Where the integration's data comes from, for a card or a list: the address without ``https://``, or
    the kind's plain words where the address is a server path (a folder is for its settings page only)."""
    kind = REGISTRY.get(integration.kind)
    if kind is not None and kind.place is not None:
        return kind.place(integration)
    address = source_address(integration)
    return address.removeprefix("https://") if address else None


def source_account(integration: Integration) -> str | None:
    """The external account the integration reads ("acme"), as its kind names it; None when none."""
    return account_of(integration)


def failure_advice(run: ImportRun, integration: Integration | None = None) -> FailureAdvice | None:
    """What the pages, the API and the CLI say about a failed run; ``None`` unless it failed."""
    if run.status != RunStatus.FAILED.value:
        return None
    row = failure(run.failure_code)
    integration = integration or run.integration
    return FailureAdvice(code=run.failure_code, kind=str(row.kind),
                         advice=row.advice_for(source_name(integration)))

