"""The JSON API under ``/api/v1``: integrations, runs, their files and members, per programme.

Authentication is a per-programme token (``Authorization: Bearer hrs_…``) an administrator creates
in the portal; no token, a malformed, revoked or expired one, or one whose owner was deactivated,
is ``401``. Every route declares the scope it needs (reads ``read``, starting an import ``import``,
approving or discarding a held run ``approve``); a token without it gets ``403`` naming the scope.
Both are checked before the request's parameters and body are read (:mod:`hrsync.web.api_auth`).

**Writing a new operation.** Declare it on :data:`router` (its routes are
:class:`~hrsync.web.api_auth.ApiRoute`): take ``ReadToken``, ``ImportToken`` or ``ApproveToken`` (an
operation without one is refused when the app starts), ids as ``IntegrationId``/``RunId``/``MemberId``
(or another ``Annotated[int, Path(ge=1, le=ID_MAX)]``), pages as ``PageNumber``/``PerPage``, a body as a
pydantic model with ``strict=True`` and ``extra="forbid"``, and a ``response_model`` (or a media type
in ``responses``); answer "not found" with ``deps.not_found("Member 7")`` (the detail names it) and
every other refusal with a documented status. ``tests/web/test_api_fuzz.py`` then fuzzes it.
Everything is scoped to the token's programme: another programme's integration, run or member is
``404`` exactly like one that does not exist, so the API does not even confirm that an id exists
elsewhere (the scope is checked before any look-up, so a ``403`` says nothing about an id either).

The API is thin on purpose: it calls the same services as the portal pages
(:mod:`hrsync.services.queries`, :mod:`hrsync.services.imports`), so a rule is never written twice.
Starting a run and deciding on a held one are queued for a worker: the answer is ``202`` with the
run as it is now, and the run's own URL shows the outcome once the worker is done.
The app serves the OpenAPI document at ``/api/v1/openapi.json``
(the portal's pages are left out of it); the pydantic models of :mod:`hrsync.web.api_models`
describe every body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.services import imports
from hrsync.services import trace as tracing
from hrsync.services.errors import NotFound, PersonNotFound, RunBlocked, RunNotFound, ServiceError
from hrsync.services.exports import issues_csv_lines
from hrsync.services.integrations import integration_in_programme
from hrsync.services.queries import (
    DEFAULT_PER_PAGE,
    MemberFilter,
    latest_run,
    member_in_programme,
    members_page,
    run_in_programme,
    runs_page,
)
from hrsync.store.db import session_factory
from hrsync.store.models import ApiToken, ImportRun, Integration, RunTrigger
from hrsync.web.api_auth import COMMON_RESPONSES, ApiRoute, ApiSession, ApproveToken, ImportToken, ReadToken, Responses
from hrsync.web.api_models import (
    API_PREFIX,
    ConflictOut,
    EmployeeId,
    ErrorOut,
    IntegrationId,
    IntegrationOut,
    MemberId,
    MemberOut,
    MemberPageOut,
    PageNumber,
    PerPage,
    RunId,
    RunOut,
    RunPageOut,
    StartRunIn,
    TraceOut,
)
from hrsync.web.deps import not_found

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

_CSV: Responses = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                         "description": "RFC 4180 CSV, UTF-8 with a BOM, CRLF line ends."}}

# Every operation is an ApiRoute (hrsync.web.api_auth): token, scope and role are checked before the request is read.
router = APIRouter(prefix=API_PREFIX, tags=["api"], responses=COMMON_RESPONSES, route_class=ApiRoute)


def _integration(session: Session, token: ApiToken, integration_id: int) -> Integration:
    try:
        return integration_in_programme(session, token.programme_id, integration_id)
    except NotFound:
        not_found(f"Integration {integration_id}")


def _run(session: Session, token: ApiToken, run_id: int) -> ImportRun:
    try:
        return run_in_programme(session, token.programme_id, run_id)
    except RunNotFound:
        not_found(f"Run {run_id}")


def _integration_out(session: Session, integration: Integration) -> IntegrationOut:
    last = latest_run(session, integration.id)
    return IntegrationOut.of(integration, _run_out(session, last) if last is not None else None)


def _conflict(detail: str, code: str, run_id: int | None = None) -> JSONResponse:
    body = ConflictOut(detail=detail, code=code, run_id=run_id)
    return JSONResponse(status_code=status.HTTP_409_CONFLICT, content=body.model_dump())


# ------------------------------------------------------------------------------------------------
# integrations
# ------------------------------------------------------------------------------------------------


@router.get("/integrations", response_model=list[IntegrationOut], summary="List the programme's integrations")
def list_integrations(session: ApiSession, token: ReadToken) -> list[IntegrationOut]:
    integrations = session.scalars(
        select(Integration).where(Integration.programme_id == token.programme_id).order_by(Integration.id)
    ).all()
    return [_integration_out(session, i) for i in integrations]


@router.get("/integrations/{integration_id}", response_model=IntegrationOut,
            summary="One integration, with its last run")
def get_integration(integration_id: IntegrationId, session: ApiSession, token: ReadToken) -> IntegrationOut:
    return _integration_out(session, _integration(session, token, integration_id))


@router.get("/integrations/{integration_id}/runs", response_model=RunPageOut,
            summary="An integration's import history, newest first")
def list_runs(
    integration_id: IntegrationId,
    session: ApiSession,
    token: ReadToken,
    page: PageNumber = 1,
    per_page: PerPage = DEFAULT_PER_PAGE,
) -> RunPageOut:
    integration = _integration(session, token, integration_id)
    result = runs_page(session, integration.id, page=page, per_page=per_page)
    return RunPageOut(items=[_run_out(session, row.run) for row in result.items], page=result.page,
                      per_page=result.per_page, total=result.total, pages=result.pages)


@router.post(
    "/integrations/{integration_id}/runs",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"model": ConflictOut, "description": "A run is already active or held, or the integration "
                     "cannot import (draft, no access)."}},
    summary="Start an import (or a dry run)",
)
def start_run(
    integration_id: IntegrationId, session: ApiSession, token: ImportToken, body: StartRunIn | None = None
) -> Any:
    integration = _integration(session, token, integration_id)
    dry_run = bool(body and body.dry_run)
    try:
        run = imports.start(session, integration, None, RunTrigger.API.value, dry_run, via=f"api token {token.prefix}")
    except RunBlocked as exc:
        session.rollback()
        return _conflict(exc.reason, "blocked", exc.run_id)
    except ServiceError as exc:
        session.rollback()
        return _conflict(exc.reason, exc.code)
    return _run_out(session, run)


@router.get(
    "/integrations/{integration_id}/trace", response_model=TraceOut,
    responses={409: {"model": ConflictOut, "description": "The person could not be traced (its source could not be "
                     "read, or the source cannot look one person up)."}},
    summary="Explain one person: fetched live, each stage of their import, the planned outcome and why",
)
def trace_person(
    integration_id: IntegrationId, session: ApiSession, token: ReadToken, employee_id: EmployeeId,
) -> Any:
    integration = _integration(session, token, integration_id)
    try:
        return TraceOut.model_validate(tracing.trace(session, integration, employee_id).to_json())
    except ServiceError as exc:
        session.rollback()
        return _conflict(exc.reason, exc.code)


@router.post(
    "/integrations/{integration_id}/trace/apply", response_model=RunOut,
    responses={404: {"model": ErrorOut, "description": "Nothing with this id in the token's programme, or the HR "
                     "system knows nobody by this employee ID (nothing is run); detail names which."},
               409: {"model": ConflictOut, "description": "A run is already active or held, or the "
                     "person could not be traced."}},
    summary="Apply one person's planned change now, as a one-person import (trigger 'single')",
)
def apply_person(
    integration_id: IntegrationId, session: ApiSession, token: ImportToken, employee_id: EmployeeId,
) -> Any:
    integration = _integration(session, token, integration_id)
    try:
        outcome = tracing.apply(session, integration, None, employee_id, via=f"api token {token.prefix}")
    except RunBlocked as exc:
        session.rollback()
        return _conflict(exc.reason, "blocked", exc.run_id)
    except PersonNotFound as exc:
        session.rollback()
        # the sentence says who was not found and that nothing ran; not_found() words only "X was not found."
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content=ErrorOut(detail=exc.reason).model_dump())
    except ServiceError as exc:
        session.rollback()
        return _conflict(exc.reason, exc.code)
    return _run_out(session, _run(session, token, outcome.id))


# ------------------------------------------------------------------------------------------------
# runs
# ------------------------------------------------------------------------------------------------


def _run_out(session: Session, run: ImportRun) -> RunOut:
    pending = imports.decision_pending(session, run)
    return RunOut.of(run, progress=imports.progress_of(session, run),
                     pending_decision=pending.decision if pending else None,
                     failure=imports.failure_advice(run))


@router.get("/runs/{run_id}", response_model=RunOut, summary="A run: status, progress, counts")
def get_run(run_id: RunId, session: ApiSession, token: ReadToken) -> RunOut:
    return _run_out(session, _run(session, token, run_id))


def _decide(session: Session, token: ApiToken, run_id: int, approve: bool) -> Any:
    run = _run(session, token, run_id)
    try:
        (imports.approve if approve else imports.reject)(session, run)
    except ServiceError as exc:
        session.rollback()
        return _conflict(exc.reason, exc.code if exc.code != "invalid" else "state", run.id)
    session.expire_all()
    body = _run_out(session, _run(session, token, run_id))
    return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content=body.model_dump(mode="json"))


_DECISION: Responses = {
    202: {"model": RunOut, "description": "The decision is queued; the run shows it once a worker applied it."},
    409: {"model": ConflictOut, "description": "The run is not held, or a decision on it is under way."},
}


@router.post("/runs/{run_id}/approve", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED,
             responses=_DECISION, summary="Apply a held run's plan (queued for a worker)")
def approve(run_id: RunId, session: ApiSession, token: ApproveToken) -> Any:
    return _decide(session, token, run_id, approve=True)


@router.post("/runs/{run_id}/reject", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED,
             responses=_DECISION, summary="Discard a held run's plan (queued for a worker)")
def reject(run_id: RunId, session: ApiSession, token: ApproveToken) -> Any:
    return _decide(session, token, run_id, approve=False)


def issues_csv_response(run: ImportRun, *, warnings: bool) -> StreamingResponse:
    """A run's errors or warnings as a CSV download (the portal uses it too).

    The body streams from its own session: the request's session is closed by the time a large
    file finishes.
    """
    run_id = run.id

    def lines() -> Iterator[str]:
        with session_factory()() as session:
            yield from issues_csv_lines(session, run_id, warnings=warnings)

    kind = "warnings" if warnings else "errors"
    return StreamingResponse(
        lines(),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="run-{run_id}-{kind}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/runs/{run_id}/errors.csv", response_class=StreamingResponse, responses=_CSV,
            summary="A run's errors as CSV")
def errors_csv(run_id: RunId, session: ApiSession, token: ReadToken) -> StreamingResponse:
    return issues_csv_response(_run(session, token, run_id), warnings=False)


@router.get("/runs/{run_id}/warnings.csv", response_class=StreamingResponse, responses=_CSV,
            summary="A run's warnings as CSV")
def warnings_csv(run_id: RunId, session: ApiSession, token: ReadToken) -> StreamingResponse:
    return issues_csv_response(_run(session, token, run_id), warnings=True)


# ------------------------------------------------------------------------------------------------
# members
# ------------------------------------------------------------------------------------------------


@router.get("/members", response_model=MemberPageOut, summary="Members: search, filter by status, paged")
def list_members(
    session: ApiSession,
    token: ReadToken,
    q: Annotated[
        str | None, Query(max_length=200, description="Name, e-mail or employee ID contains.")
    ] = None,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern="^(pending|invited|active|leaver|deleted)$"),
    ] = None,
    page: PageNumber = 1,
    per_page: PerPage = DEFAULT_PER_PAGE,
) -> MemberPageOut:
    flt = MemberFilter.of(q, status_)
    result = members_page(session, token.programme_id, flt, page=page, per_page=per_page)
    return MemberPageOut(items=[MemberOut.of(m) for m in result.items], page=result.page,
                         per_page=result.per_page, total=result.total, pages=result.pages)


@router.get("/members/{member_id}", response_model=MemberOut, summary="One member")
def get_member(member_id: MemberId, session: ApiSession, token: ReadToken) -> MemberOut:
    member = member_in_programme(session, token.programme_id, member_id)
    if member is None:
        not_found(f"Member {member_id}")
    return MemberOut.of(member)
