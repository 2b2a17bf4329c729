"""The portal's short set-up of a SCIM integration (a push door), and its token (docs/scim.md).

A SCIM integration reads nothing, so the import wizard's schedule, Authorize and File steps and its
preview mean nothing for it. Its flow is *Set up* (a name, welcome e-mails, the leaver safeguard),
the wizard's own *Mapping* step with the SCIM attributes as the source fields, and *Review and
publish*, which makes the token and shows it **once** with the base URL and the identity providers'
set-up hints. *Rotate token* (after a confirmation) shows the new token once; the old one stops at
once. Every rule is the services' (:mod:`hrsync.services.scim`), as the CLI calls them.

These routes are included before the wizard's (``/integrations/new/{kind}``), so the card's
``/integrations/new/scim`` lands here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrsync.services import scim as scim_svc
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import update_settings
from hrsync.services.review import mapping_rows
from hrsync.store.models import AdminUser, Integration, IntegrationStatus
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render
from hrsync.web.wizard_common import advance, integration_of, is_draft, read_form, steps_of

router = APIRouter(include_in_schema=False)
KIND = scim_svc.KIND
STEP = "scim"


@dataclass
class ScimForm:
    label: str = ""
    welcome_email: bool = True
    leaver_threshold: str = "10"

    @classmethod
    def of(cls, integration: Integration) -> ScimForm:
        return cls(label=scim_svc.label_of(integration) or "", welcome_email=integration.welcome_email,
                   leaver_threshold=f"{integration.leaver_threshold_pct:g}")

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ScimForm:
        return cls(label=str(data.get("label") or "")[:200], welcome_email=data.get("welcome_email") in ("on", "1"),
                   leaver_threshold=str(data.get("leaver_threshold") or "").strip()[:10])

    def threshold(self) -> float:
        try:
            return float(self.leaver_threshold.replace("%", "").strip())
        except ValueError:
            raise ServiceError("The leaver safeguard is a percentage between 0 and 100, such as 10.") from None


def _scim_integration(session: Session, admin: AdminUser, integration_id: int) -> Integration:
    integration = integration_of(session, admin, integration_id)
    if integration.kind != KIND:
        not_found("This page")
    return integration


def _setup_page(request: Request, integration: Integration | None, form: ScimForm, *, error: str | None = None,
                status_code: int = 200) -> Response:
    return render(request, "scim/setup.html", {
        "nav": "integrations", "integration": integration, "form": form, "error": error,
        "steps": steps_of(integration, STEP, KIND), "kind_name": scim_svc.display_name(),
        "action": f"/integrations/{integration.id}/setup/{STEP}" if integration else f"/integrations/new/{KIND}",
    }, status_code=status_code)


@router.get(f"/integrations/new/{KIND}")
def new_scim(request: Request, admin: CurrentAdmin) -> Response:
    return _setup_page(request, None, ScimForm())


@router.post(f"/integrations/new/{KIND}", dependencies=[CsrfForm])
async def create_scim(request: Request, session: SessionDep, admin: CurrentAdmin) -> Response:
    form = ScimForm.parse(await read_form(request))
    try:
        with session.begin_nested():
            integration = scim_svc.start_scim_integration(
                session, admin.programme, admin, label=form.label, welcome_email=form.welcome_email,
                leaver_threshold_pct=form.threshold())
            integration.wizard_step = "mapping"
    except ServiceError as exc:
        return _setup_page(request, None, form, error=exc.reason, status_code=400)
    return RedirectResponse(f"/integrations/{integration.id}/setup/mapping", status_code=303)


@router.get(f"/integrations/{{integration_id}}/setup/{STEP}")
def setup_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _scim_integration(session, admin, integration_id)
    return _setup_page(request, integration, ScimForm.of(integration))


@router.post(f"/integrations/{{integration_id}}/setup/{STEP}", dependencies=[CsrfForm])
async def save_setup(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _scim_integration(session, admin, integration_id)
    form = ScimForm.parse(await read_form(request))
    try:
        with session.begin_nested():
            update_settings(session, integration, admin, welcome_email=form.welcome_email,
                            leaver_threshold_pct=form.threshold())
            scim_svc.set_label(integration, form.label)
    except ServiceError as exc:
        return _setup_page(request, integration, form, error=exc.reason, status_code=400)
    if is_draft(integration):
        advance(integration, "mapping")
        return RedirectResponse(f"/integrations/{integration.id}/setup/mapping", status_code=303)
    flash(request, "Settings saved.")
    return RedirectResponse(f"/integrations/{integration.id}", status_code=303)


@router.get("/integrations/{integration_id}/scim/review")
def review_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _scim_integration(session, admin, integration_id)
    if not is_draft(integration):
        return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
    return render(request, "scim/review.html", {
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, "review"),
        "mapped": mapping_rows(integration), "label": scim_svc.label_of(integration),
        "base_url": scim_svc.base_url(),
    })


def _token_page(request: Request, integration: Integration, token: str, *, rotated: bool) -> Response:
    response = render(request, "scim/token.html", {
        "nav": "integrations", "integration": integration, "token": token, "rotated": rotated,
        "base_url": scim_svc.base_url(), "label": scim_svc.label_of(integration),
    })
    response.headers["Cache-Control"] = "no-store"  # the token is in this page only
    return response


@router.post("/integrations/{integration_id}/scim/publish", dependencies=[CsrfForm])
def publish(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _scim_integration(session, admin, integration_id)
    try:
        with session.begin_nested():
            token = scim_svc.publish_scim(session, integration, admin)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        target = "scim/review" if is_draft(integration) else ""
        return RedirectResponse(f"/integrations/{integration.id}/{target}".rstrip("/"), status_code=303)
    return _token_page(request, integration, token, rotated=False)


@router.get("/integrations/{integration_id}/scim/rotate")
def rotate_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _scim_integration(session, admin, integration_id)
    if integration.status in (IntegrationStatus.DRAFT.value, IntegrationStatus.REVOKED.value):
        flash(request, "Only a published SCIM integration that was not revoked has a token to rotate.", "error")
        return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
    return render(request, "scim/rotate.html", {"nav": "integrations", "integration": integration,
                                                "view": scim_svc.token_view(session, integration)})


@router.post("/integrations/{integration_id}/scim/rotate", dependencies=[CsrfForm])
def rotate(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _scim_integration(session, admin, integration_id)
    try:
        with session.begin_nested():
            token = scim_svc.rotate_token(session, integration, admin)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
    return _token_page(request, integration, token, rotated=True)
