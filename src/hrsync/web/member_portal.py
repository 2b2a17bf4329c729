"""The member-facing pages: set a password from the invitation, sign in and out, a small home,
the account pages a leaver keeps for 60 days, and "forgot password".

Member sessions are **separate** from administrator sessions: their own server-side rows
(``portal_session`` of kind ``member``) behind their own cookie (``hrsync_member``), so signing in
as a member never signs anyone in as an administrator or the other way round, and signing out of
one leaves the other alone. Signing out, a password change and "sign out everywhere" end the rows
(:mod:`hrsync.lifecycle.sessions`); the cookie is written by :mod:`hrsync.web.security` only.

What a member may open comes from :func:`hrsync.lifecycle.access.member_access` on every request:
``full`` (invited, active), ``limited`` (a leaver inside the 60-day window: only their own
account pages) or ``none`` (signed out at once). The e-mails' addresses come from
:mod:`hrsync.notify.links`; this module serves exactly those paths (and the ``/member/...`` aliases).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.vocabulary import programme_today
from hrsync.lifecycle.access import Access, member_access
from hrsync.lifecycle.passwords import (
    WeakPasswordError,
    check_new_password,
    link_holder,
    replace_password,
    request_password_reset,
    set_member_password,
)
from hrsync.lifecycle.sessions import CLOSED as SESSION_CLOSED
from hrsync.lifecycle.sessions import SIGNED_OUT, SIGNED_OUT_EVERYWHERE, end_sessions_for_member
from hrsync.lifecycle.tokens import MEMBER_LINK_PURPOSES, find_token
from hrsync.notify import links
from hrsync.services.auth import authenticate, check_current_password
from hrsync.services.throttle import SharedThrottle
from hrsync.store.enums import SessionKind
from hrsync.store.models import Member, MemberEvent, Programme
from hrsync.web.deps import CsrfForm, SessionDep, flash, render
from hrsync.web.security import begin_session, end_current_session, session_state

router = APIRouter(include_in_schema=False)

HOME = links.MEMBER_HOME_PATH  # "/me"
LOGIN = "/member/login"
BAD_CREDENTIALS = "The e-mail address or password is not right. Check both and try again."
LOCKED = (
    "Too many unsuccessful attempts. Signing in is paused for 15 minutes; you can reset your password "
    "meanwhile."
)
CHANGE_LOCKED = (
    "Too many wrong current passwords. Changing your password (and signing in) is paused for 15 minutes; "
    "you can reset your password by e-mail meanwhile."
)
RESET_SENT = (
    "If that address belongs to a member account, we've sent it a link to choose a new password. "
    "The link works for 2 hours."
)
CLOSED = (
    "Your account has closed, so you can no longer sign in. Contact your employer if you think this is "
    "wrong."
)

# The member's own account pages: a leaver keeps these during the 60-day window.
ACCOUNT_PAGES: dict[str, str] = {
    "history": "History",
    "balance": "Balance",
    "vouchers": "Vouchers",
    "security": "Security",
    "help": "Help",
}
# Pages of the programme itself: members with full access only.
PROGRAMME_PAGES: dict[str, str] = {"offers": "Offers"}


# ------------------------------------------------------------------------------------------------
# the member's session
# ------------------------------------------------------------------------------------------------


def _sign_in(request: Request, session: Session, member: Member) -> None:
    """A new session row and id for ``member`` (and a new CSRF token: nothing carried across sign-in)."""
    request.session.pop("csrf", None)
    begin_session(request, session, SessionKind.MEMBER, member_id=member.id)


def _today(session: Session, member: Member) -> Any:
    programme = session.get(Programme, member.programme_id)
    assert programme is not None
    return programme_today(programme.timezone)


def current_member(request: Request, session: Session) -> tuple[Member, Access] | None:
    """The signed-in member and what they may open, or ``None`` (signed out, ended, idle, closed)."""
    live = session_state(request).current(SessionKind.MEMBER)
    if live is None or live.member_id is None:
        return None
    member = session.get(Member, live.member_id)
    access = member_access(member, _today(session, member)) if member is not None and member.password_hash else "none"
    if member is None or access == "none":
        end_current_session(request, session, SessionKind.MEMBER, SESSION_CLOSED)
        return None
    return member, access


def _to_login(request: Request, message: str | None = None) -> Response:
    if message:
        flash(request, message, "info")
    return RedirectResponse(LOGIN, status_code=303)


def _member_page(
    request: Request, session: Session, member: Member, access: Access, name: str, ctx: dict[str, Any],
    status_code: int = 200,
) -> Response:
    programme = session.get(Programme, member.programme_id)
    assert programme is not None
    context = {
        "member": member, "access": access, "programme": programme, "date_format": programme.date_format,
        "tz": programme.timezone, "account_pages": ACCOUNT_PAGES, "programme_pages": PROGRAMME_PAGES,
        "today": programme_today(programme.timezone), **ctx,
    }
    response = render(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------------------------
# sign in / out / forgot password
# ------------------------------------------------------------------------------------------------


@router.get(LOGIN)
def login_page(request: Request, session: SessionDep) -> Response:
    if current_member(request, session) is not None:
        return RedirectResponse(HOME, status_code=303)
    return render(request, "member/login.html", {"email": ""})


@router.post(LOGIN, dependencies=[CsrfForm])
def login(
    request: Request, session: SessionDep,
    email: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
) -> Response:
    throttle: SharedThrottle = request.app.state.login_throttle
    ctx = {"email": email.strip()[:320]}
    attempt = authenticate(session, email, password, who="member", throttle=throttle,
                           address=request.client.host if request.client else None)
    if not isinstance(attempt.account, Member):
        locked = attempt.refused == "locked"
        return render(request, "member/login.html", {**ctx, "error": LOCKED if locked else BAD_CREDENTIALS},
                      status_code=429 if locked else 400)
    member = attempt.account
    if member_access(member, _today(session, member)) == "none":
        return render(request, "member/login.html", {**ctx, "error": CLOSED}, status_code=403)
    _sign_in(request, session, member)
    return RedirectResponse(HOME, status_code=303)


@router.post("/member/logout", dependencies=[CsrfForm])
def logout(request: Request, session: SessionDep) -> Response:
    end_current_session(request, session, SessionKind.MEMBER, SIGNED_OUT)
    flash(request, "You have signed out.", "info")
    return RedirectResponse(LOGIN, status_code=303)


@router.post("/member/logout/everywhere", dependencies=[CsrfForm])
def logout_everywhere(request: Request, session: SessionDep) -> Response:
    """End every session of the signed-in member: this browser, the phone, any other."""
    signed = current_member(request, session)
    if signed is None:
        return _to_login(request)
    end_sessions_for_member(session, signed[0].id, SIGNED_OUT_EVERYWHERE, now=session_state(request).now)
    end_current_session(request, None, SessionKind.MEMBER)
    flash(request, "You have signed out on every device and browser.", "info")
    return RedirectResponse(LOGIN, status_code=303)


@router.get("/member/forgot-password")
def forgot_page(request: Request) -> Response:
    return render(request, "member/forgot.html", {"email": ""})


@router.post("/member/forgot-password", dependencies=[CsrfForm])
def forgot(request: Request, session: SessionDep, email: Annotated[str, Form()] = "") -> Response:
    request_password_reset(session, email.strip()[:320], "member")
    return render(request, "member/forgot.html", {"sent": True, "message": RESET_SENT, "email": ""})


# ------------------------------------------------------------------------------------------------
# set a password from a link (invitation or reset)
# ------------------------------------------------------------------------------------------------

LinkKind = Literal["welcome", "reset"]


def _link_form(
    request: Request, session: Session, token: str, kind: LinkKind, action: str,
    error: str | None = None, status_code: int = 200,
) -> Response:
    row = find_token(session, token, MEMBER_LINK_PURPOSES)
    member = session.get(Member, row.member_id) if row is not None and row.member_id is not None else None
    if member is None or member.status == "deleted":
        return render(request, "member/link_invalid.html", {"kind": kind},
                      status_code=404 if error is None else 400)
    programme = session.get(Programme, member.programme_id)
    response = render(request, "member/set_password.html", {
        "kind": kind, "token": token, "action": action, "member": member, "member_programme": programme,
        "error": error,
    }, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


def _set_password(
    request: Request, session: Session, token: str, kind: LinkKind, action: str, password: str, confirm: str
) -> Response:
    if find_token(session, token, MEMBER_LINK_PURPOSES) is None:
        return _link_form(request, session, token, kind, action)
    try:
        check_new_password(session, password, link_holder(session, token, MEMBER_LINK_PURPOSES))
    except WeakPasswordError as exc:
        return _link_form(request, session, token, kind, action, error=str(exc), status_code=400)
    if password != confirm:
        return _link_form(request, session, token, kind, action, error="The two passwords are not the same.",
                          status_code=400)
    member = set_member_password(session, token, password)
    if member is None:
        return _link_form(request, session, token, kind, action)
    session.flush()
    flash(request, "Your password is set and you are signed in." if kind == "welcome"
          else "Your new password is set and you are signed in.")
    _sign_in(request, session, member)
    return RedirectResponse(HOME, status_code=303)


_WELCOME = links.MEMBER_SET_PASSWORD_PATH  # "/welcome/{token}"
_RESET = links.MEMBER_RESET_PASSWORD_PATH  # "/reset-password/{token}"


@router.get(_WELCOME)
def welcome_page(request: Request, session: SessionDep, token: str) -> Response:
    return _link_form(request, session, token, "welcome", _WELCOME.format(token=token))


@router.post(_WELCOME, dependencies=[CsrfForm])
def welcome(
    request: Request, session: SessionDep, token: str,
    password: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
) -> Response:
    return _set_password(request, session, token, "welcome", _WELCOME.format(token=token), password, confirm)


@router.get(_RESET)
def reset_page(request: Request, session: SessionDep, token: str) -> Response:
    return _link_form(request, session, token, "reset", _RESET.format(token=token))


@router.post(_RESET, dependencies=[CsrfForm])
def reset(
    request: Request, session: SessionDep, token: str,
    password: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
) -> Response:
    return _set_password(request, session, token, "reset", _RESET.format(token=token), password, confirm)


@router.get("/member/set-password")
def set_password_page(request: Request, session: SessionDep, token: str = "") -> Response:
    """The query-string form of the invitation link (``/member/set-password?token=...``)."""
    return _link_form(request, session, token, "welcome", "/member/set-password")


@router.post("/member/set-password", dependencies=[CsrfForm])
def set_password(
    request: Request, session: SessionDep, token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
) -> Response:
    return _set_password(request, session, token, "welcome", "/member/set-password", password, confirm)


# ------------------------------------------------------------------------------------------------
# the member's home and account pages
# ------------------------------------------------------------------------------------------------


@router.get("/member")
def member_root() -> Response:
    return RedirectResponse(HOME, status_code=307)


@router.get(HOME)
def home(request: Request, session: SessionDep) -> Response:
    signed = current_member(request, session)
    if signed is None:
        return _to_login(request)
    member, access = signed
    return _member_page(request, session, member, access, "member/home.html", {"page": "home"})


def _history(session: Session, member: Member) -> list[MemberEvent]:
    return list(
        session.scalars(
            select(MemberEvent)
            .where(MemberEvent.member_id == member.id)
            .order_by(MemberEvent.created_at.desc(), MemberEvent.id.desc())
            .limit(50)
        )
    )


@router.get(HOME + "/{page}")
def account_page(request: Request, session: SessionDep, page: str) -> Response:
    signed = current_member(request, session)
    if signed is None:
        return _to_login(request)
    member, access = signed
    if page in PROGRAMME_PAGES:
        if access != "full":
            return _member_page(request, session, member, access, "member/limited.html",
                                {"page": page, "title": PROGRAMME_PAGES[page]}, status_code=403)
        return _member_page(request, session, member, access, "member/offers.html", {"page": page})
    if page not in ACCOUNT_PAGES:
        return _member_page(request, session, member, access, "member/not_found.html", {"page": ""},
                            status_code=404)
    ctx: dict[str, Any] = {"page": page, "title": ACCOUNT_PAGES[page]}
    if page == "history":
        ctx["events"] = _history(session, member)
    return _member_page(request, session, member, access, "member/account.html", ctx)


@router.post(HOME + "/security", dependencies=[CsrfForm])
def change_password(
    request: Request, session: SessionDep,
    current: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    signed = current_member(request, session)
    if signed is None:
        return _to_login(request)
    member, access = signed
    error: str | None = None
    status = 400
    checked = check_current_password(member, current, who="member", throttle=request.app.state.login_throttle,
                                     address=request.client.host if request.client else None)
    if checked != "ok":
        error, status = ((CHANGE_LOCKED, 429) if checked == "locked" else ("Your current password is not right.", 400))
    else:
        try:
            check_new_password(session, password, member)
        except WeakPasswordError as exc:
            error = str(exc)
        else:
            if password != confirm:
                error = "The two new passwords are not the same."
    if error:
        return _member_page(request, session, member, access, "member/account.html",
                            {"page": "security", "title": "Security", "error": error}, status_code=status)
    # also ends the member's open invitation/reset links and every session of theirs, this one included
    replace_password(session, member, password)
    session.add(MemberEvent(programme_id=member.programme_id, member_id=member.id, kind="password_changed",
                            actor="member"))
    session.flush()
    _sign_in(request, session, member)  # this browser carries on with a new session
    flash(request, "Your password was changed. You were signed out everywhere else.")
    return RedirectResponse(HOME + "/security", status_code=303)
