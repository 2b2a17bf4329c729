"""The members of a programme as stored, in the shape the planner compares people against.

An import holds every member, so it holds them **compact** (:func:`compact_members`): the keys, the
status and the fingerprint, without values (:data:`~hrsync.domain.plan_types.NOT_LOADED`). Values are
loaded afterwards (:func:`with_values`) only for the members whose person was not settled by
fingerprint, by id in chunks. :func:`current_members` loads everyone with values at once (approving a
held plan re-checks members that way).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain import CurrentMember, MemberStatus
from hrsync.domain.plan_types import NOT_LOADED
from hrsync.sources.registry import REGISTRY
from hrsync.store.bulk import plain_rows
from hrsync.store.models import Integration, Member, MemberDoor
from hrsync.store.types import IN_CHUNK

_MEMBER = Member.__table__
_STATUS = {status.value: status for status in MemberStatus}  # a dict look-up, not an Enum call per member


def _values(first: str | None, last: str | None, attributes: dict[str, Any] | None) -> dict[str, str | None]:
    values: dict[str, str | None] = dict(attributes or {})
    values["first_name"] = first
    values["last_name"] = last
    return values


MANUAL_DOOR = "the administrators (added by hand)"
DELETED_DOOR = "an integration that was deleted"


def door_names(session: Session, programme_id: int) -> dict[int, str]:
    """Integration id → how people are told which door owns a member ("the <kind name> integration #3")."""
    rows = session.execute(select(Integration.id, Integration.kind).where(Integration.programme_id == programme_id))
    return {iid: door_name(iid, kind) for iid, kind in rows}


def door_name(integration_id: int, kind: str) -> str:
    found = REGISTRY.get(kind)
    return f"the {found.display_name if found else kind} integration #{integration_id}"


class _Owners:
    """Who owns a member, as seen by the import of ``integration_id`` (None: that import)."""

    def __init__(self, session: Session, programme_id: int, integration_id: int) -> None:
        self.integration_id = integration_id
        self._session = session
        self._programme_id = programme_id
        self._names: dict[int, str] | None = None

    @property
    def names(self) -> dict[int, str]:
        """The programme's doors, read when a member of another door first needs naming (a programme
        fed by one integration never does: its imports then skip the query)."""
        if self._names is None:
            self._names = door_names(self._session, self._programme_id)
        return self._names

    def __call__(self, door: str | None, owner_id: int | None) -> str | None:
        if door == MemberDoor.MANUAL.value:
            return MANUAL_DOOR
        if owner_id == self.integration_id:
            return None
        return DELETED_DOOR if owner_id is None else self.names.get(owner_id, DELETED_DOOR)


def current_members(session: Session, programme_id: int, integration_id: int) -> list[CurrentMember]:
    """Every member that is not a deleted tombstone, with the fields the planner diffs, in one query;
    the members ``integration_id`` does not own come with their owner."""
    owner = _Owners(session, programme_id, integration_id)
    rows = session.execute(
        select(
            Member.id, Member.employee_id, Member.email, Member.status, Member.first_name,
            Member.last_name, Member.attributes, Member.source_id, Member.leaver_since, Member.fingerprint,
            Member.door, Member.integration_id,
        ).where(Member.programme_id == programme_id, Member.status != MemberStatus.DELETED.value)
    )
    return [
        CurrentMember(
            id=mid, employee_id=emp or "", email=email or "", status=MemberStatus(status),
            values=_values(first, last, attrs), source_id=source_id, leaver_since=leaver_since,
            fingerprint=fingerprint, owner=owner(door, owner_id),
        )
        for mid, emp, email, status, first, last, attrs, source_id, leaver_since, fingerprint, door, owner_id in rows
    ]


def compact_members(
    session: Session, programme_id: int, integration_id: int, reuse: dict[int, CurrentMember] | None = None
) -> list[CurrentMember]:
    """Every member that is not a deleted tombstone, without values; the members ``integration_id``
    does not own come with their owner.

    ``reuse`` (id → member, from an earlier call in the same run): a member whose row did not change
    since is that same object, so reading the members twice does not hold them twice.
    """
    t = _MEMBER
    owner_of = _Owners(session, programme_id, integration_id)
    rows = plain_rows(  # the driver's own tuples: SQLAlchemy's row processing costs more than the query
        session,
        select(t.c.id, t.c.employee_id, t.c.email, t.c.status, t.c.source_id, t.c.leaver_since, t.c.fingerprint,
               t.c.door, t.c.integration_id)
        .where(t.c.programme_id == programme_id, t.c.status != MemberStatus.DELETED.value),
    )
    earlier = reuse or {}
    members = []
    status_of = _STATUS
    own_id = integration_id
    for mid, emp, email, status, source_id, leaver_since, fingerprint, door, owner_id in rows:
        if leaver_since is not None and not isinstance(leaver_since, date):
            leaver_since = date.fromisoformat(leaver_since)  # SQLite's ISO text, unprocessed
        owner = None if owner_id == own_id and door != _MANUAL else owner_of(door, owner_id)
        old = earlier.get(mid)
        if old is not None and _same(old, emp, email, status, source_id, leaver_since, fingerprint, owner):
            members.append(old)
            continue
        # positional (id, employee_id, email, status, values, source_id, leaver_since, fingerprint, owner)
        members.append(CurrentMember(mid, emp or "", email or "", status_of[status], NOT_LOADED,
                                     source_id, leaver_since, fingerprint, owner))
    return members


_MANUAL = MemberDoor.MANUAL.value


def _same(m: CurrentMember, emp: str | None, email: str | None, status: str, source_id: str | None,
          leaver_since: date | None, fingerprint: str | None, owner: str | None) -> bool:
    return (m.employee_id == (emp or "") and m.email == (email or "") and m.status.value == status
            and m.source_id == source_id and m.leaver_since == leaver_since and m.fingerprint == fingerprint
            and m.owner == owner)


def with_values(
    session: Session, members: Iterable[CurrentMember], settled: Collection[int] = ()
) -> list[CurrentMember]:
    """``members`` with their values loaded, except the ``settled`` ones (member ids) which keep none."""
    members = list(members)
    wanted = [m.id for m in members if m.id not in settled]
    loaded: dict[int, dict[str, str | None]] = {}
    for i in range(0, len(wanted), IN_CHUNK):
        rows = session.execute(
            select(_MEMBER.c.id, _MEMBER.c.first_name, _MEMBER.c.last_name, _MEMBER.c.attributes)
            .where(_MEMBER.c.id.in_(wanted[i:i + IN_CHUNK]))
        )
        loaded.update({mid: _values(first, last, attrs) for mid, first, last, attrs in rows})
    return [replace(m, values=loaded[m.id]) if m.id in loaded else m for m in members]
