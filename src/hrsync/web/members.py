"""The members page: search, filter by status, paging, CSV export, and one member's record.

Searching goes through :func:`hrsync.services.queries.members_page`, which uses the store's
indexed search expression, so the page stays quick at 100,000 members on both engines. The
export streams the *current filter* in batches from its own session, and every cell is made
formula-safe for spreadsheets.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from hrsync.domain.display import MEMBER_STATUS_LABELS, change_lines, member_name
from hrsync.domain.vocabulary import programme_today
from hrsync.lifecycle.access import member_access
from hrsync.services.exports import members_csv_lines
from hrsync.services.manual_members import owner_of
from hrsync.services.member_invites import may_invite_again
from hrsync.services.member_view import date_format_of, member_fields, member_title, run_numbers
from hrsync.services.queries import (
    MEMBER_STATUSES,
    MemberFilter,
    member_in_programme,
    member_status_counts,
    members_page,
)
from hrsync.store.models import ImportRun, MemberEvent, Programme
from hrsync.web.deps import CurrentAdmin, SessionDep, not_found, render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
STATUS_LABELS = MEMBER_STATUS_LABELS
EVENT_LABELS = {
    "created": "Created by an import",
    "pending": "Added as a pre-hire",
    "updated": "Updated by an import",
    "leaver": "Became a leaver",
    "reinstated": "Reinstated",
    "password_set": "Set a password",
    "invited": "Invited",
    "deleted": "Personal data deleted",
    "added_by_hand": "Added by hand",
    "edited_by_hand": "Edited by hand",
    "made_ineligible": "Marked ineligible (a leaver)",
    "made_eligible": "Eligible again",
    "owned_elsewhere": "Another integration's import met this member",
    "adopted": "Handed to another integration",
}


def _event_note(kind: str, changes: Any) -> str | None:
    """The sentence under an ownership event (the details it keeps, in words)."""
    detail = changes if isinstance(changes, dict) else {}
    if not detail:  # scrubbed with the member's personal data
        return None
    if kind == "owned_elsewhere":
        return (f"Import #{detail.get('run_number')} of {detail.get('door') or 'another integration'} found a "
                f"person with employee ID {detail.get('employee_id')} or this member's address, and skipped "
                "them: a member is changed only by the door that owns it.")
    if kind == "adopted":
        return f"From {detail.get('from') or 'another integration'} to {detail.get('to') or 'this integration'}, " \
               "when that integration was published."
    return None


@router.get("/members")
def members(
    request: Request,
    session: SessionDep,
    admin: CurrentAdmin,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    flt = MemberFilter.of(q, status)
    result = members_page(session, admin.programme_id, flt, page=page, per_page=PER_PAGE)
    names = {
        mb.id: member_name(mb.first_name, mb.last_name, mb.attributes, deleted=mb.status == "deleted", sort=True)
        for mb in result.items
    }
    return render(request, "members/list.html", {
        "nav": "members", "flt": flt, "members": result, "names": names, "statuses": MEMBER_STATUSES,
        "status_labels": STATUS_LABELS, "counts": member_status_counts(session, admin.programme_id),
        "date_format": date_format_of(session, admin.programme_id),
    })


@router.get("/members/export.csv")
def export_members(
    session: SessionDep,
    admin: CurrentAdmin,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: str | None = None,
) -> StreamingResponse:
    flt = MemberFilter.of(q, status)
    programme = session.get(Programme, admin.programme_id)
    assert programme is not None
    stamp = programme_today(programme.timezone).isoformat()
    suffix = f"-{flt.status}" if flt.status else ""
    return StreamingResponse(
        members_csv_lines(admin.programme_id, flt),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="members{suffix}-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/members/{member_id}")
def member_detail(request: Request, session: SessionDep, admin: CurrentAdmin, member_id: int) -> Response:
    member = member_in_programme(session, admin.programme_id, member_id)
    if member is None:
        not_found("This member")
    programme = session.get(Programme, admin.programme_id)
    assert programme is not None
    events = session.scalars(
        select(MemberEvent)
        .where(MemberEvent.member_id == member.id, MemberEvent.programme_id == admin.programme_id)
        .order_by(MemberEvent.created_at.desc(), MemberEvent.id.desc())
        .limit(50)
    ).all()
    date_format = date_format_of(session, admin.programme_id)
    owner = owner_of(session, member)
    return render(request, "members/detail.html", {
        "owner": owner[0].upper() + owner[1:] if owner.startswith("the ") else owner,
        "owner_link": f"/integrations/{member.integration_id}" if member.integration_id else None,
        "notes": {e.id: note for e in events if (note := _event_note(e.kind, e.changes))},
        "nav": "members", "member": member, "name": member_title(member), "status_labels": STATUS_LABELS,
        "fields": member_fields(member, date_format), "date_format": date_format,
        "events": [(e, change_lines(e.changes, date_format)) for e in events],
        "run_numbers": run_numbers(session, (e.run_id for e in events)),
        # each import's own integration: an adopted member's older imports belong to its former door
        "run_doors": dict(session.execute(select(ImportRun.id, ImportRun.integration_id).where(
            ImportRun.id.in_({e.run_id for e in events if e.run_id is not None}))).all()),
        "can_invite_again": may_invite_again(member),
        "event_labels": EVENT_LABELS, "access": member_access(member, programme_today(programme.timezone)),
    })
