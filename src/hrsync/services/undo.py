"""Undoing an import, as the portal and the CLI ask for it: what it would do, then do it.

The work is :mod:`hrsync.sync.undo` (events read, reversal planned, brake, the import's writer); this
module gives the pages and the command one function each and owns the transaction: an undo reads no
HR system, so it runs in the request, in **one** transaction, and is committed here. One held for
approval by the mass-change brake is approved or rejected like any held import
(:func:`hrsync.services.imports.approve`, queued to a worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain import ChangeKind, PlannedChange
from hrsync.domain.display import member_name
from hrsync.errors import RunBlocked, RunNotFound, ServiceError
from hrsync.store.models import AdminUser, ImportRun, Member
from hrsync.sync.runs import RunOutcome
from hrsync.sync.undo import UNDO_WINDOW, preview_undo, undo_refusal, undo_run, undo_summary

__all__ = ["INVITATIONS_NOTE", "RunBlocked", "RunNotFound", "ServiceError", "UndoPreview", "can_undo", "undo",
           "undo_preview", "why_not_undoable"]

INVITATIONS_NOTE = ("Invitations still waiting to be sent are cancelled; those already sent are not recalled: "
                    "a member made a leaver by the undo keeps the e-mail.")
#: How many people the confirmation names in each group before "and K more".
NAMES_SHOWN = 8
_GROUPS = {ChangeKind.UPDATE: "restored", ChangeKind.REINSTATE: "reinstated", ChangeKind.LEAVER: "leavers"}


@dataclass(frozen=True)
class Named:
    """Who is in one group of the confirmation: the first names and how many more there are."""

    names: tuple[str, ...] = ()
    more: int = 0

    @property
    def sentence(self) -> str:
        """"Lo Martin, Amelia Brown and 3 more"; "" for nobody."""
        if not self.names:
            return ""
        if self.more:
            return f"{', '.join(self.names)} and {self.more:,} more"
        if len(self.names) == 1:
            return self.names[0]
        return f"{', '.join(self.names[:-1])} and {self.names[-1]}"


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
    people: dict[str, Named] = field(default_factory=dict)  # restored / reinstated / leavers -> who

    def who(self, group: str) -> str:
        return self.people[group].sentence if group in self.people else ""

    def to_json(self) -> dict[str, object]:
        return {"run_id": self.run_id, "restored": self.restored, "reinstated": self.reinstated,
                "leavers": self.leavers, "skipped": self.skipped, "held": self.held,
                "held_reason": self.held_reason, "skipped_examples": list(self.skipped_examples),
                "note": INVITATIONS_NOTE,
                "people": {k: {"names": list(v.names), "more": v.more} for k, v in self.people.items()}}


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
            f"{i.person_name + ' · ' if i.person_name else ''}employee ID {i.employee_id or '(none)'}: {i.message}"
            for i in reversal.skipped[:10]
        )
        return UndoPreview(run_id, summary["restored"], summary["reinstated"], summary["leavers"],
                           summary["skipped"], reversal.brake.hold, reversal.brake.reason, examples,
                           _people(session, reversal.plan.changes))
    finally:
        session.rollback()  # the row lock taken to check the run is released


def _people(session: Session, changes: list[PlannedChange]) -> dict[str, Named]:
    """The first :data:`NAMES_SHOWN` people of each group, by the names the portal shows them by."""
    groups: dict[str, list[int]] = {}
    for change in changes:
        group = _GROUPS.get(change.kind)
        if group is not None and change.member_id is not None:
            groups.setdefault(group, []).append(change.member_id)
    shown = {i for ids in groups.values() for i in ids[:NAMES_SHOWN]}
    rows = session.execute(select(Member.id, Member.first_name, Member.last_name, Member.attributes, Member.status)
                           .where(Member.id.in_(shown))).all() if shown else []
    names = {r.id: member_name(r.first_name, r.last_name, r.attributes, deleted=r.status == "deleted") for r in rows}
    return {group: Named(tuple(names[i] for i in ids[:NAMES_SHOWN] if i in names), max(0, len(ids) - NAMES_SHOWN))
            for group, ids in groups.items()}


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
