"""Handing members from one integration to another at publish (docs/decisions/0031).

A client who switches HR systems publishes the new integration *adopting* the members of the old
one whose employee IDs the new one's directory carries. Which IDs those are comes from the new
integration's preview (the review step's dry run): every person it skipped as ``owned_elsewhere``
by employee ID. The review shows, per other integration, how many of its members would be adopted;
publishing with ``adopt_from`` moves exactly those, in the publish's transaction, with an event in
each member's history and an activity row on both integrations. Nothing else moves: members whose
IDs the preview did not meet stay with their integration, and members added by hand are never
adopted (an administrator edits or removes them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hrsync.domain.fields import EMPLOYEE_ID
from hrsync.domain.ownership import OWNED_ELSEWHERE
from hrsync.domain.vocabulary import MemberStatus
from hrsync.services import activity
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import publish
from hrsync.store.enums import RunStatus, is_finished
from hrsync.store.models import (
    AdminUser,
    ImportIssue,
    ImportRun,
    Integration,
    IntegrationStatus,
    Member,
    MemberDoor,
    MemberEvent,
)
from hrsync.store.types import IN_CHUNK, utcnow
from hrsync.sync.members import door_names

ADOPTED_EVENT = "adopted"


@dataclass(frozen=True)
class AdoptionOffer:
    """Members of another integration that publishing ``integration`` could adopt."""

    integration_id: int
    door: str  # "the <kind name> integration #3"
    members: int


def _met_ids(session: Session, integration: Integration) -> list[str]:
    """Employee IDs the integration's finished preview skipped because another door's member has them."""
    run = session.scalar(  # the wizard's preview or a dry run from the CLI or the API, whichever came last
        select(ImportRun).where(ImportRun.integration_id == integration.id, ImportRun.dry_run.is_(True))
        .order_by(ImportRun.created_at.desc(), ImportRun.id.desc()).limit(1)
    )
    if run is None or not is_finished(run.status) or run.status == RunStatus.FAILED.value:
        return []
    return list(session.scalars(
        select(ImportIssue.employee_id).distinct()
        .where(ImportIssue.run_id == run.id, ImportIssue.code == OWNED_ELSEWHERE,
               ImportIssue.field == EMPLOYEE_ID, ImportIssue.employee_id.is_not(None))
    ))


def _adoptable(session: Session, integration: Integration, ids: list[str], from_id: int | None = None) -> list[Member]:
    found: list[Member] = []
    for i in range(0, len(ids), IN_CHUNK):
        query = select(Member).where(
            Member.programme_id == integration.programme_id, Member.door == MemberDoor.INTEGRATION.value,
            Member.integration_id.is_not(None), Member.integration_id != integration.id,
            Member.status != MemberStatus.DELETED.value, Member.employee_id.in_(ids[i:i + IN_CHUNK]),
        )
        if from_id is not None:
            query = query.where(Member.integration_id == from_id)
        found.extend(session.scalars(query))
    return found


def adoption_offers(session: Session, integration: Integration) -> list[AdoptionOffer]:
    """What the review offers: per other integration, how many of its members the preview met by employee ID."""
    if integration.status != IntegrationStatus.DRAFT.value:
        return []
    counts = Counter(m.integration_id for m in _adoptable(session, integration, _met_ids(session, integration)))
    names = door_names(session, integration.programme_id)
    return [AdoptionOffer(iid, names.get(iid, f"integration #{iid}"), n)
            for iid, n in sorted(counts.items()) if iid is not None]


def publish_adopting(session: Session, integration: Integration, actor: AdminUser | None,
                     adopt_from: int | None) -> int:
    """Publish ``integration``; with ``adopt_from``, first hand it that integration's members its preview
    met by employee ID. Returns how many members were adopted. All in the caller's transaction."""
    if adopt_from is None:
        publish(session, integration, actor)
        return 0
    if integration.status != IntegrationStatus.DRAFT.value:
        raise ServiceError("Members can be adopted only when an integration is first published.", code="adopt")
    giver = session.get(Integration, adopt_from)
    if giver is None or giver.programme_id != integration.programme_id or giver.id == integration.id:
        raise ServiceError(f"Integration {adopt_from} is not another integration of this programme.", code="adopt")
    ids = _met_ids(session, integration)
    if not ids:
        raise ServiceError("Preview this integration first: the members adopted are those whose employee IDs "
                           "its preview (a dry run) finds.", code="adopt")
    publish(session, integration, actor)  # refuses (and so adopts nothing) when it cannot go live
    return _adopt(session, integration, giver, _adoptable(session, integration, ids, giver.id), actor)


def _adopt(session: Session, taker: Integration, giver: Integration, members: list[Member],
           actor: AdminUser | None) -> int:
    names = door_names(session, taker.programme_id)
    ids = [m.id for m in members]
    now = utcnow()
    for i in range(0, len(ids), IN_CHUNK):
        # A fingerprint is the giver's knowledge of the person: the taker drafts them in full once.
        session.execute(update(Member).where(Member.id.in_(ids[i:i + IN_CHUNK]))
                        .values(integration_id=taker.id, fingerprint=None).execution_options(synchronize_session=False))
    who = (actor.email if actor else None) or "cli"
    session.add_all([
        MemberEvent(programme_id=taker.programme_id, member_id=mid, kind=ADOPTED_EVENT, actor=who, created_at=now,
                    changes={"from": names.get(giver.id), "to": names.get(taker.id),
                             "from_integration_id": giver.id, "integration_id": taker.id})
        for mid in ids
    ])
    admin_id = actor.id if actor else None
    activity.record(session, programme_id=taker.programme_id, integration_id=taker.id, admin_id=admin_id,
                    action="adopted_members", detail={"count": len(ids), "from": names.get(giver.id)})
    activity.record(session, programme_id=giver.programme_id, integration_id=giver.id, admin_id=admin_id,
                    action="members_handed_over", detail={"count": len(ids), "to": names.get(taker.id)})
    return len(ids)
