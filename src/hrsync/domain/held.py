"""Approving a held plan: keep only the changes that still hold for the members as they are now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Final

from hrsync.domain.plan_types import ChangeKind, CurrentMember, PlannedChange, SyncPlan, member_basis
from hrsync.domain.records import RecordIssue, Severity
from hrsync.domain.vocabulary import MemberStatus, access_until_for, email_key

HELD_CHANGE_SKIPPED: Final = "held_change_skipped"


def recheck_held_plan(plan: SyncPlan, current: Iterable[CurrentMember], today: date | None = None) -> SyncPlan:
    """The part of a held plan that still holds for the members as they are now.

    A plan held for days is approved against a programme that moved on: the close-down deleted
    leavers, pre-hires started, people accepted invitations. A change is applied only if its member
    is still what the plan saw (same :func:`member_basis`; not deleted) and, for a new member, if
    nobody took its employee ID meanwhile. Changes that would then leave two members with one
    employee ID or one address (the other half of a swap was skipped) are skipped too, until none
    is left. Every skipped change becomes a ``held_change_skipped`` warning on the approved run;
    the next import plans those people afresh. Given ``today`` (the approval day), leavers become
    leavers on that day: their window starts when the change is applied, not when it was planned.
    """
    members = {m.id: m for m in current if m.status != MemberStatus.DELETED}
    kept: list[PlannedChange] = []
    warnings: list[RecordIssue] = []

    def skip(change: PlannedChange, why: str) -> None:
        warnings.append(RecordIssue(
            Severity.WARNING, HELD_CHANGE_SKIPPED,
            f"This {change.kind.value} was approved but not applied: {why}. The next import plans it again.",
            None, change.employee_id, None if change.draft is None else change.draft.source_id,
        ))

    holders = {m.employee_id for m in members.values()}
    for change in plan.changes:
        if change.member_id is None:
            if change.employee_id in holders:
                skip(change, "a member with this employee ID was created while the import was held")
                continue
        else:
            member = members.get(change.member_id)
            if member is None:
                skip(change, "the member was deleted while the import was held")
                continue
            if change.basis is not None and member_basis(member) != change.basis:
                skip(change, "the member changed while the import was held")
                continue
        kept.append(change)

    while True:
        clashing = _clashing_claims(kept, members.values())
        if not clashing:
            break
        for change in clashing:
            skip(change, "its employee ID or e-mail address would clash with another member's")
        dropped = {id(c) for c in clashing}
        kept = [c for c in kept if id(c) not in dropped]

    if today is not None:
        kept = [_redated(c, today) for c in kept]
    return SyncPlan(
        changes=kept,
        unchanged_count=plan.unchanged_count,
        issues=[*plan.issues, *warnings],
        source_count=plan.source_count,
        ignored_count=plan.ignored_count,
        excluded_count=plan.excluded_count,
        unchanged_member_ids=plan.unchanged_member_ids,
    )


def _redated(change: PlannedChange, today: date) -> PlannedChange:
    if change.kind != ChangeKind.LEAVER:
        return change
    if change.leaver_since is None or change.access_until is None:  # held before plans carried the dates
        return replace(change, leaver_since=today, access_until=access_until_for(today))
    window = change.access_until - change.leaver_since
    return replace(change, leaver_since=today, access_until=today + window)


def _clashing_claims(changes: list[PlannedChange], members: Iterable[CurrentMember]) -> list[PlannedChange]:
    """Changes that would give an employee ID or an address (without case) to two members."""
    claims: dict[tuple[str, str], list[PlannedChange | None]] = {}
    moving_email = {c.member_id for c in changes if "email" in c.changes}
    moving_id = {c.member_id for c in changes if "employee_id" in c.changes}
    for m in members:
        if m.id not in moving_id:
            claims.setdefault(("id", m.employee_id), []).append(None)  # None: a member keeping it
        if m.id not in moving_email and m.email:
            claims.setdefault(("email", email_key(m.email)), []).append(None)
    for c in changes:
        if c.draft is None:
            continue
        if c.member_id is None or "employee_id" in c.changes:
            claims.setdefault(("id", c.draft.employee_id), []).append(c)
        if c.member_id is None or "email" in c.changes:
            claims.setdefault(("email", c.draft.email_key), []).append(c)
    clashing = {id(c): c for owners in claims.values() if len(owners) > 1 for c in owners if c is not None}
    return list(clashing.values())
