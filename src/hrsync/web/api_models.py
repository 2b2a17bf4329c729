"""The JSON API's response and request bodies (pydantic), so OpenAPI describes every field.

Built from the store rows by the ``of`` class methods; the API module stays a list of routes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hrsync.services.imports import FailureAdvice
from hrsync.services.queries import (
    MAX_PAGE,
    MAX_PER_PAGE,
    RunProgress,
    run_duration_seconds,
    run_progress,
)
from hrsync.sources.registry import has_access
from hrsync.store.models import ImportRun, Integration, Member
from hrsync.store.types import ID_MAX

API_PREFIX = "/api/v1"

# Parameters every operation shares, bounded in the OpenAPI document: an id is a positive 64-bit integer
# (a number past it is 422, never a query the database cannot take), a page number at most MAX_PAGE.
IntegrationId = Annotated[int, Path(ge=1, le=ID_MAX, description="An integration of the token's programme.")]
RunId = Annotated[int, Path(ge=1, le=ID_MAX, description="An import run of the token's programme.")]
MemberId = Annotated[int, Path(ge=1, le=ID_MAX, description="A member of the token's programme.")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1 is the first page; past the last, items is empty.")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page.")]
EmployeeId = Annotated[str, Query(min_length=1, max_length=255, description="The person's employee ID in the HR "
                                                                             "system.")]


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong, in one sentence.")


class ConflictOut(BaseModel):
    detail: str
    code: str = Field(description="blocked (another run is active or held), draft, no_access or state; for the "
                                  "members added by hand, the rule that refused (see each operation).")
    run_id: int | None = Field(default=None, description="The run that blocks this one, when there is one.")


class CountsOut(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    leavers: int = 0
    reinstated: int = 0
    pending: int = 0
    errors: int = 0
    warnings: int = 0


class ProgressOut(BaseModel):
    phase: str = Field(description="queued, fetching, planning, applying or done.")
    label: str
    processed: int = Field(description="People read from the HR system so far.")
    total: int | None = Field(description="People in the HR directory, once known.")
    percent: int | None = Field(description="0-100; null while the directory size is unknown.")
    finished: bool
    held: bool

    @classmethod
    def of(cls, p: RunProgress) -> ProgressOut:
        return cls(phase=p.phase, label=p.label, processed=p.processed, total=p.total, percent=p.percent,
                   finished=p.finished, held=p.held)


class RunLinks(BaseModel):
    self: str
    errors_csv: str
    warnings_csv: str


class RunOut(BaseModel):
    """One import run: its state, live progress and counts."""

    id: int
    integration_id: int
    trigger: str = Field(description="manual, schedule, cli or api.")
    triggered_by_id: int | None
    dry_run: bool
    status: str = Field(
        description="queued, running, succeeded, succeeded_with_errors, held, rejected, expired or failed."
    )
    reason: str | None = Field(description="Why the run failed or is held.")
    failure_code: str | None = Field(default=None, description="A failed run's code, e.g. bad_key or timeout.")
    failure_kind: str | None = Field(
        default=None, description="A failed run's kind: configuration (fix a setting), transient (retry) or internal."
    )
    advice: str | None = Field(default=None, description="What to do about a failed run, in one or two sentences.")
    pending_decision: str | None = Field(
        default=None, description="approve or reject while a decision on this held run waits for a worker."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When a held run expires unless approved or rejected.")
    duration_seconds: float | None
    progress: ProgressOut
    counts: CountsOut
    links: RunLinks

    @classmethod
    def of(cls, run: ImportRun, *, progress: RunProgress | None = None, pending_decision: str | None = None,
           failure: FailureAdvice | None = None) -> RunOut:
        progress = progress or run_progress(run)
        base = f"{API_PREFIX}/runs/{run.id}"
        return cls(
            id=run.id, integration_id=run.integration_id, trigger=run.trigger,
            triggered_by_id=run.triggered_by_id, dry_run=bool(run.dry_run), status=run.status,
            reason=run.reason, failure_code=failure.code if failure else None,
            failure_kind=failure.kind if failure else None, advice=failure.advice if failure else None,
            pending_decision=pending_decision, created_at=run.created_at, started_at=run.started_at,
            finished_at=run.finished_at, expires_at=run.expires_at,
            duration_seconds=run_duration_seconds(run), progress=ProgressOut.of(progress),
            counts=CountsOut(**progress.counts),
            links=RunLinks(self=base, errors_csv=f"{base}/errors.csv", warnings_csv=f"{base}/warnings.csv"),
        )


class RunPageOut(BaseModel):
    items: list[RunOut]
    page: int
    per_page: int
    total: int
    pages: int


class IntegrationOut(BaseModel):
    """An integration's settings and state; the API key itself is never returned."""

    id: int
    kind: str
    status: str = Field(description="draft, live, paused or revoked.")
    subdomain: str | None
    api_key_last4: str | None = Field(description="The last four characters of the stored key.")
    has_access: bool = Field(
        description="Whether the integration can reach its source: not revoked, and its credentials "
        "(an API key) stored or its membership-file folder usable."
    )
    frequency: str
    schedule_time: str | None
    schedule_day: str | None
    date_format: str
    welcome_email: bool
    leaver_threshold_pct: float
    next_run_at: datetime | None
    published_at: datetime | None
    created_at: datetime
    last_run: RunOut | None = None

    @classmethod
    def of(cls, integration: Integration, last_run: RunOut | None = None) -> IntegrationOut:
        return cls(
            id=integration.id, kind=integration.kind, status=integration.status,
            subdomain=(integration.settings or {}).get("subdomain"), api_key_last4=integration.secret_last4,
            has_access=has_access(integration), frequency=integration.frequency,
            schedule_time=integration.schedule_time, schedule_day=integration.schedule_day,
            date_format=integration.date_format, welcome_email=integration.welcome_email,
            leaver_threshold_pct=integration.leaver_threshold_pct, next_run_at=integration.next_run_at,
            published_at=integration.published_at, created_at=integration.created_at,
            last_run=last_run,
        )


class MemberOut(BaseModel):
    id: int
    employee_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    status: str = Field(description="pending, invited, active, leaver or deleted.")
    employment_status: str | None
    start_date: date | None
    leaving_date: date | None
    access_until: date | None = Field(description="A leaver's first day without access.")
    attributes: dict[str, Any]
    door: str = Field(description="Who owns the member: integration (integration_id; none if it was deleted) "
                                  "or manual (added by hand).")
    integration_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        return cls(
            id=m.id, employee_id=m.employee_id, email=m.email, first_name=m.first_name,
            last_name=m.last_name, status=m.status, employment_status=m.employment_status,
            start_date=m.start_date, leaving_date=m.leaving_date, access_until=m.access_until,
            attributes=dict(m.attributes or {}), door=m.door, integration_id=m.integration_id,
            created_at=m.created_at, updated_at=m.updated_at,
        )


class ManualMemberIn(BaseModel):
    """A member added by hand (the manual door): owned by no integration, never changed by an import."""

    model_config = ConfigDict(extra="forbid", strict=True)

    employee_id: str = Field(min_length=1, max_length=255)
    email: str = Field(min_length=1, max_length=320)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    invite: bool = Field(default=True, description="Send the welcome e-mail (else: active at once, no e-mail).")


class ManualMemberEditIn(BaseModel):
    """Values to change on a member added by hand; the ones left out stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    employee_id: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class MemberPageOut(BaseModel):
    items: list[MemberOut]
    page: int
    per_page: int
    total: int
    pages: int


class TraceRowOut(BaseModel):
    label: str
    value: str
    status: str
    note: str


class TraceStageOut(BaseModel):
    key: str = Field(description="record, mapped, validation, scoping, outcome or closedown.")
    title: str
    status: str = Field(description="ok, warning, error or info.")
    summary: str
    rows: list[TraceRowOut]


class TraceOut(BaseModel):
    """One person explained: fetched live, each stage of their import, the planned outcome and why."""

    integration_id: int
    employee_id: str = Field(description="As asked.")
    found: bool
    name: str
    source_id: str | None
    member_id: int | None
    outcome: str = Field(description="create, pending, update, unchanged, leaver, reinstate, excluded (left out "
                                     "by the scoping rules, never a member), ignored (inactive, never a member), "
                                     "skipped or not_found.")
    reason: str = Field(description="The outcome in words.")
    changes: dict[str, list[str | None]] = Field(description="Field: [now, after the import].")
    applicable: bool = Field(description="Whether applying it would change a member.")
    stages: list[TraceStageOut]
    notes: list[str]
    people_read: int


class StartRunIn(BaseModel):
    # strict: dry_run is JSON true or false, never 0, 1 or "yes" (a typo must not start a real import)
    model_config = ConfigDict(extra="forbid", strict=True)

    dry_run: bool = Field(default=False, description="Plan and report only; change no member.")
