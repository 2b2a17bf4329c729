"""The *File* step of a membership-file integration's wizard, and the dashboard's *Upload a file and import*.

A file is uploaded as a multipart form and handed to :func:`hrsync.services.uploads.upload`, which
stores it in the integration's drop folder only when the source can read it; a refused file shows
the source's reason on the page and nothing is kept. The page also shows the drop folder (where an
SFTP server may deliver files instead) and the file waiting there (see :mod:`hrsync.web.wizard_common`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from hrsync.services import imports, uploads
from hrsync.services.errors import ServiceError
from hrsync.services.imports import RunBlocked
from hrsync.store.enums import RunTrigger
from hrsync.store.models import AdminUser, Integration
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render
from hrsync.web.wizard_common import advance, after_save, integration_of, is_draft, steps_of

router = APIRouter(include_in_schema=False)


def _file_integration(session: Session, admin: AdminUser, integration_id: int) -> Integration:
    integration = integration_of(session, admin, integration_id)
    if not uploads.takes_files(integration):
        not_found("This page")
    return integration


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def file_context(integration: Integration) -> dict[str, Any]:
    """What the File step and the dashboard show about the drop folder and the file waiting in it."""
    waiting, problem = uploads.waiting_file(integration)
    return {"waiting": waiting, "waiting_problem": problem, "drop_folder": uploads.drop_folder(integration),
            "max_size": _size(uploads.max_upload_bytes()), "human_size": _size}


def _file_page(request: Request, integration: Integration, *, error: str | None = None,
               error_code: str | None = None, status_code: int = 200) -> Response:
    return render(request, "wizard/file.html", {
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, "file"),
        "error": error, "error_code": error_code, **file_context(integration),
    }, status_code=status_code)


async def _uploaded(request: Request) -> UploadFile | None:
    """The form's ``file`` part, when a file was chosen."""
    form = await request.form()
    part = form.get("file")
    if isinstance(part, str) or part is None or not part.filename:
        return None
    return part


@router.get("/integrations/{integration_id}/setup/file")
def file_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    return _file_page(request, _file_integration(session, admin, integration_id))


@router.post("/integrations/{integration_id}/setup/file", dependencies=[CsrfForm])
async def save_file(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """Upload a file (or keep the one waiting) and move on to the mapping."""
    integration = _file_integration(session, admin, integration_id)
    part = await _uploaded(request)
    if part is not None:
        try:
            stored = uploads.upload(integration, part.filename or "", part.file)
        except ServiceError as exc:
            return _file_page(request, integration, error=exc.reason, error_code=exc.code, status_code=400)
        rows = "" if stored.row_count is None else f" ({stored.row_count:,} rows)"
        flash(request, f"{stored.name} was uploaded{rows}.")
    elif uploads.waiting_file(integration)[0] is None:
        return _file_page(request, integration, error="Choose a CSV file to upload.", error_code="no_file",
                          status_code=400)
    advance(integration, "mapping")
    return RedirectResponse(after_save(integration, "mapping") if is_draft(integration)
                            else f"/integrations/{integration.id}/setup/file", status_code=303)


@router.post("/integrations/{integration_id}/upload", dependencies=[CsrfForm])
async def upload_and_import(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int
                            ) -> Response:
    """The dashboard's *Upload a file and import*: store the file, queue an import, follow its progress."""
    integration = _file_integration(session, admin, integration_id)
    back = f"/integrations/{integration.id}"
    part = await _uploaded(request)
    if part is None:
        flash(request, "Choose a CSV file to upload.", "error")
        return RedirectResponse(back, status_code=303)
    try:
        stored = uploads.upload(integration, part.filename or "", part.file)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(back, status_code=303)
    try:
        run = imports.start(session, integration, admin, RunTrigger.MANUAL.value, via="upload")
    except RunBlocked as exc:
        session.rollback()
        flash(request, f"{stored.name} was uploaded; an import is already under way or waiting for a decision, "
                       "and the next import reads the newest file.", "info")
        return RedirectResponse(f"/integrations/{integration.id}/import?run={exc.run_id}", status_code=303)
    except ServiceError as exc:
        session.rollback()
        flash(request, f"{stored.name} was uploaded, but the import could not start: {exc.reason}", "error")
        return RedirectResponse(back, status_code=303)
    flash(request, f"{stored.name} was uploaded; importing it now.")
    return RedirectResponse(f"/integrations/{integration.id}/import?run={run.id}", status_code=303)
