"""What the e-mail after an import says: summary, failure or hold, and to whom it goes.

Pure content: :func:`run_email` reads the run, its integration and programme and returns the
template kind, the recipients and the template context; :func:`hrsync.notify.outbox.queue_run_summary`
queues it. A failed run's advice comes from the failure table (:mod:`hrsync.domain.failures`) by
the run's ``failure_code``, worded for the integration's source kind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.failures import FailureKind, failure
from hrsync.domain.vocabulary import COUNT_KEYS, programme_zone
from hrsync.notify import links
from hrsync.sources.registry import display_name, integration_label
from hrsync.store.enums import AdminRole, RunTrigger
from hrsync.store.models import AdminUser, ImportRun, Integration, Programme, RunStatus

log = logging.getLogger(__name__)

#: The counts the e-mail lists as outcomes (errors and warnings have their own lines), and labels
#: that are not just the capitalised key.
_OUTCOME_KEYS: Final = tuple(k for k in COUNT_KEYS if k not in ("errors", "warnings"))
_LABELS: Final = {"pending": "Pre-hires (pending)"}
#: The outcomes that change an account.
_AFFECTING: Final = tuple(k for k in _OUTCOME_KEYS if k != "unchanged")

_KIND_BY_STATUS: Final = {
    RunStatus.SUCCEEDED.value: "run_summary",
    RunStatus.SUCCEEDED_WITH_ERRORS.value: "run_summary",
    RunStatus.FAILED.value: "run_failed",
    RunStatus.HELD.value: "run_held",
}

#: Runs of one person (a webhook delivery, a trace applied from the portal) happen many times a day
#: or in front of the administrator: an e-mail for each would bury the ones that matter. Only a held
#: one is e-mailed (the brake needs a decision); a failure is reported by the next scheduled import.
_ONE_PERSON_TRIGGERS: Final = frozenset({RunTrigger.WEBHOOK.value, RunTrigger.SINGLE.value})

#: What the kind of a failure means for the administrator reading the e-mail.
_KIND_NOTES: Final = {
    FailureKind.CONFIGURATION: "This needs a change by an administrator: until then every import fails the same way.",
    FailureKind.TRANSIENT: "This usually fixes itself.",
    FailureKind.INTERNAL: "This was a problem in hrsync itself, not in the integration's settings.",
}


class Addressee(NamedTuple):
    admin_id: int
    email: str


@dataclass(frozen=True, slots=True)
class RunEmail:
    kind: str  # the template: run_summary, run_failed or run_held
    to: tuple[Addressee, ...]  # one e-mail to each
    programme_id: int
    context: dict[str, Any]


def source_name(integration: Integration) -> str:
    """The display name of the integration's source kind, from the source registry; its stored kind if unknown."""
    return display_name(integration.kind)


def failed_run_action(failure_code: str | None, source: str) -> str:
    """What an administrator should do about a failed run: the failure table's advice for its code.

    Runs recorded before failure codes existed (``None``) get the advice for an internal failure.
    """
    return failure(failure_code).advice_for(source)


def failure_kind_note(failure_code: str | None) -> str:
    """One sentence on the kind of failure (settings to change, temporary, or hrsync's own)."""
    return _KIND_NOTES[failure(failure_code).kind]


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who receives an integration's import e-mails, and why (the pages say it in words).

    ``admins`` is the administrator who set the integration up while they are active; otherwise
    the programme's active owners, with ``instead_of`` naming who was passed over (``None`` when
    that administrator's account no longer exists).
    """

    admins: tuple[AdminUser, ...]
    fallback: bool = False
    instead_of: AdminUser | None = None


def active_owners(session: Session, programme_id: int) -> list[AdminUser]:
    """The programme's active owners (invited ones who have not accepted yet included), by e-mail."""
    return list(session.scalars(
        select(AdminUser)
        .where(AdminUser.programme_id == programme_id, AdminUser.is_active.is_(True),
               AdminUser.role == AdminRole.OWNER.value)
        .order_by(AdminUser.email_lower, AdminUser.id)
    ))


def recipients_of(session: Session, integration: Integration) -> Recipients:
    """The administrator who set ``integration`` up while active, else the programme's active owners."""
    creator = session.get(AdminUser, integration.owner_id) if integration.owner_id is not None else None
    if creator is not None and creator.is_active and creator.programme_id == integration.programme_id:
        return Recipients((creator,))
    return Recipients(tuple(active_owners(session, integration.programme_id)), fallback=True, instead_of=creator)


def integration_recipients(session: Session, integration: Integration) -> list[AdminUser]:
    """Who receives an integration's run summaries and held-run e-mails (see :func:`recipients_of`).

    Re-exported as :func:`hrsync.services.admins.integration_recipients`; it lives here, below the
    services, because the e-mail code that calls it may not import upwards.
    """
    return list(recipients_of(session, integration).admins)


def run_summary_recipients(session: Session, run: ImportRun) -> list[AdminUser]:
    """The integration's recipients; if there are none (a programme without an active owner, which
    the last-owner rule prevents), the administrator who started the run while active."""
    integration = session.get(Integration, run.integration_id)
    admins = integration_recipients(session, integration) if integration is not None else []
    if not admins and run.triggered_by_id is not None:
        starter = session.get(AdminUser, run.triggered_by_id)
        if starter is not None and starter.is_active:
            admins = [starter]
    return [admin for admin in admins if admin.email]


def _count(run: ImportRun, key: str) -> int:
    return int(getattr(run, key) or 0)


def run_email(session: Session, run: ImportRun) -> RunEmail | None:
    """The e-mail that follows a run, chosen by its status; ``None`` when the run gets none.

    Dry runs and runs that are not finished (queued, running) or were decided by a person
    (rejected, expired) get nothing, nor does a run nobody can be told about.
    """
    kind = _KIND_BY_STATUS.get(run.status)
    if kind is None or run.dry_run:
        return None
    if run.trigger in _ONE_PERSON_TRIGGERS and kind != "run_held":
        return None  # one person's change: only a held one needs someone (see _ONE_PERSON_TRIGGERS)
    admins = run_summary_recipients(session, run)
    if not admins:
        log.warning("run %s: no administrator to tell about it", run.id)
        return None
    programme = session.get(Programme, run.programme_id)
    integration = session.get(Integration, run.integration_id)
    if programme is None or integration is None:
        return None
    finished = run.finished_at or run.created_at
    source = source_name(integration)
    context = {
        "programme_name": programme.name,
        "date_format": integration.date_format or programme.date_format,
        "integration_name": source,
        # names the integration in the subject: two integrations' e-mails never read alike
        "integration_label": integration_label(integration),
        # the number in this integration's own history (#1, #2, …), as the portal shows it
        "run_number": run.history_number,
        "outcomes": [(_LABELS.get(key, key.capitalize()), _count(run, key)) for key in _OUTCOME_KEYS],
        "affected": sum(_count(run, key) for key in _AFFECTING),
        "errors": _count(run, "errors"),
        "warnings": _count(run, "warnings"),
        "link": links.run_url(integration.id, run.id),
        "finished_at": finished.astimezone(programme_zone(programme.timezone)).date() if finished else None,
        "reason": run.reason or ("The import was stopped." if kind == "run_failed" else "A safeguard tripped."),
        "action": failed_run_action(run.failure_code, source),
        "failure_note": failure_kind_note(run.failure_code),
    }
    return RunEmail(kind, tuple(Addressee(admin.id, admin.email) for admin in admins), programme.id, context)
