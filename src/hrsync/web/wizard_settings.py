"""The *Connect* step: a kind's settings as a form built from its ``settings_fields``.

Any kind of source whose wizard step is ``settings`` (the default of
:class:`hrsync.sources.kind.SourceKind`) is set up here, with no page of its own: each field is a
text input with its label and help, a secret one a password input that is never filled back in
(only the last four characters of the stored secret are shown). Saving checks the settings with
the source first (:func:`hrsync.services.integrations.set_source_settings`), so nothing wrong is
kept. The same page re-authorizes a published integration.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrsync.services.errors import ServiceError
from hrsync.services.integrations import AlreadyConnected, kind_for, set_source_settings, stored_settings
from hrsync.store.models import AdminUser, Integration
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render
from hrsync.web.wizard_common import advance, after_save, integration_of, is_draft, read_form, steps_of

router = APIRouter(include_in_schema=False)
STEP = "settings"


def _settings_integration(session: Session, admin: AdminUser, integration_id: int) -> Integration:
    integration = integration_of(session, admin, integration_id)
    if kind_for(integration).wizard_step.key != STEP:
        not_found("This page")
    return integration


def _page(request: Request, integration: Integration, values: dict[str, Any], *, error: str | None = None,
          existing_url: str | None = None, status_code: int = 200) -> Response:
    source_kind = kind_for(integration)
    fields = [{"name": f.name, "label": f.label, "help": f.help, "secret": f.secret, "required": f.required,
               "value": "" if f.secret else str(values.get(f.name) or "")} for f in source_kind.settings_fields]
    return render(request, "wizard/settings.html", {
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, STEP),
        "fields": fields, "error": error, "existing_url": existing_url,
        "stored_last4": integration.secret_last4 if integration.secret_encrypted else None,
    }, status_code=status_code)


@router.get("/integrations/{integration_id}/setup/settings")
def settings_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _settings_integration(session, admin, integration_id)
    return _page(request, integration, stored_settings(integration))


@router.post("/integrations/{integration_id}/setup/settings", dependencies=[CsrfForm])
async def save_settings(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _settings_integration(session, admin, integration_id)
    data = await read_form(request)
    given = {f.name: str(data.get(f.name) or "").strip() for f in kind_for(integration).settings_fields}
    settings = {name: value for name, value in given.items() if value}
    try:
        with session.begin_nested():
            set_source_settings(session, integration, admin, settings)
    except ServiceError as exc:
        existing_url = f"/integrations/{exc.existing_id}" if isinstance(exc, AlreadyConnected) else None
        return _page(request, integration, given, error=exc.reason, existing_url=existing_url, status_code=400)
    advance(integration, "mapping")
    if not is_draft(integration):
        flash(request, f"{kind_for(integration).display_name} is connected.")
    return RedirectResponse(after_save(integration, "mapping"), status_code=303)
