"""The members of a programme as stored, in the shape the planner compares people against."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain import CurrentMember, MemberStatus
from hrsync.store.models import Member


def current_members(session: Session, programme_id: int) -> list[CurrentMember]:
    """Every member that is not a deleted tombstone, with the fields the planner diffs."""
    rows = session.execute(
        select(
            Member.id, Member.employee_id, Member.email, Member.status, Member.first_name,
            Member.last_name, Member.attributes, Member.source_id, Member.leaver_since,
        ).where(Member.programme_id == programme_id, Member.status != MemberStatus.DELETED.value)
    )
    members = []
    for mid, emp, email, status, first, last, attrs, source_id, leaver_since in rows:
        values: dict[str, str | None] = dict(attrs or {})
        values["first_name"] = first
        values["last_name"] = last
        members.append(
            CurrentMember(
                id=mid, employee_id=emp or "", email=email or "", status=MemberStatus(status),
                values=values, source_id=source_id, leaver_since=leaver_since,
            )
        )
    return members
