"""Settings → API tokens: create (the token is shown once), list, revoke.

The new token is rendered in the answer to the POST itself and never stored anywhere the portal
can show it again: not in the flash messages (they live in the signed, *not encrypted*, session
cookie) and not in the database (only its SHA-256).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hrsync.services.api_tokens import create_api_token, list_api_tokens, revoke_api_token
from hrsync.services.errors import NotFound, ServiceError
from hrsync.store.models import AdminUser
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render

router = APIRouter(include_in_schema=False)

TOKENS_PATH = "/settings/api-tokens"


def _page(request: Request, session: Any, admin: AdminUser, status_code: int = 200, **extra: Any) -> Response:
    tokens = list_api_tokens(session, admin.programme_id)
    response = render(request, "tokens/list.html", {"nav": "tokens", "tokens": tokens, **extra},
                      status_code=status_code)
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
    request: Request, session: SessionDep, admin: CurrentAdmin, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        raw, token = create_api_token(session, admin.programme_id, name, created_by_id=admin.id)
    except ServiceError as exc:
        return _page(request, session, admin, status_code=400, error=exc.reason, name=name[:200])
    session.flush()
    return _page(request, session, admin, status_code=201, new_token=raw, new_token_row=token)


@router.post(TOKENS_PATH + "/{token_id}/revoke", dependencies=[CsrfForm])
def revoke_token(request: Request, session: SessionDep, admin: CurrentAdmin, token_id: int) -> Response:
    try:
        token = revoke_api_token(session, admin.programme_id, token_id, revoked_by_id=admin.id)
    except NotFound:
        not_found("This API token")
    flash(request, f"The token “{token.name}” was revoked: requests using it are refused from now on.",
          "info")
    return RedirectResponse(TOKENS_PATH, status_code=303)
