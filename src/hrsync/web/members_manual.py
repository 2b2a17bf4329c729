"""The manual door in the portal: add a member by hand, edit one, mark one ineligible or eligible again.

The rules are :mod:`hrsync.services.manual_members`' (shared with the CLI and the API); a read-only
administrator is refused by :func:`hrsync.web.deps.check_role` like on every other form, and the
pages only show the buttons to those who may use them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hrsync.services import manual_members as manual
from hrsync.services import member_invites
from hrsync.services.errors import NotFound, ServiceError
from hrsync.services.queries import member_in_programme
from hrsync.store.models import AdminUser, Member, Programme
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render

router = APIRouter(include_in_schema=False)

FieldText = Annotated[str, Form(max_length=400)]


def _programme(session: Any, admin: AdminUser) -> Programme:
    programme: Programme | None = session.get(Programme, admin.programme_id)
    assert programme is not None
    return programme


def _form(request: Request, values: dict[str, Any], *, member: Member | None = None, error: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "members/form.html", {"nav": "members", "member": member, "values": values,
                                                 "error": error}, status_code=status_code)


@router.get("/members/new")
def new_member_page(request: Request, admin: CurrentAdmin) -> Response:
    return _form(request, {"invite": True})


@router.post("/members/new", dependencies=[CsrfForm])
def add_member(request: Request, session: SessionDep, admin: CurrentAdmin, employee_id: FieldText = "",
               email: FieldText = "", first_name: FieldText = "", last_name: FieldText = "",
               invite: Annotated[str, Form(max_length=5)] = "") -> Response:
    values = {"employee_id": employee_id, "email": email, "first_name": first_name, "last_name": last_name,
              "invite": bool(invite)}
    try:
        member = manual.add_member(session, _programme(session, admin),
                                   manual.ManualValues(employee_id, email, first_name, last_name), admin,
                                   invite=bool(invite))
    except ServiceError as exc:
        session.rollback()
        return _form(request, values, error=exc.reason, status_code=400)
    flash(request, "The member was added" + (" and will get a welcome e-mail." if invite else "."))
    return RedirectResponse(f"/members/{member.id}", status_code=303)


def _manual(session: Any, admin: AdminUser, member_id: int) -> Member:
    try:
        return manual.manual_member(session, admin.programme_id, member_id)
    except NotFound:
        not_found("This member")


@router.get("/members/{member_id}/edit")
def edit_member_page(request: Request, session: SessionDep, admin: CurrentAdmin, member_id: int) -> Response:
    try:
        member = _manual(session, admin, member_id)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/members/{member_id}", status_code=303)
    return _form(request, {k: getattr(member, k) or "" for k in manual.EDITABLE}, member=member)


@router.post("/members/{member_id}/edit", dependencies=[CsrfForm])
def edit_member(request: Request, session: SessionDep, admin: CurrentAdmin, member_id: int,
                employee_id: FieldText = "", email: FieldText = "", first_name: FieldText = "",
                last_name: FieldText = "") -> Response:
    values = {"employee_id": employee_id, "email": email, "first_name": first_name, "last_name": last_name}
    try:
        member = _manual(session, admin, member_id)
        changed = manual.edit_member(session, _programme(session, admin), member,
                                     manual.ManualValues(employee_id, email, first_name, last_name), admin)
    except ServiceError as exc:
        session.rollback()
        return _form(request, values, member=session.get(Member, member_id), error=exc.reason, status_code=400)
    flash(request, "The member's details were saved." if changed else "Nothing was changed.")
    return RedirectResponse(f"/members/{member_id}", status_code=303)


def _status_change(request: Request, session: Any, admin: AdminUser, member_id: int, eligible: bool) -> Response:
    try:
        member = _manual(session, admin, member_id)
        change = manual.mark_eligible if eligible else manual.mark_ineligible
        change(session, _programme(session, admin), member, admin)
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/members/{member_id}", status_code=303)
    flash(request, "The member is eligible again: their account works as before." if eligible else
          "The member is a leaver from today: they keep their own account pages for 60 days and were told so "
          "by e-mail; then their personal data is deleted.")
    return RedirectResponse(f"/members/{member_id}", status_code=303)


@router.post("/members/{member_id}/ineligible", dependencies=[CsrfForm])
def mark_ineligible(request: Request, session: SessionDep, admin: CurrentAdmin, member_id: int) -> Response:
    return _status_change(request, session, admin, member_id, eligible=False)


@router.post("/members/{member_id}/eligible", dependencies=[CsrfForm])
def mark_eligible(request: Request, session: SessionDep, admin: CurrentAdmin, member_id: int) -> Response:
    return _status_change(request, session, admin, member_id, eligible=True)


@router.post("/members/{member_id}/invite", dependencies=[CsrfForm])
def invite_again(request: Request, session: SessionDep, admin: CurrentAdmin, member_id: int) -> Response:
    """*Invite again*: any door's member who was invited and has not set a password yet."""
    member = member_in_programme(session, admin.programme_id, member_id)
    if member is None:
        not_found("This member")
    try:
        member_invites.invite_again(session, _programme(session, admin), member, admin)
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/members/{member_id}", status_code=303)
    flash(request, f"A new invitation is on its way to {member.email}; the earlier link no longer matters.")
    return RedirectResponse(f"/members/{member_id}", status_code=303)
