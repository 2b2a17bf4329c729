"""Explain one person (and apply their change): the dashboard's search, the member page's *Trace*.

``GET /integrations/{id}/trace?q=…`` finds members and people in the HR system by employee ID,
e-mail or name; ``?employee_id=…`` traces one person live (:mod:`hrsync.services.trace`);
``POST /integrations/{id}/trace/apply`` applies their change as a one-person import (CSRF, and the
import permission every changing form needs) and opens that run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hrsync.services import trace as tracing
from hrsync.services.admins import may_change
from hrsync.services.errors import RunBlocked, ServiceError
from hrsync.services.integrations import integration_in_programme
from hrsync.store.models import AdminUser
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, render

router = APIRouter(include_in_schema=False)


def _url(integration_id: int, employee_id: str | None = None) -> str:
    from urllib.parse import urlencode

    base = f"/integrations/{integration_id}/trace"
    return base if not employee_id else f"{base}?{urlencode({'employee_id': employee_id})}"


@router.get("/integrations/{integration_id}/trace")
def trace_page(
    request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
    q: str | None = None, employee_id: str | None = None,
) -> Response:
    integration = integration_in_programme(session, admin.programme_id, integration_id)
    admin_user = session.get(AdminUser, admin.id)
    can_apply = admin_user is not None and may_change(admin_user)
    found: list[tracing.Found] | None = None
    result: tracing.Trace | None = None
    error: str | None = None
    try:
        if employee_id:
            result = tracing.trace(session, integration, employee_id)
        elif q:
            found = tracing.search(session, integration, q)
    except ServiceError as exc:
        session.rollback()
        error = exc.reason
    return render(request, "trace/trace.html", {
        "nav": "integrations", "integration": integration, "q": (q or "").strip(), "found": found,
        "trace": result, "error": error, "can_apply": can_apply, "employee_id": (employee_id or "").strip(),
    })


@router.post("/integrations/{integration_id}/trace/apply", dependencies=[CsrfForm])
def apply(
    request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
    employee_id: Annotated[str, Form()],
) -> Response:
    integration = integration_in_programme(session, admin.programme_id, integration_id)
    actor = session.get(AdminUser, admin.id)
    try:
        outcome = tracing.apply(session, integration, actor, employee_id, via="portal")
    except RunBlocked as exc:
        session.rollback()
        flash(request, f"{exc.reason} Apply this person once it is over.", "error")
        return RedirectResponse(_url(integration_id, employee_id), status_code=303)
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
        return RedirectResponse(_url(integration_id, employee_id), status_code=303)
    flash(request, f"Applied {employee_id}: one-person import {outcome.status}.", "success")
    return RedirectResponse(f"/integrations/{integration_id}/runs/{outcome.id}", status_code=303)
