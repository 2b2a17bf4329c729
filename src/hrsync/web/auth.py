"""Signing in and out, forgotten passwords, and inviting further administrators.

Every answer that could reveal whether an address has an account is the same either way: the
wrong-password message, the lock after repeated failures, and the "we've sent a link" page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.validation import InvalidValue, check_field
from hrsync.lifecycle.passwords import (
    WeakPasswordError,
    check_password_policy,
    request_password_reset,
    set_admin_password,
)
from hrsync.lifecycle.tokens import TokenPurpose, find_token
from hrsync.notify.outbox import queue_admin_invite
from hrsync.services.auth import authenticate
from hrsync.services.programmes import admin_by_email
from hrsync.services.throttle import SharedThrottle
from hrsync.store.models import AdminUser
from hrsync.store.types import utcnow
from hrsync.web.deps import (
    CsrfForm,
    CurrentAdmin,
    SessionDep,
    flash,
    get_current_admin,
    not_found,
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
    sign_in(request, admin)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfForm])
def logout(request: Request) -> Response:
    sign_out(request)
    flash(request, "You have signed out.", "info")
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
        check_password_policy(password)
    except WeakPasswordError as exc:
        return _link_page(request, session, token, purpose, template, error=str(exc), status_code=400)
    if password != confirm:
        return _link_page(request, session, token, purpose, template,
                          error="The two passwords are not the same.", status_code=400)
    admin = set_admin_password(session, token, password)
    if admin is None:
        return _link_page(request, session, token, purpose, template)
    admin.last_login_at = utcnow()
    sign_in(request, admin)
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
# administrators of the programme
# ------------------------------------------------------------------------------------------------


def _admins_page(request: Request, session: Session, admin: AdminUser, *, error: str | None = None,
                 email: str = "", name: str = "", status_code: int = 200) -> Response:
    admins = list(session.scalars(
        select(AdminUser).where(AdminUser.programme_id == admin.programme_id).order_by(AdminUser.email_lower)
    ))
    return render(request, "auth/admins.html", {"admins": admins, "error": error, "email": email, "name": name,
                                                "nav": "admins"}, status_code=status_code)


@router.get("/admins")
def admins_page(request: Request, session: SessionDep, admin: CurrentAdmin) -> Response:
    return _admins_page(request, session, admin)


@router.post("/admins", dependencies=[CsrfForm])
def invite_admin(request: Request, session: SessionDep, admin: CurrentAdmin,
                 email: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "") -> Response:
    email, name = email.strip(), name.strip()
    try:
        clean = check_field("email", email)
    except InvalidValue as exc:
        return _admins_page(request, session, admin, error=f"'{email[:80]}' {exc.reason}.", email=email,
                            name=name, status_code=400)
    if not clean:
        return _admins_page(request, session, admin, error="Enter the e-mail address of the person to invite.",
                            name=name, status_code=400)
    if len(name) > 200 or "<" in name or ">" in name:
        return _admins_page(request, session, admin, error="The name may have up to 200 characters, without < or >.",
                            email=email, name=name, status_code=400)
    if admin_by_email(session, admin.programme_id, clean) is not None:
        return _admins_page(request, session, admin, error=f"{clean} is already an administrator of this programme.",
                            email=email, name=name, status_code=400)
    invited = AdminUser(programme_id=admin.programme_id, email=clean, name=name or None, password_hash=None)
    session.add(invited)
    session.flush()
    queue_admin_invite(session, invited, admin.programme, invited_by=admin.name or admin.email)
    flash(request, f"Invitation sent to {clean}. The link works for 7 days.")
    return RedirectResponse("/admins", status_code=303)


@router.post("/admins/{admin_id}/resend", dependencies=[CsrfForm])
def resend_invite(request: Request, session: SessionDep, admin: CurrentAdmin, admin_id: int) -> Response:
    invited = session.scalar(
        select(AdminUser).where(AdminUser.id == admin_id, AdminUser.programme_id == admin.programme_id)
    )
    if invited is None:
        not_found("This administrator")
    if invited.password_hash:
        flash(request, f"{invited.email} has already accepted the invitation.", "info")
    else:
        queue_admin_invite(session, invited, admin.programme, invited_by=admin.name or admin.email)
        flash(request, f"A new invitation was sent to {invited.email}.")
    return RedirectResponse("/admins", status_code=303)
