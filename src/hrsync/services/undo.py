"""Undoing an import, as the portal and the CLI ask for it: what it would do, then do it.

The work is :mod:`hrsync.sync.undo` (events read, reversal planned, brake, the import's writer); this
module gives the pages and the command one function each and owns the transaction: an undo reads no
HR system, so it runs in the request, in **one** transaction, and is committed here. One held for
approval by the mass-change brake is approved or rejected like any held import
(:func:`hrsync.services.imports.approve`, queued to a worker).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hrsync.errors import RunBlocked, RunNotFound, ServiceError
from hrsync.store.models import AdminUser, ImportRun
from hrsync.sync.runs import RunOutcome
from hrsync.sync.undo import UNDO_WINDOW, preview_undo, undo_refusal, undo_run, undo_summary

__all__ = ["INVITATIONS_NOTE", "RunBlocked", "RunNotFound", "ServiceError", "UndoPreview", "can_undo", "undo",
           "undo_preview", "why_not_undoable"]

INVITATIONS_NOTE = "Invitations already sent are not recalled: a member made a leaver by the undo keeps the e-mail."


@dataclass(frozen=True)
class UndoPreview:
    """What undoing a run would do now: the confirmation page and ``hrsync run undo --dry-run``."""

    run_id: int
    restored: int  # members whose values go back to what they were before the run
    reinstated: int  # the run's leavers back to their status before
    leavers: int  # the run's new members (and the members it reinstated) made leavers
    skipped: int  # changed since the run: left as they are, named as warnings
    held: bool  # the brake would hold the undo for approval
    held_reason: str | None
    skipped_examples: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"run_id": self.run_id, "restored": self.restored, "reinstated": self.reinstated,
                "leavers": self.leavers, "skipped": self.skipped, "held": self.held,
                "held_reason": self.held_reason, "skipped_examples": list(self.skipped_examples),
                "note": INVITATIONS_NOTE}


def why_not_undoable(session: Session, run: ImportRun) -> str | None:
    """Why this run cannot be undone (shown instead of the button), or ``None``."""
    return undo_refusal(session, run)


def can_undo(session: Session, run: ImportRun) -> bool:
    return undo_refusal(session, run) is None


def undo_preview(session: Session, run: ImportRun | int, *, programme_id: int | None = None) -> UndoPreview:
    """Plan the undo without writing (the transaction is rolled back). Raises ``ServiceError``."""
    run_id = run if isinstance(run, int) else run.id
    try:
        reversal = preview_undo(session, run_id, programme_id=programme_id)
        summary = undo_summary(reversal)
        examples = tuple(
            f"{i.employee_id or '(no employee ID)'}: {i.message}" for i in reversal.skipped[:10]
        )
        return UndoPreview(run_id, summary["restored"], summary["reinstated"], summary["leavers"],
                           summary["skipped"], reversal.brake.hold, reversal.brake.reason, examples)
    finally:
        session.rollback()  # the row lock taken to check the run is released


def undo(session: Session, run: ImportRun | int, actor: AdminUser | None = None, *,
         programme_id: int | None = None) -> RunOutcome:
    """Undo the run now, as a new run, and commit. Raises ``ServiceError`` (``not_undoable``,
    ``run_not_found``) or ``RunBlocked``; nothing is written then."""
    run_id = run if isinstance(run, int) else run.id
    try:
        outcome = undo_run(session, run_id, admin_id=actor.id if actor else None, programme_id=programme_id)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return outcome


UNDO_WINDOW_DAYS = UNDO_WINDOW.days
