"""The owning door's side of an ``owned_elsewhere`` clash (docs/decisions/0031).

The import that met another door's member reports the clash in its own error file; the member it
met gets an ``owned_elsewhere`` event in its history at once, naming the import, so the clash shows
on both sides. A clash that repeats import after import is noted once: no new event while the
member's newest event is already that same integration's clash.

The event carries no run id (it changes nothing, so undoing that import must not see it as a change
it made); the import is named in the event's details instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrsync.store.models import ImportRun, MemberEvent
from hrsync.store.types import IN_CHUNK
from hrsync.sync.members import door_names

OWNED_ELSEWHERE_EVENT = "owned_elsewhere"


def note_claims(session: Session, run: ImportRun, claims: Mapping[int, str], now: datetime) -> int:
    """Write one event per member in ``claims`` (member id → the skipped person's employee ID) unless
    its newest event is already this integration's clash. Returns how many were written."""
    if not claims:
        return 0
    ids = list(claims)
    newest: dict[int, int] = {}
    for i in range(0, len(ids), IN_CHUNK):
        newest.update((member_id, event_id) for member_id, event_id in session.execute(
            select(MemberEvent.member_id, func.max(MemberEvent.id))
            .where(MemberEvent.member_id.in_(ids[i:i + IN_CHUNK])).group_by(MemberEvent.member_id)
        ) if member_id is not None)
    repeated: set[int] = set()
    event_ids = list(newest.values())
    for i in range(0, len(event_ids), IN_CHUNK):
        for member_id, kind, changes in session.execute(
            select(MemberEvent.member_id, MemberEvent.kind, MemberEvent.changes)
            .where(MemberEvent.id.in_(event_ids[i:i + IN_CHUNK]))
        ):
            if kind == OWNED_ELSEWHERE_EVENT and isinstance(changes, dict) \
                    and changes.get("integration_id") == run.integration_id:
                repeated.add(member_id)
    door = door_names(session, run.programme_id).get(run.integration_id, "")
    written = 0
    for member_id, employee_id in claims.items():
        if member_id in repeated:
            continue
        session.add(MemberEvent(
            programme_id=run.programme_id, member_id=member_id, run_id=None, kind=OWNED_ELSEWHERE_EVENT,
            actor="import", created_at=now,
            changes={"integration_id": run.integration_id, "door": door, "run_id": run.id,
                     "run_number": run.history_number, "employee_id": employee_id},
        ))
        written += 1
    return written
