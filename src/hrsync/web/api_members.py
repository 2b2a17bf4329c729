"""The manual door in the JSON API: ``POST /api/v1/members`` and changes to members added by hand.

Every operation needs the ``members`` scope (and a token whose maker may change things), checked by
:class:`~hrsync.web.api_auth.ApiRoute` before the request is read. The rules are
:mod:`hrsync.services.manual_members`', shared with the portal's form and the CLI. A request the body's
schema accepts but a rule refuses is ``409`` with a ``code`` (like every refusal of this API after the
schema): the field rule's code (``invalid_email``, ``illegal_characters``, ``missing_email``…) with the
detail saying which value and why; ``owned_elsewhere`` for an employee ID or address another member
holds (the detail names its door) or a member another door owns; ``not_eligible``, ``not_a_leaver``,
``window_ended`` when the member's status does not allow the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from hrsync.services import manual_members as manual
from hrsync.services.errors import NotFound, ServiceError
from hrsync.store.models import AdminUser, ApiToken, Member, Programme
from hrsync.web.api import _conflict
from hrsync.web.api_auth import COMMON_RESPONSES, ApiRoute, ApiSession, MembersToken, Responses
from hrsync.web.api_models import (
    API_PREFIX,
    ConflictOut,
    ManualMemberEditIn,
    ManualMemberIn,
    MemberId,
    MemberOut,
)
from hrsync.web.deps import not_found

router = APIRouter(prefix=API_PREFIX, tags=["api"], responses=COMMON_RESPONSES, route_class=ApiRoute)

_ANSWERS: Responses = {
    409: {"model": ConflictOut, "description": "Refused by a rule (code): a value breaks its field's rule (the "
          "rule's code, e.g. invalid_email; the detail says which value and why); owned_elsewhere: the employee "
          "ID or address belongs to another member (the detail names the door that owns it), or the member is "
          "owned by an integration; not_eligible, not_a_leaver, window_ended: the member's status does not "
          "allow the change."},
}


def _refused(session: Session, exc: ServiceError) -> JSONResponse:
    session.rollback()
    return _conflict(exc.reason, exc.code)


def _context(session: Session, token: ApiToken) -> tuple[Programme, AdminUser | None]:
    programme = session.get(Programme, token.programme_id)
    assert programme is not None
    return programme, session.get(AdminUser, token.created_by_id) if token.created_by_id else None


@router.post("/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED, responses=_ANSWERS,
             summary="Add a member by hand (invited unless invite is false)")
def add_member(body: ManualMemberIn, session: ApiSession, token: MembersToken) -> Any:
    programme, actor = _context(session, token)
    values = manual.ManualValues(body.employee_id, body.email, body.first_name, body.last_name)
    try:
        member = manual.add_member(session, programme, values, actor, invite=body.invite)
    except ServiceError as exc:
        return _refused(session, exc)
    return MemberOut.of(member)


Change = Callable[[Programme, Member, AdminUser | None], Any]


def _change(session: Session, token: ApiToken, member_id: int, change: Change) -> Any:
    programme, actor = _context(session, token)
    try:
        member = manual.manual_member(session, programme.id, member_id)
        change(programme, member, actor)
    except NotFound:
        not_found(f"Member {member_id}")
    except ServiceError as exc:
        return _refused(session, exc)
    session.flush()
    return MemberOut.of(member)


@router.patch("/members/{member_id}", response_model=MemberOut, responses=_ANSWERS,
              summary="Change a member added by hand (the values given)")
def edit_member(member_id: MemberId, body: ManualMemberEditIn, session: ApiSession, token: MembersToken) -> Any:
    values = manual.ManualValues(body.employee_id, body.email, body.first_name, body.last_name)
    return _change(session, token, member_id,
                   lambda programme, member, actor: manual.edit_member(session, programme, member, values, actor))


@router.post("/members/{member_id}/ineligible", response_model=MemberOut, responses=_ANSWERS,
             summary="Mark a member added by hand ineligible: a leaver today, following the 60-day close-down")
def ineligible(member_id: MemberId, session: ApiSession, token: MembersToken) -> Any:
    return _change(session, token, member_id,
                   lambda programme, member, actor: manual.mark_ineligible(session, programme, member, actor))


@router.post("/members/{member_id}/eligible", response_model=MemberOut, responses=_ANSWERS,
             summary="Make a member marked ineligible eligible again (within the 60 days)")
def eligible(member_id: MemberId, session: ApiSession, token: MembersToken) -> Any:
    return _change(session, token, member_id,
                   lambda programme, member, actor: manual.mark_eligible(session, programme, member, actor))
