"""Settings → API tokens: create (the token is shown once), list, revoke.

A token is created with its scopes (checkboxes: read, import, approve, members; read by default) and its
expiry (30, 90, 180 or 365 days; 90 by default); the list shows each token's owner, scopes,
expiry and last use. A read-only administrator is offered read tokens only (the service refuses
anything else, whatever the form sends).

Creating follows Post/Redirect/Get, so reloading the page after "Create token" does not create a
second token. The new token crosses the redirect once: the POST keeps it in the signed-in session's
data *encrypted* with the portal's secret key (:mod:`hrsync.security.secrets`; never in plain text,
not in a flash message, which signed out would sit in a signed but not encrypted cookie), and the
one following GET takes it out and shows it. After that only its SHA-256 remains (the database).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hrsync.security.secrets import SecretKeyError, SecretUnreadableError, decrypt_secret, encrypt_secret
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
from hrsync.store.models import AdminUser, ApiToken
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render

router = APIRouter(include_in_schema=False)

TOKENS_PATH = "/settings/api-tokens"
_NEW_TOKEN = "new_api_token"  # noqa: S105 - the session's key for the token crossing the redirect (encrypted)


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
    shown = _take_new_token(request, session, admin)
    if shown is None:
        return _page(request, session, admin)
    return _page(request, session, admin, new_token=shown[0], new_token_row=shown[1])


def _take_new_token(request: Request, session: Any, admin: AdminUser) -> tuple[str, ApiToken] | None:
    """The token the POST before this GET created, once (taken out of the session as it is read)."""
    kept = request.session.pop(_NEW_TOKEN, None)
    if not isinstance(kept, dict):
        return None
    token_id = kept.get("id")
    row = session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if row is None or row.programme_id != admin.programme_id or row.revoked_at is not None:
        return None
    try:
        return decrypt_secret(str(kept.get("sealed") or "")), row
    except (SecretUnreadableError, SecretKeyError):
        return None


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
    request.session[_NEW_TOKEN] = {"id": token.id, "sealed": encrypt_secret(raw)}
    return RedirectResponse(TOKENS_PATH, status_code=303)


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
