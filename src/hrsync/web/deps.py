"""What every portal page depends on: a database session, the signed-in administrator, templates.

Every page that shows programme data takes :data:`CurrentAdmin` and scopes each query to
``admin.programme_id``; looking up an integration or a run goes through the scoped service
functions, so another programme's object is a 404 exactly like one that does not exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, object_session

from hrsync.domain.dates import DEFAULT_DATE_FORMAT
from hrsync.domain.dates import format_date as _format_iso_date
from hrsync.domain.display import field_label, field_text, member_status_label
from hrsync.domain.issue_words import problem
from hrsync.domain.wording import possessive
from hrsync.lifecycle.sessions import SIGNED_OUT, SIGNED_OUT_EVERYWHERE, end_sessions_for_admin
from hrsync.security.passwords import MIN_PASSWORD_LENGTH, PASSWORD_HINT
from hrsync.services.admins import may_change, may_manage_admins, recipients_sentence
from hrsync.services.imports import source_account, source_address, source_name, source_place
from hrsync.services.run_views import (
    no_issues_sentence,
    run_chip,
    run_number,
    run_title,
    status_label,
    trigger_label,
)
from hrsync.services.scim import label_of as scim_label_of
from hrsync.store.db import session_scope
from hrsync.store.enums import SessionKind
from hrsync.store.models import AdminUser, Integration
from hrsync.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    begin_session,
    csrf_ok,
    end_current_session,
    session_state,
)
from hrsync.web.security import csrf_token as _session_csrf_token

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


# ------------------------------------------------------------------------------------------------
# errors that become pages
# ------------------------------------------------------------------------------------------------


class PageNotFound(Exception):
    """Rendered as the 404 page (or a JSON 404 under ``/api``)."""

    def __init__(self, what: str = "This page") -> None:
        super().__init__(what)
        self.what = what


class LoginRequired(Exception):
    """Signed out (or the session is stale): pages redirect to ``/login?next=...``."""


class ReadOnlyRedirect(Exception):
    """A read-only administrator asked for a page whose only purpose is a change they cannot make: they
    are sent to the page that shows the same thing (``to``), with a note saying why."""

    def __init__(self, to: str) -> None:
        super().__init__(to)
        self.to = to


class CsrfFailed(Exception):
    """A form arrived without this session's CSRF token: answered with 403."""


def not_found(what: str = "This page") -> NoReturn:
    raise PageNotFound(what)


# ------------------------------------------------------------------------------------------------
# database session
# ------------------------------------------------------------------------------------------------


def get_db() -> Iterator[Session]:
    """One session per request, committed when the page function returns without raising.

    Registered with ``scope="function"`` so the commit happens *before* the response leaves:
    a redirect after a POST must find the change already visible to the next request.
    """
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


# ------------------------------------------------------------------------------------------------
# the signed-in administrator
# ------------------------------------------------------------------------------------------------


def sign_in(request: Request, session: Session, admin: AdminUser) -> None:
    """Start a new server-side session for ``admin``: a new row, a new id in the cookie and a new
    CSRF token (nothing of the signed-out visitor's session is kept: no fixation across sign-in)."""
    request.session.clear()
    begin_session(request, session, SessionKind.ADMIN, admin_id=admin.id)


def sign_out(request: Request, session: Session, *, everywhere: bool = False) -> None:
    """End this browser's session (``everywhere``: every session of this administrator)."""
    current = session_state(request).current(SessionKind.ADMIN)
    if everywhere and current is not None and current.admin_id is not None:
        end_sessions_for_admin(session, current.admin_id, SIGNED_OUT_EVERYWHERE)
        end_current_session(request, None, SessionKind.ADMIN)
    else:
        end_current_session(request, session, SessionKind.ADMIN, SIGNED_OUT)
    request.session.clear()


@dataclass(frozen=True)
class ProgrammeView:
    """What the layout shows of the programme: plain values, readable after the session closed."""

    id: int
    name: str
    timezone: str
    date_format: str


@dataclass(frozen=True)
class AdminView:
    """The signed-in administrator for templates (error pages render after a rollback)."""

    id: int
    email: str
    name: str | None
    programme_id: int
    programme: ProgrammeView
    can_change: bool = True  # False for a read-only administrator: pages hide what the role check refuses


def _view_of(admin: AdminUser) -> AdminView:
    programme = admin.programme
    return AdminView(
        id=admin.id, email=admin.email, name=admin.name, programme_id=admin.programme_id,
        programme=ProgrammeView(id=programme.id, name=programme.name, timezone=programme.timezone,
                                date_format=programme.date_format),
        can_change=may_change(admin),
    )


def get_current_admin(request: Request, session: SessionDep) -> AdminUser:
    """The administrator of this browser's live session (see :mod:`hrsync.web.security`): a
    session that ended, expired or went idle is no session, and a deactivated administrator is
    refused on every request even before their rows are ended."""
    live = session_state(request).current(SessionKind.ADMIN)
    admin = session.get(AdminUser, live.admin_id) if live is not None and live.admin_id is not None else None
    if admin is None or not admin.is_active:
        if live is not None:
            end_current_session(request, None, SessionKind.ADMIN)  # the cookie goes; this request rolls back
            request.session.clear()
        raise LoginRequired()
    request.state.admin = _view_of(admin)
    check_role(request, admin)
    return admin


CurrentAdmin = Annotated[AdminUser, Depends(get_current_admin)]


# ------------------------------------------------------------------------------------------------
# roles (hrsync.services.admins decides; these answer with the 403 page)
# ------------------------------------------------------------------------------------------------

#: What a read-only administrator may still post: signing out, and their own account (password,
#: signing out everywhere) under ``/account``. Creating an API token is allowed too: the token
#: service gives a read-only administrator's tokens the read scope only; and revoking one of their
#: own (``/settings/api-tokens/<id>/revoke``: the service refuses another administrator's).
READ_ONLY_MAY_POST: tuple[str, ...] = ("/logout", "/logout/", "/account/", "/settings/api-tokens",
                                       "/settings/api-tokens/")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _read_only_may(path: str) -> bool:
    return any(path == allowed.rstrip("/") or (allowed.endswith("/") and path.startswith(allowed))
               for allowed in READ_ONLY_MAY_POST)


#: Pages whose only purpose is a change (a setup step with its Save, "Import data now", a confirmation),
#: and where a read-only administrator who asks for one is sent instead: the page that shows the same.
READ_ONLY_ELSEWHERE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/integrations/(\d+)/(?:setup(?:/[^/]*)?|import|delete|revoke|reauthorize|authorize(?:/[^/]*)?)"),
     "/integrations/{0}"),
    (re.compile(r"/integrations/(\d+)/runs/(\d+)/undo"), "/integrations/{0}/runs/{1}"),
    (re.compile(r"/integrations/new(?:/[^/]*)?"), "/integrations"),
    (re.compile(r"/members/new"), "/members"),
    (re.compile(r"/members/(\d+)/edit"), "/members/{0}"),
)
READ_ONLY_NOTE = ("Your role is read-only: you can see every page and download files, but not change anything. "
                  "An owner of the programme can change your role.")


def check_role(request: Request, admin: AdminUser) -> None:
    """The one place a read-only administrator's changes are refused (every page asks for the
    signed-in administrator through :func:`get_current_admin`); pages only hide the buttons, and a
    page that is nothing but a change sends them to the page that shows the same (:data:`READ_ONLY_ELSEWHERE`)."""
    if may_change(admin):
        return
    if request.method in _SAFE_METHODS:
        for pattern, target in READ_ONLY_ELSEWHERE:
            found = pattern.fullmatch(request.url.path.rstrip("/"))
            if found and "run" not in request.query_params:  # ".../import?run=N" follows a run's progress
                flash(request, READ_ONLY_NOTE, "info")
                raise ReadOnlyRedirect(target.format(*found.groups()))
        return
    if _read_only_may(request.url.path):
        return
    raise HTTPException(
        status_code=403,
        detail=READ_ONLY_NOTE,
    )


def get_owner_admin(admin: CurrentAdmin) -> AdminUser:
    if not may_manage_admins(admin):
        raise HTTPException(
            status_code=403,
            detail="Only an owner of the programme can manage administrators. Ask an owner to make this change.",
        )
    return admin


OwnerAdmin = Annotated[AdminUser, Depends(get_owner_admin)]


def login_redirect_target(request: Request) -> str:
    """``/login?next=<path>`` for the page that was asked for (a local path only)."""
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return "/login?next=" + quote(path, safe="")


def safe_next(value: str | None) -> str:
    """Only local paths: ``next`` must never send someone to another site after sign-in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/integrations"
    return value


# ------------------------------------------------------------------------------------------------
# CSRF
# ------------------------------------------------------------------------------------------------


async def verify_csrf(request: Request) -> None:
    """Every POST form carries the session's token in ``csrf_token`` (or the ``X-CSRF-Token``
    header for our own script's fetches). SameSite=Lax already stops most cross-site posts; this
    stops the rest (sibling subdomains, old browsers)."""
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    if not csrf_ok(request.session, submitted):
        raise CsrfFailed()


CsrfForm = Depends(verify_csrf)


# ------------------------------------------------------------------------------------------------
# flash messages
# ------------------------------------------------------------------------------------------------


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A one-time message shown on the next page (kind: success, info, warning, error)."""
    messages = list(request.session.get("flash", []))
    messages.append([kind, message])
    request.session["flash"] = messages[-5:]


def _pop_flashes(request: Request) -> list[tuple[str, str]]:
    messages = request.session.pop("flash", None) or []
    return [(str(kind), str(text)) for kind, text in messages]


# ------------------------------------------------------------------------------------------------
# templates
# ------------------------------------------------------------------------------------------------


def is_demo() -> bool:
    """The demo (``hrsync demo``) sets ``HRSYNC_DEMO=1``: it shows the "Sent e-mails" page."""
    return os.environ.get("HRSYNC_DEMO", "").strip().lower() in ("1", "true", "yes", "on")


def _csrf_token(request: Request) -> str:
    return _session_csrf_token(request.session)


def format_date(value: date | datetime | None, fmt: str | None = None) -> str:
    """A date in the given display format (default DD/MM/YYYY); blank for ``None``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _format_iso_date(value, fmt or DEFAULT_DATE_FORMAT)


def format_datetime(value: datetime | None, tz: str | None = None, fmt: str | None = None) -> str:
    """A timestamp in the programme's time zone and date format, e.g. ``03/02/2026 14:05 GMT``."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz)) if tz else value
    return f"{format_date(local, fmt)} {local:%H:%M} {local.tzname() or ''}".strip()


def email_recipients(integration: Integration) -> str:
    """The sentence saying who receives ``integration``'s import e-mails (read in the page's session)."""
    session = object_session(integration)
    return recipients_sentence(session, integration) if session is not None else ""


def email_breaks(address: object) -> Markup:
    """An e-mail address that a narrow column breaks before its ``@`` and after its dots, never mid-word
    ("amelia.<wbr>brown<wbr>@example.<wbr>com"); escaped like any other value."""
    text = str(escape("" if address is None else address))
    return Markup(text.replace("@", "<wbr>@").replace(".", ".<wbr>"))  # noqa: S704 - escaped on the line above


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["email"] = email_breaks
templates.env.globals["csrf_token"] = _csrf_token
templates.env.globals["csrf_field_name"] = CSRF_FIELD
templates.env.globals["source_address"] = source_address
templates.env.globals["source_name"] = source_name
templates.env.globals["source_account"] = source_account
templates.env.globals["source_place"] = source_place  # for cards and lists: never a server path
templates.env.globals["format_date"] = format_date
# how a run is named and labelled (hrsync.services.run_views), the same on every page
templates.env.globals.update(run_title=run_title, run_number=run_number, run_chip=run_chip, trigger_label=trigger_label,
                             no_issues_sentence=no_issues_sentence, run_status_label=status_label)
templates.env.globals["password_hint"] = PASSWORD_HINT
templates.env.globals["password_min_length"] = MIN_PASSWORD_LENGTH
templates.env.globals["format_datetime"] = format_datetime
templates.env.globals["field_label"] = field_label  # a member field's human label
templates.env.globals["integration_label"] = scim_label_of  # the optional name given to an integration (SCIM's)
templates.env.globals["member_status_label"] = member_status_label  # "invited" → "Invited" (hrsync.domain.display)
templates.env.globals["problem"] = problem  # an issue's code in words (hrsync.domain.issue_words)
templates.env.globals["field_text"] = field_text  # a member field's value as people read it (dates formatted)
templates.env.globals["email_recipients"] = email_recipients  # who receives an integration's import e-mails
templates.env.filters["format_date"] = format_date
templates.env.filters["format_datetime"] = format_datetime
templates.env.filters["possessive"] = possessive  # "Demo Rewards'", never "Demo Rewards's"


def render(
    request: Request, name: str, ctx: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with what the layout needs: the admin, their programme, flashes, demo flag."""
    admin: AdminView | None = getattr(request.state, "admin", None)
    programme = admin.programme if admin is not None else None
    context: dict[str, Any] = {
        "admin": admin,
        "programme": programme,
        "tz": programme.timezone if programme is not None else None,
        "date_format": programme.date_format if programme is not None else DEFAULT_DATE_FORMAT,
        "demo": is_demo(),
        "flashes": _pop_flashes(request),
        "nav": "",
    }
    context.update(ctx or {})
    return templates.TemplateResponse(request, name, context, status_code=status_code)
