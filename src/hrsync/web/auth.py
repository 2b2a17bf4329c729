"""Signing in and out, forgotten passwords, and the programme's administrators.

Every answer that could reveal whether an address has an account is the same either way: the
wrong-password message, the lock after repeated failures, and the "we've sent a link" page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.activity_words import sentence
from hrsync.lifecycle.passwords import (
    WeakPasswordError,
    check_new_password,
    link_holder,
    request_password_reset,
    set_admin_password,
)
from hrsync.lifecycle.tokens import TokenPurpose, find_token
from hrsync.services import admins
from hrsync.services.auth import authenticate
from hrsync.services.errors import ServiceError
from hrsync.services.throttle import SharedThrottle
from hrsync.store.enums import AdminRole
from hrsync.store.models import ActivityLog, AdminUser
from hrsync.store.types import utcnow
from hrsync.web.deps import (
    CsrfForm,
    CurrentAdmin,
    OwnerAdmin,
    SessionDep,
    flash,
    get_current_admin,
    render,
    safe_next,
    sign_in,
    sign_out,
)

router = APIRouter(include_in_schema=False)

BAD_CREDENTIALS = "The e-mail address or password is not right. Check both and try again."
LOCKED = (
    "Too many unsuccessful attempts to sign in. For your security, signing in is paused for "
    "15 minutes. You can reset your password in the meantime."
)
RESET_SENT = (
    "If an administrator account uses that address, we've sent it a link to choose a new password. "
    "The link works for 2 hours."
)


def _throttle(request: Request) -> SharedThrottle:
    throttle: SharedThrottle = request.app.state.login_throttle
    return throttle


def _signed_in(request: Request, session: Session) -> AdminUser | None:
    try:
        return get_current_admin(request, session)
    except Exception:  # noqa: BLE001 - LoginRequired: simply not signed in
        return None


# ------------------------------------------------------------------------------------------------
# sign in / out
# ------------------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if _signed_in(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", dependencies=[CsrfForm])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/integrations",
) -> Response:
    ctx = {"next": safe_next(next), "email": email.strip()[:320]}
    attempt = authenticate(session, email, password, who="admin", throttle=_throttle(request),
                           address=request.client.host if request.client else None)
    if not isinstance(attempt.account, AdminUser):
        message = LOCKED if attempt.refused == "locked" else BAD_CREDENTIALS
        return render(request, "auth/login.html", {**ctx, "error": message},
                      status_code=429 if message == LOCKED else 400)
    admin = attempt.account
    admin.last_login_at = utcnow()
    sign_in(request, session, admin)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfForm])
def logout(request: Request, session: SessionDep) -> Response:
    sign_out(request, session)
    flash(request, "You have signed out.", "info")
    return RedirectResponse("/login", status_code=303)


@router.post("/logout/everywhere", dependencies=[CsrfForm])
def logout_everywhere(request: Request, session: SessionDep, admin: CurrentAdmin) -> Response:
    """End every session of the signed-in administrator: this browser and any other."""
    sign_out(request, session, everywhere=True)
    flash(request, "You have signed out on every device and browser.", "info")
    return RedirectResponse("/login", status_code=303)


# ------------------------------------------------------------------------------------------------
# forgotten password and the reset link
# ------------------------------------------------------------------------------------------------


@router.get("/forgot-password")
def forgot_page(request: Request) -> Response:
    return render(request, "auth/forgot.html", {"email": ""})


@router.post("/forgot-password", dependencies=[CsrfForm])
def forgot(request: Request, session: SessionDep, email: Annotated[str, Form()] = "") -> Response:
    request_password_reset(session, email.strip()[:320], "admin")
    return render(request, "auth/forgot.html", {"sent": True, "message": RESET_SENT, "email": ""})


def _link_page(request: Request, session: Session, token: str, purpose: TokenPurpose, template: str,
               error: str | None = None, status_code: int = 200) -> Response:
    row = find_token(session, token, purpose)
    if row is None or row.admin_id is None:
        return render(request, "auth/link_invalid.html", {"invite": purpose == TokenPurpose.ADMIN_INVITE},
                      status_code=404 if error is None else 400)
    invited = session.get(AdminUser, row.admin_id)
    return render(request, template, {"token": token, "invited": invited, "error": error},
                  status_code=status_code)


def _set_password(request: Request, session: Session, token: str, purpose: TokenPurpose, template: str,
                  password: str, confirm: str) -> Response:
    if find_token(session, token, purpose) is None:
        return _link_page(request, session, token, purpose, template)
    try:
        check_new_password(session, password, link_holder(session, token, purpose))
    except WeakPasswordError as exc:
        return _link_page(request, session, token, purpose, template, error=str(exc), status_code=400)
    if password != confirm:
        return _link_page(request, session, token, purpose, template,
                          error="The two passwords are not the same.", status_code=400)
    admin = set_admin_password(session, token, password)
    if admin is None:
        return _link_page(request, session, token, purpose, template)
    admin.last_login_at = utcnow()
    sign_in(request, session, admin)
    flash(request, "Your password is set and you are signed in." if purpose == TokenPurpose.ADMIN_INVITE
          else "Your new password is set and you are signed in.")
    return RedirectResponse("/integrations", status_code=303)


@router.get("/admin/reset-password/{token}")
def reset_page(request: Request, session: SessionDep, token: str) -> Response:
    return _link_page(request, session, token, TokenPurpose.ADMIN_PASSWORD_RESET, "auth/reset.html")


@router.post("/admin/reset-password/{token}", dependencies=[CsrfForm])
def reset(request: Request, session: SessionDep, token: str, password: Annotated[str, Form()] = "",
          confirm: Annotated[str, Form()] = "") -> Response:
    return _set_password(request, session, token, TokenPurpose.ADMIN_PASSWORD_RESET, "auth/reset.html",
                         password, confirm)


@router.get("/admin/accept-invite/{token}")
def accept_page(request: Request, session: SessionDep, token: str) -> Response:
    return _link_page(request, session, token, TokenPurpose.ADMIN_INVITE, "auth/accept.html")


@router.post("/admin/accept-invite/{token}", dependencies=[CsrfForm])
def accept(request: Request, session: SessionDep, token: str, password: Annotated[str, Form()] = "",
           confirm: Annotated[str, Form()] = "") -> Response:
    return _set_password(request, session, token, TokenPurpose.ADMIN_INVITE, "auth/accept.html",
                         password, confirm)


# ------------------------------------------------------------------------------------------------
# administrators of the programme (the rules are hrsync.services.admins; owners manage, everyone sees)
# ------------------------------------------------------------------------------------------------

_ADMIN_ACTIONS = ("invited_admin", "reinvited_admin", "changed_admin_role", "deactivated_admin", "reactivated_admin")


def _admin_changes(session: Session, programme_id: int, limit: int = 20) -> list[dict[str, object]]:
    """The latest changes to the programme's administrators, for the page's "Recent changes"."""
    rows = session.scalars(
        select(ActivityLog)
        .where(ActivityLog.programme_id == programme_id, ActivityLog.action.in_(_ADMIN_ACTIONS))
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .limit(limit)
    )
    # the sentence is the activity table's, as on the dashboard (hrsync.domain.activity_words)
    return [{"who": (row.detail or {}).get("by") or "someone", "what": sentence(row.action, row.detail),
             "when": row.created_at} for row in rows]


def _admins_page(request: Request, session: Session, admin: AdminUser, *, error: str | None = None,
                 email: str = "", name: str = "", role: str = AdminRole.ADMINISTRATOR.value,
                 status_code: int = 200) -> Response:
    return render(request, "auth/admins.html", {
        "admins": admins.list_admins(session, admin.programme_id), "error": error, "email": email, "name": name,
        "role": role, "roles": [(r.value, admins.ROLE_LABELS[r], admins.ROLE_DESCRIPTIONS[r]) for r in AdminRole],
        "role_labels": {r.value: admins.ROLE_LABELS[r] for r in AdminRole},
        "manage": admins.may_manage_admins(admin), "changes": _admin_changes(session, admin.programme_id),
        "nav": "admins",
    }, status_code=status_code)


@router.get("/admins")
def admins_page(request: Request, session: SessionDep, admin: CurrentAdmin) -> Response:
    return _admins_page(request, session, admin)


@router.post("/admins", dependencies=[CsrfForm])
def invite_admin(request: Request, session: SessionDep, admin: OwnerAdmin,
                 email: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                 role: Annotated[str, Form()] = "") -> Response:
    try:
        chosen = admins.parse_role(role)
        invited = admins.invite(session, admins.Actor.portal(admin), admin.programme, email, name, chosen)
    except ServiceError as exc:
        session.rollback()
        return _admins_page(request, session, admin, error=exc.reason, email=email.strip(), name=name.strip(),
                            role=role, status_code=400)
    flash(request, f"Invitation sent to {invited.email} ({admins.ROLE_LABELS[chosen].lower()}). "
                   "The link works for 7 days.")
    return RedirectResponse("/admins", status_code=303)


def _change(request: Request, session: Session, admin: AdminUser, admin_id: int,
            change: Callable[[AdminUser], str]) -> Response:
    """Apply one owner action to another administrator of the programme, with its message."""
    target = admins.admin_in_programme(session, admin.programme_id, admin_id)
    try:
        message = change(target)
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
    else:
        flash(request, message, "success")
    return RedirectResponse("/admins", status_code=303)


@router.post("/admins/{admin_id}/resend", dependencies=[CsrfForm])
def resend_invite(request: Request, session: SessionDep, admin: OwnerAdmin, admin_id: int) -> Response:
    actor = admins.Actor.portal(admin)
    return _change(request, session, admin, admin_id, lambda target: (
        f"A new invitation was sent to {target.email}." if admins.resend_invitation(session, actor, target)
        else f"{target.email} has already accepted the invitation."))


@router.post("/admins/{admin_id}/role", dependencies=[CsrfForm])
def change_role(request: Request, session: SessionDep, admin: OwnerAdmin, admin_id: int,
                role: Annotated[str, Form()] = "") -> Response:
    actor = admins.Actor.portal(admin)

    def apply(target: AdminUser) -> str:
        chosen = admins.parse_role(role, default=admins.role_of(target))
        label = admins.ROLE_LABELS[chosen].lower()
        if admins.set_role(session, actor, target, chosen):
            return f"{target.name or target.email} is now {label}."
        return f"{target.name or target.email} was already {label}."

    return _change(request, session, admin, admin_id, apply)


@router.post("/admins/{admin_id}/deactivate", dependencies=[CsrfForm])
def deactivate_admin(request: Request, session: SessionDep, admin: OwnerAdmin, admin_id: int) -> Response:
    actor = admins.Actor.portal(admin)
    return _change(request, session, admin, admin_id, lambda target: (
        f"{target.name or target.email} is deactivated: they are signed out and their API tokens are revoked."
        if admins.deactivate(session, actor, target) else f"{target.name or target.email} was already deactivated."))


@router.post("/admins/{admin_id}/reactivate", dependencies=[CsrfForm])
def reactivate_admin(request: Request, session: SessionDep, admin: OwnerAdmin, admin_id: int) -> Response:
    actor = admins.Actor.portal(admin)
    return _change(request, session, admin, admin_id, lambda target: (
        f"{target.name or target.email} is active again and can sign in with their password."
        if admins.reactivate(session, actor, target) else f"{target.name or target.email} is already active."))
