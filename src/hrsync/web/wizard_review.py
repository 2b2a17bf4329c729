"""The setup wizard's last step: Review, a preview of the first import (a queued dry run), Publish.

The preview is a dry run with the ``preview`` trigger handed to a worker
(:func:`hrsync.services.imports.preview`; a new one replaces the last); the review page follows
it with the same live progress bar as *Import data now*, and once it has finished explains every
person read and shows examples with human labels and dates in the integration's format
(:mod:`hrsync.services.review`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrsync.domain import validate_mapping
from hrsync.domain.display import change_lines
from hrsync.services import imports, uploads
from hrsync.services.adoption import adoption_offers, publish_adopting
from hrsync.services.errors import ServiceError
from hrsync.services.imports import RunBlocked, failure_advice, progress_of, source_name
from hrsync.services.integrations import kind_for, mapping_of, status_map_of
from hrsync.services.queries import latest_preview
from hrsync.services.review import (
    mapping_rows,
    people_read,
    rule_lines,
    scope_lines,
    source_field_labels,
    transform_lines,
)
from hrsync.store.enums import is_finished
from hrsync.store.models import Frequency, ImportRun, Integration
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, render
from hrsync.web.wizard_common import (
    FREQUENCIES,
    LIFECYCLE_LABELS,
    integration_of,
    is_push,
    second_step,
    steps_of,
)

router = APIRouter(include_in_schema=False)

PREVIEW_POLL_MS = 700
KIND_LABELS = {
    "create": "New members", "update": "Updated", "unchanged": "Unchanged", "leaver": "Leavers",
    "reinstate": "Reinstated", "pending": "Pending (pre-hire)",
}



def _fresh_preview(session: Session, integration: Integration) -> ImportRun | None:
    """The newest preview made since the integration last changed (older ones show old settings)."""
    run = latest_preview(session, integration.id)
    if run is None or run.created_at < integration.updated_at:
        return None
    return run


def _preview_examples(run: ImportRun, date_format: str) -> list[dict[str, Any]]:
    preview = (run.plan or {}).get("preview", {}) if isinstance(run.plan, dict) else {}
    out = []
    for kind, examples in preview.items():
        if kind == "unchanged":
            continue
        shown = [
            {"employee_id": ex.get("employee_id"), "name": ex.get("name") or "",
             "changes": change_lines(ex.get("changes") or {}, date_format)}
            for ex in examples
        ]
        out.append({"kind": kind, "label": KIND_LABELS.get(kind, kind.replace("_", " ").capitalize()),
                    "examples": shown})
    return out


@router.get("/integrations/{integration_id}/setup/review")
def review_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    if is_push(integration.kind):  # nothing to preview: the SCIM set-up's own Review and publish
        return RedirectResponse(f"/integrations/{integration.id}/scim/review", status_code=303)
    run = _fresh_preview(session, integration)
    finished = run is not None and is_finished(run.status)
    problems = validate_mapping(mapping_of(integration))
    date_format = integration.date_format or admin.programme.date_format
    labels = source_field_labels(integration)
    mapped = mapping_rows(integration, labels)
    source_kind = kind_for(integration)
    return render(request, "wizard/review.html", {
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, "review"),
        "run": run, "finished": finished,
        "progress": progress_of(session, run) if run is not None else None,
        "progress_url": f"/integrations/{integration.id}/runs/{run.id}/progress" if run is not None else None,
        "poll_ms": PREVIEW_POLL_MS, "failure": failure_advice(run, integration) if run is not None else None,
        "examples": _preview_examples(run, date_format) if run is not None and finished else [],
        "people": people_read(run) if run is not None and finished else None,
        "scope": scope_lines(run, labels) if run is not None and finished else [],
        "mapped": mapped, "rules": rule_lines(integration, labels), "transforms": transform_lines(integration, labels),
        "status_map": {k: v.value for k, v in status_map_of(integration).items()},
        "frequency_label": dict(FREQUENCIES).get(integration.frequency, integration.frequency),
        "problems": problems, "timezone": admin.programme.timezone, "lifecycles": LIFECYCLE_LABELS,
        "ready": source_kind.not_ready(integration) is None, "file_kind": source_kind.takes_files,
        "words": source_kind.words,
        "waiting": uploads.waiting_file(integration)[0], "drop_folder": uploads.drop_folder(integration),
        "second_step": second_step(integration.kind),
        "adoption": adoption_offers(session, integration) if finished else [],
    })


@router.post("/integrations/{integration_id}/setup/preview", dependencies=[CsrfForm])
def preview(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """Queue a dry run and come back to the review page, which follows its progress."""
    integration = integration_of(session, admin, integration_id)
    try:
        imports.preview(session, integration, admin)
    except RunBlocked as exc:
        session.rollback()
        flash(request, exc.reason, "warning")
    except ServiceError as exc:
        session.rollback()
        flash(request, exc.reason, "error")
    return RedirectResponse(f"/integrations/{integration.id}/setup/review#preview", status_code=303)


@router.post("/integrations/{integration_id}/setup/publish", dependencies=[CsrfForm])
def publish_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
                        adopt_from: Annotated[str, Form(max_length=12)] = "") -> Response:
    integration = integration_of(session, admin, integration_id)
    try:
        with session.begin_nested():
            adopted = publish_adopting(session, integration, admin,
                                       int(adopt_from) if adopt_from.strip().isdigit() else None)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/integrations/{integration.id}/setup/review", status_code=303)
    if integration.frequency == Frequency.MANUAL.value:
        when = "Imports run when you choose Import data now."
    else:
        when = "Imports now run on the schedule you chose."
    took = f" It adopted {adopted:,} member{'s' if adopted != 1 else ''}." if adopted else ""
    flash(request, f"{source_name(integration)} is live. {when}{took}")
    return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
