"""Settings → API tokens: create (the token is shown once), list, revoke.

A token is created with its scopes (checkboxes: read, import, approve, members; read by default) and its
expiry (30, 90, 180 or 365 days; 90 by default); the list shows each token's owner, scopes,
expiry and last use. A read-only administrator is offered read tokens only (the service refuses
anything else, whatever the form sends).

The new token is rendered in the answer to the POST itself and never stored anywhere the portal
can show it again: not in the flash messages (they live in the session's data, in the database
or, signed out, in a signed but *not encrypted* cookie) and not in the database (only its SHA-256).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hrsync.services.admins import may_change
from hrsync.services.api_tokens import (
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_SCOPES,
    EXPIRY_DAYS,
    SCOPE_ORDER,
    create_api_token,
    may_revoke,
    revoke_as,
    token_views,
)
from hrsync.services.errors import NotFound, ServiceError
from hrsync.store.enums import TokenScope
from hrsync.store.models import AdminUser
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render

router = APIRouter(include_in_schema=False)

TOKENS_PATH = "/settings/api-tokens"


SCOPE_LABELS = {
    TokenScope.READ: ("Read", "integrations, runs, their error files and members"),
    TokenScope.IMPORT: ("Import", "start imports and dry runs"),
    TokenScope.APPROVE: ("Approve", "apply or discard an import held by the mass-change brake"),
    TokenScope.MEMBERS: ("Members", "add members by hand, edit them, mark them ineligible or eligible again"),
}


def _page(request: Request, session: Any, admin: AdminUser, status_code: int = 200, **extra: Any) -> Response:
    views = token_views(session, admin.programme_id)
    context: dict[str, Any] = {
        "nav": "tokens", "tokens": views, "scope_order": SCOPE_ORDER,
        "revocable": {v.token.id for v in views if may_revoke(admin, v.token)},
        "scope_labels": SCOPE_LABELS, "expiry_days": EXPIRY_DAYS, "may_change": may_change(admin),
        "chosen_scopes": [s.value for s in DEFAULT_SCOPES], "chosen_days": DEFAULT_EXPIRY_DAYS,
    }
    context.update(extra)
    response = render(request, "tokens/list.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens")
def tokens_alias() -> Response:
    """The navigation's short address."""
    return RedirectResponse(TOKENS_PATH, status_code=307)


@router.get(TOKENS_PATH)
def tokens_page(request: Request, session: SessionDep, admin: CurrentAdmin) -> Response:
    return _page(request, session, admin)


@router.post(TOKENS_PATH, dependencies=[CsrfForm])
def create_token(
    request: Request, session: SessionDep, admin: CurrentAdmin, name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str] | None, Form()] = None, expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    chosen = [s[:20] for s in (scopes or [])][:10]
    given = expires_in_days.strip()
    days = DEFAULT_EXPIRY_DAYS if not given else int(given) if given.isdigit() and len(given) < 5 else -1
    try:
        raw, token = create_api_token(session, admin.programme_id, name, created_by=admin, scopes=chosen,
                                      expires_in_days=days)
    except ServiceError as exc:
        name_error = exc.reason if "name" in exc.reason else None  # shown at the field; others above the form
        return _page(request, session, admin, status_code=400, error=None if name_error else exc.reason,
                     name_error=name_error, name=name[:200],
                     chosen_scopes=chosen, chosen_days=days if days in EXPIRY_DAYS else DEFAULT_EXPIRY_DAYS)
    session.flush()
    return _page(request, session, admin, status_code=201, new_token=raw, new_token_row=token)


@router.post(TOKENS_PATH + "/{token_id}/revoke", dependencies=[CsrfForm])
def revoke_token(request: Request, session: SessionDep, admin: CurrentAdmin, token_id: int) -> Response:
    try:
        token = revoke_as(session, admin, token_id)
    except NotFound:
        not_found("This API token")
    except ServiceError as exc:
        return _page(request, session, admin, status_code=403, error=exc.reason)
    flash(request, f"The token “{token.name}” was revoked: requests using it are refused from now on.",
          "info")
    return RedirectResponse(TOKENS_PATH, status_code=303)
