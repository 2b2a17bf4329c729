"""An integration's dashboard: status, schedule, last import, tools, and who did what when.

*Import data now* and *Import history* are the runs pages (``/integrations/{id}/import`` and
``/integrations/{id}/runs``); *Edit* and *Re-authorize* reuse the wizard's pages; pausing,
resuming and revoking are the services' rules, called from small confirmed forms here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.activity_words import sentence
from hrsync.domain.fields import MEMBER_FIELDS
from hrsync.services import webhooks
from hrsync.services.errors import ServiceError
from hrsync.services.imports import active_run, source_name
from hrsync.services.integrations import integration_in_programme, kind_for, pause, resume, revoke
from hrsync.services.quarantine import quarantine_of, retry_now
from hrsync.services.queries import latest_run
from hrsync.services.run_views import run_number_words
from hrsync.services.scim import token_view as scim_token_view
from hrsync.store.models import ActivityLog, AdminUser, Integration, IntegrationStatus
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, render
from hrsync.web.wizard_common import takes_files
from hrsync.web.wizard_file import file_context

router = APIRouter(include_in_schema=False)

ACTIVITY_LIMIT = 50
def schedule_text(integration: Integration) -> str:
    """The schedule in words, e.g. "Weekly on Monday at 06:00"."""
    frequency = integration.frequency
    at = f" at {integration.schedule_time}" if integration.schedule_time else ""
    if frequency == "manual":
        return "Manual only"  # the card's note says who imports (only those who may press Import data now)
    if frequency == "hourly":
        return "Hourly"
    if frequency == "daily":
        return f"Daily{at}"
    if frequency == "weekly":
        return f"Weekly on {(integration.schedule_day or 'monday').capitalize()}{at}"
    if frequency == "monthly":
        return f"Monthly on day {integration.schedule_day or '1'}{at}"
    return frequency


def _activity(session: Session, integration: Integration) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ActivityLog, AdminUser)
        .outerjoin(AdminUser, AdminUser.id == ActivityLog.admin_id)
        .where(ActivityLog.integration_id == integration.id,
               ActivityLog.programme_id == integration.programme_id)
        .order_by(ActivityLog.created_at.desc(), ActivityLog.id.desc())
        .limit(ACTIVITY_LIMIT)
    ).all()
    source = source_name(integration)
    number = run_number_words(session, (entry.detail for entry, _admin in rows))
    return [
        {"who": (admin.name or admin.email) if admin is not None else "Reward Manager",
         "what": sentence(entry.action, entry.detail, source, number), "when": entry.created_at,
         "action": entry.action}
        for entry, admin in rows
    ]


def _integration(session: Session, admin: AdminUser, integration_id: int) -> Integration:
    return integration_in_programme(session, admin.programme_id, integration_id)


@router.get("/integrations/{integration_id}")
def dashboard(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    last_run = latest_run(session, integration.id, dry_run=False)
    mapping = integration.mapping or {}
    file_kind = takes_files(integration.kind)
    return render(request, "dashboard/dashboard.html", {
        "file_kind": file_kind, **(file_context(integration) if file_kind else {}),
        "logo": kind_for(integration).catalogue.logo,
        "nav": "integrations", "integration": integration, "last_run": last_run,
        "current_run": active_run(session, integration.id), "activity": _activity(session, integration),
        "schedule": schedule_text(integration), "mapped_count": len(mapping),
        "unique_key": mapping.get("employee_id"), "email_source": mapping.get("email"),
        "member_fields": MEMBER_FIELDS, "quarantine": quarantine_of(session, integration),
        "webhooks": webhooks.view(session, integration), "scim": scim_token_view(session, integration),
    })


def _act(request: Request, session: Session, admin: AdminUser, integration_id: int, action: Any,
         done: str) -> Response:
    integration = _integration(session, admin, integration_id)
    try:
        with session.begin_nested():
            action(session, integration, admin)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
    else:
        flash(request, done)
    return RedirectResponse(f"/integrations/{integration.id}", status_code=303)


@router.post("/integrations/{integration_id}/pause", dependencies=[CsrfForm])
def pause_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    push = kind_for(_integration(session, admin, integration_id)).can("push")
    return _act(request, session, admin, integration_id, pause,
                "Paused: the SCIM token is refused until you resume." if push
                else "Imports are paused. Nothing is imported until you resume.")


@router.post("/integrations/{integration_id}/resume", dependencies=[CsrfForm])
def resume_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    return _act(request, session, admin, integration_id, resume, "Imports resumed.")


@router.get("/integrations/{integration_id}/revoke")
def revoke_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    return render(request, "dashboard/revoke.html", {"nav": "integrations", "integration": integration})


@router.post("/integrations/{integration_id}/revoke", dependencies=[CsrfForm])
def revoke_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    if integration.status == IntegrationStatus.REVOKED.value and not integration.secret_encrypted:
        flash(request, "Access was already revoked.", "info")
        return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
    if scim_token_view(session, integration) is not None:
        return _act(request, session, admin, integration_id, revoke,
                    "Access revoked: the SCIM token no longer works. Remove the provisioning in your identity "
                    "provider too.")
    name, place = source_name(integration), kind_for(integration).words.key_place
    return _act(request, session, admin, integration_id, revoke,
                f"Access revoked: the {name} API key was deleted and no import runs until you re-authorize. "
                f"Delete the key in {name} too" + (f" ({place})." if place else "."))


@router.post("/integrations/{integration_id}/retry", dependencies=[CsrfForm])
def retry_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """Retry now: one import of a quarantined integration, at once; its page follows the progress."""
    integration = _integration(session, admin, integration_id)
    try:
        run = retry_now(session, integration, admin)
    except ServiceError as exc:  # not quarantined (any more), another run active, no access
        session.rollback()
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
    flash(request, "Retrying now. If this import succeeds, scheduled imports resume.")
    return RedirectResponse(f"/integrations/{integration.id}/runs/{run.id}", status_code=303)
