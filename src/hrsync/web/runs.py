"""Import history, one run's impact and files, held-run decisions, and *Import data now*.

The progress bar reads the run row through ``/integrations/{id}/runs/{run_id}/progress`` (a small
JSON document polled by ``static/progress.js``), so it works wherever the import runs: on the
portal's own worker thread or on a Celery worker on another machine. Without JavaScript the
import page refreshes itself (``<meta http-equiv="refresh">`` inside ``<noscript>``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hrsync.domain.display import change_lines
from hrsync.services import imports, undo, uploads
from hrsync.services.errors import RunBlocked, ServiceError
from hrsync.services.imports import failure_advice, progress_of
from hrsync.services.integrations import integration_in_programme, kind_for
from hrsync.services.queries import (
    CHANGE_LABELS,
    IMPACT_KINDS,
    IMPACT_LABELS,
    active_run,
    format_duration,
    held_plan_summary,
    impact_members,
    is_active,
    latest_run,
    run_duration_seconds,
    run_impact,
    run_in_programme,
    run_issues,
    run_rows,
    runs_page,
)
from hrsync.services.run_views import (
    STATUS_LABELS,
    is_preview,
    run_title,
)
from hrsync.store.models import AdminUser, ImportRun, Integration, IntegrationStatus, RunTrigger
from hrsync.web.api import issues_csv_response
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render

router = APIRouter(include_in_schema=False)

POLL_INTERVAL_MS = 700
NO_SCRIPT_REFRESH_S = 2


def _scoped(session: Session, admin: AdminUser, integration_id: int, run_id: int | None = None
            ) -> tuple[Integration, ImportRun | None]:
    """The integration (and run) if they belong to the admin's programme; otherwise a 404 page."""
    integration = integration_in_programme(session, admin.programme_id, integration_id)
    if run_id is None:
        return integration, None
    run = run_in_programme(session, admin.programme_id, run_id)
    if run.integration_id != integration.id:
        not_found("This import")
    return integration, run


def _common(integration: Integration, admin: AdminUser) -> dict[str, Any]:
    return {
        "nav": "integrations", "integration": integration, "status_labels": STATUS_LABELS,
        "format_duration": format_duration,
        "impact_kinds": IMPACT_KINDS, "impact_labels": IMPACT_LABELS, "change_labels": CHANGE_LABELS,
        "is_preview": is_preview, "change_lines": change_lines,
        "shown_date_format": integration.date_format or admin.programme.date_format,
    }


def _run_url(integration_id: int, run_id: int) -> str:
    return f"/integrations/{integration_id}/runs/{run_id}"


# ------------------------------------------------------------------------------------------------
# import history
# ------------------------------------------------------------------------------------------------


@router.get("/integrations/{integration_id}/runs")
def history(
    request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    integration, _ = _scoped(session, admin, integration_id)
    runs = runs_page(session, integration.id, page=page, per_page=25)
    return render(request, "runs/history.html", {
        **_common(integration, admin), "runs": runs, "failure_of": lambda run: failure_advice(run, integration),
    })


@router.get("/integrations/{integration_id}/runs/{run_id}")
def run_page(
    request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int, run_id: int,
    kind: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    errors_page: Annotated[int, Query(ge=1)] = 1,
    warnings_page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    integration, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    kind = kind if kind in IMPACT_KINDS else None
    ctx = {
        **_common(integration, admin),
        "run": run,
        "row": run_rows(session, [run])[0],
        "progress": progress_of(session, run),
        "pending": imports.decision_pending(session, run),
        "failure": failure_advice(run, integration),
        "progress_url": f"{_run_url(integration.id, run.id)}/progress",
        "poll_ms": POLL_INTERVAL_MS,
        "impact": run_impact(session, run.id),
        "members": impact_members(session, run.id, kind=kind, page=page, per_page=25),
        "kind": kind,
        "errors": run_issues(session, run.id, severity="error", page=errors_page, per_page=25),
        "warnings": run_issues(session, run.id, severity="warning", page=warnings_page, per_page=25),
        "held": held_plan_summary(run) if run.status == "held" else None,
        "can_undo": undo.can_undo(session, run),
        "undo_of": run_in_programme(session, admin.programme_id, run.undo_of_id) if run.undo_of_id else None,
    }
    return render(request, "runs/run.html", ctx)


# ------------------------------------------------------------------------------------------------
# undo a run: a confirmation page, then one transaction
# ------------------------------------------------------------------------------------------------


@router.get("/integrations/{integration_id}/runs/{run_id}/undo")
def undo_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
              run_id: int) -> Response:
    """What undoing this run would do now, and the button that does it (or why it cannot be undone)."""
    integration, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    refusal = undo.why_not_undoable(session, run)
    preview = None
    if refusal is None:
        try:
            preview = undo.undo_preview(session, run.id, programme_id=admin.programme_id)
        except ServiceError as exc:
            refusal = exc.reason
        _, run = _scoped(session, admin, integration_id, run_id)  # reloaded after the preview's rollback
    return render(request, "runs/undo.html", {
        **_common(integration, admin), "run": run, "refusal": refusal, "preview": preview,
        "note": undo.INVITATIONS_NOTE,
    })


@router.post("/integrations/{integration_id}/runs/{run_id}/undo", dependencies=[CsrfForm])
def undo_now(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
             run_id: int) -> Response:
    _, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    try:
        outcome = undo.undo(session, run.id, admin, programme_id=admin.programme_id)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"{_run_url(integration_id, run_id)}/undo", status_code=303)
    if outcome.status == "held":
        flash(request, "The undo would make too many leavers at once: it is held for approval, like an import.",
              "info")
    else:
        flash(request, f"{run_title(run)} was undone.")
    return RedirectResponse(_run_url(integration_id, outcome.id), status_code=303)


@router.get("/integrations/{integration_id}/runs/{run_id}/errors.csv")
def run_errors_csv(session: SessionDep, admin: CurrentAdmin, integration_id: int, run_id: int) -> Response:
    _, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    return issues_csv_response(run, warnings=False)


@router.get("/integrations/{integration_id}/runs/{run_id}/warnings.csv")
def run_warnings_csv(session: SessionDep, admin: CurrentAdmin, integration_id: int, run_id: int) -> Response:
    _, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    return issues_csv_response(run, warnings=True)


@router.get("/integrations/{integration_id}/runs/{run_id}/progress")
def run_progress_json(session: SessionDep, admin: CurrentAdmin, integration_id: int, run_id: int) -> Response:
    """What the progress bar polls; never cached (each answer is a fresh read of the run row)."""
    _, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    body = progress_of(session, run).to_json()
    body["url"] = _run_url(integration_id, run_id)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------------
# held runs: approve or reject
# ------------------------------------------------------------------------------------------------


def _decide(request: Request, session: Session, admin: AdminUser, integration_id: int, run_id: int,
            approve: bool) -> Response:
    """Record the decision and queue it; the run's page follows a worker applying it."""
    _, run = _scoped(session, admin, integration_id, run_id)
    assert run is not None
    try:
        (imports.approve if approve else imports.reject)(session, run, admin)
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
        return RedirectResponse(_run_url(integration_id, run_id), status_code=303)
    if approve:
        flash(request, "Import approved: its changes are being applied.")
    else:
        flash(request, "Import rejected: nothing will be changed. The next import can run.", "info")
    return RedirectResponse(_run_url(integration_id, run_id), status_code=303)


@router.post("/integrations/{integration_id}/runs/{run_id}/approve", dependencies=[CsrfForm])
def approve(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
            run_id: int) -> Response:
    return _decide(request, session, admin, integration_id, run_id, approve=True)


@router.post("/integrations/{integration_id}/runs/{run_id}/reject", dependencies=[CsrfForm])
def reject(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
           run_id: int) -> Response:
    return _decide(request, session, admin, integration_id, run_id, approve=False)


# ------------------------------------------------------------------------------------------------
# Import data now
# ------------------------------------------------------------------------------------------------


def _import_url(integration_id: int, run_id: int | None = None) -> str:
    base = f"/integrations/{integration_id}/import"
    return base if run_id is None else f"{base}?run={run_id}"


@router.get("/integrations/{integration_id}/import")
def import_page(
    request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int, run: int | None = None,
) -> Response:
    """The start button, or the run being watched (``?run=``), or the one already active/held."""
    integration, _ = _scoped(session, admin, integration_id)
    watched: ImportRun | None = None
    if run is not None:
        _, watched = _scoped(session, admin, integration_id, run)
    else:
        watched = active_run(session, integration.id)
    not_ready = kind_for(integration).not_ready(integration)
    ctx: dict[str, Any] = {
        **_common(integration, admin),
        "run": watched,
        "not_ready": not_ready, "file_kind": uploads.takes_files(integration),
        "words": kind_for(integration).words,
        "waiting": uploads.waiting_file(integration)[0] if watched is None else None,
        "can_start": integration.status in (IntegrationStatus.LIVE.value, IntegrationStatus.PAUSED.value)
        and not_ready is None,
        # the last real import: a preview or a dry run is never called the "Last import"
        "last_run": latest_run(session, integration.id, dry_run=False) if watched is None else None,
        "poll_ms": POLL_INTERVAL_MS,
        "refresh_s": NO_SCRIPT_REFRESH_S,
    }
    if watched is not None:
        progress = progress_of(session, watched)
        ctx.update(
            progress=progress,
            progress_url=f"{_run_url(integration.id, watched.id)}/progress",
            impact=run_impact(session, watched.id) if progress.finished else None,
            moving=is_active(watched.status) and not progress.held,
            failure=failure_advice(watched, integration),
            row_duration=format_duration(run_duration_seconds(watched)) if progress.finished else None,
        )
    return render(request, "runs/import.html", ctx)


@router.post("/integrations/{integration_id}/import", dependencies=[CsrfForm])
def start(
    request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
    dry_run: Annotated[str | None, Form()] = None,
) -> Response:
    integration, _ = _scoped(session, admin, integration_id)
    try:
        run = imports.start(session, integration, admin, RunTrigger.MANUAL.value, bool(dry_run))
    except RunBlocked as exc:
        session.rollback()
        flash(request, "An import of this integration is already under way or waiting for a decision: "
                       "here it is.", "info")
        return RedirectResponse(_import_url(integration_id, exc.run_id), status_code=303)
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
        return RedirectResponse(_import_url(integration_id), status_code=303)
    return RedirectResponse(_import_url(integration_id, run.id), status_code=303)
