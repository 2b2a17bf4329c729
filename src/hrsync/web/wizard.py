"""The setup wizard: Initial setup → Authorize → Mapping → Review and publish.

One page per step, each saved as soon as it is submitted, so an administrator who leaves halfway
finds the draft where they stopped (``Integration.wizard_step``). The same pages edit a live
integration (the dashboard's *Edit* and *Re-authorize*); then they return to the dashboard.

The draft row is created at the first step, before any key exists, because the services'
``create_integration`` needs a verified key; the key arrives at *Authorize* through
``set_credentials``, which checks it with intelliHR before storing it encrypted.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain import DATE_FORMATS, DEFAULT_MAPPING, MEMBER_FIELDS, validate_mapping
from hrsync.domain.fields import EMPLOYEE_ID, EXTRA_PREFIX, is_extra_attribute
from hrsync.services import activity
from hrsync.services.coverage import INTELLIHR_ID, INTELLIHR_ID_LABEL, KEY_COVERAGE_MIN, Coverage, coverage
from hrsync.services.errors import RunBlocked, ServiceError
from hrsync.services.integrations import (
    WEEKDAYS,
    integration_in_programme,
    mapping_of,
    publish,
    set_credentials,
    source_for,
    status_map_of,
    update_mapping,
    update_settings,
)
from hrsync.sources.base import DEFAULT_STATUS_MAP, FieldGroup, Lifecycle, SourceError, SourceField
from hrsync.sources.intellihr.subdomain import preview as subdomain_preview
from hrsync.store.db import session_factory
from hrsync.store.enums import is_finished
from hrsync.store.models import (
    AdminUser,
    Frequency,
    ImportRun,
    Integration,
    IntegrationStatus,
    RunTrigger,
)
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render

router = APIRouter(include_in_schema=False)

STEPS: tuple[tuple[str, str], ...] = (
    ("initial", "Initial setup"),
    ("authorize", "Authorize"),
    ("mapping", "Mapping"),
    ("review", "Review and publish"),
)
STEP_KEYS = tuple(key for key, _ in STEPS)
FREQUENCIES: tuple[tuple[str, str], ...] = (
    (Frequency.HOURLY.value, "Hourly"),
    (Frequency.DAILY.value, "Daily"),
    (Frequency.WEEKLY.value, "Weekly"),
    (Frequency.MONTHLY.value, "Monthly"),
    (Frequency.MANUAL.value, "Manual only"),
)
DATE_FORMAT_EXAMPLES = {"DD/MM/YYYY": "31/01/2026", "MM/DD/YYYY": "01/31/2026", "YYYY-MM-DD": "2026-01-31"}
LIFECYCLE_LABELS = {
    Lifecycle.ACTIVE.value: "Active: a member with access",
    Lifecycle.PENDING.value: "Pending: created, invited from their start date",
    Lifecycle.INACTIVE.value: "Inactive: marked as a leaver",
}
GROUP_LABELS = {
    FieldGroup.PERSON: "Person", FieldGroup.JOB: "Job", FieldGroup.CUSTOM: "Person custom fields",
    FieldGroup.JOB_CUSTOM: "Job custom fields",
}
CUSTOM_GROUPS = (FieldGroup.CUSTOM, FieldGroup.JOB_CUSTOM)
PREVIEW_WAIT_SECONDS = 120.0
KIND_LABELS = {
    "create": "New members", "update": "Updated", "unchanged": "Unchanged", "leaver": "Leavers",
    "reinstate": "Reinstated", "pending": "Pending (pre-hire)",
}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _integration(session: Session, admin: AdminUser, integration_id: int) -> Integration:
    return integration_in_programme(session, admin.programme_id, integration_id)


def _is_draft(integration: Integration) -> bool:
    return integration.status == IntegrationStatus.DRAFT.value


def _advance(integration: Integration, step: str) -> None:
    """Record that the draft may resume at ``step`` (never moves a draft backwards)."""
    if not _is_draft(integration):
        return
    current = integration.wizard_step if integration.wizard_step in STEP_KEYS else "initial"
    if STEP_KEYS.index(step) > STEP_KEYS.index(current):
        integration.wizard_step = step


def _after_save(integration: Integration, next_step: str) -> str:
    if _is_draft(integration):
        return f"/integrations/{integration.id}/setup/{next_step}"
    return f"/integrations/{integration.id}"


def _steps(integration: Integration | None, current: str) -> list[dict[str, Any]]:
    reached = "initial"
    if integration is not None:
        reached = "review" if not _is_draft(integration) else (integration.wizard_step or "initial")
        if reached not in STEP_KEYS:
            reached = "initial"
    out = []
    for index, (key, label) in enumerate(STEPS):
        out.append({
            "key": key, "label": label, "number": index + 1,
            "current": key == current,
            "done": index < STEP_KEYS.index(reached) and key != current,
            "href": (f"/integrations/{integration.id}/setup/{key}"
                     if integration is not None and index <= STEP_KEYS.index(reached) else None),
        })
    return out


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form.keys()}


# ------------------------------------------------------------------------------------------------
# step 1: initial setup
# ------------------------------------------------------------------------------------------------


@dataclass
class SettingsForm:
    frequency: str = Frequency.DAILY.value
    schedule_time: str = "06:00"
    weekday: str = "monday"
    month_day: str = "1"
    date_format: str = "DD/MM/YYYY"
    welcome_email: bool = True

    @classmethod
    def of(cls, integration: Integration) -> SettingsForm:
        form = cls(frequency=integration.frequency, schedule_time=integration.schedule_time or "06:00",
                   date_format=integration.date_format, welcome_email=integration.welcome_email)
        if integration.frequency == Frequency.WEEKLY.value and integration.schedule_day:
            form.weekday = integration.schedule_day
        if integration.frequency == Frequency.MONTHLY.value and integration.schedule_day:
            form.month_day = integration.schedule_day
        return form

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SettingsForm:
        def text(name: str, default: str) -> str:
            value = data.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else default

        return cls(
            frequency=text("frequency", Frequency.DAILY.value),
            schedule_time=text("schedule_time", "06:00")[:5],
            weekday=text("weekday", "monday").lower(),
            month_day=text("month_day", "1"),
            date_format=text("date_format", "DD/MM/YYYY"),
            welcome_email=data.get("welcome_email") in ("on", "true", "1"),
        )

    def schedule(self) -> tuple[str | None, str | None]:
        """The (time, day) the service stores for this frequency."""
        if self.frequency == Frequency.MANUAL.value:
            return None, None
        if self.frequency == Frequency.HOURLY.value:
            return None, None
        if self.frequency == Frequency.WEEKLY.value:
            return self.schedule_time, self.weekday
        if self.frequency == Frequency.MONTHLY.value:
            return self.schedule_time, self.month_day
        return self.schedule_time, None


def _settings_page(request: Request, admin: AdminUser, integration: Integration | None, form: SettingsForm,
                   error: str | None = None, status_code: int = 200) -> Response:
    action = (f"/integrations/{integration.id}/setup/initial" if integration is not None
              else "/integrations/new/intellihr")
    return render(request, "wizard/initial.html", {
        "nav": "integrations", "integration": integration, "steps": _steps(integration, "initial"),
        "form": form, "error": error, "action": action, "frequencies": FREQUENCIES,
        "weekdays": WEEKDAYS, "date_formats": [(f, DATE_FORMAT_EXAMPLES.get(f, "")) for f in DATE_FORMATS],
        "timezone": admin.programme.timezone,
    }, status_code=status_code)


def _apply_settings(session: Session, integration: Integration, admin: AdminUser, form: SettingsForm) -> None:
    schedule_time, schedule_day = form.schedule()
    update_settings(session, integration, admin, frequency=form.frequency, schedule_time=schedule_time,
                    schedule_day=schedule_day, date_format=form.date_format, welcome_email=form.welcome_email)


@router.get("/integrations/new/{kind}")
def new_integration(request: Request, session: SessionDep, admin: CurrentAdmin, kind: str) -> Response:
    if kind != "intellihr":
        not_found("This integration")
    form = SettingsForm(date_format=admin.programme.date_format)
    return _settings_page(request, admin, None, form)


@router.post("/integrations/new/{kind}", dependencies=[CsrfForm])
async def create_draft(request: Request, session: SessionDep, admin: CurrentAdmin, kind: str) -> Response:
    if kind != "intellihr":
        not_found("This integration")
    form = SettingsForm.parse(await _form(request))
    try:
        with session.begin_nested():
            integration = Integration(
                programme_id=admin.programme_id,
                owner_id=admin.id,
                kind=kind,
                status=IntegrationStatus.DRAFT.value,
                mapping=dict(DEFAULT_MAPPING),
                status_map={k: v.value for k, v in DEFAULT_STATUS_MAP.items()},
                date_format=admin.programme.date_format,
                wizard_step="initial",
            )
            session.add(integration)
            session.flush()
            activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                            admin_id=admin.id, action="created")
            _apply_settings(session, integration, admin, form)
            integration.wizard_step = "authorize"
    except ServiceError as exc:
        return _settings_page(request, admin, None, form, error=exc.reason, status_code=400)
    return RedirectResponse(f"/integrations/{integration.id}/setup/authorize", status_code=303)


@router.get("/integrations/{integration_id}/setup")
def resume(session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    return RedirectResponse(f"/integrations/{integration.id}/setup/{integration.wizard_step or 'initial'}",
                            status_code=303)


@router.get("/integrations/{integration_id}/setup/initial")
def initial_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    return _settings_page(request, admin, integration, SettingsForm.of(integration))


@router.post("/integrations/{integration_id}/setup/initial", dependencies=[CsrfForm])
async def save_initial(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    form = SettingsForm.parse(await _form(request))
    try:
        with session.begin_nested():
            _apply_settings(session, integration, admin, form)
    except ServiceError as exc:
        return _settings_page(request, admin, integration, form, error=exc.reason, status_code=400)
    _advance(integration, "authorize")
    if not _is_draft(integration):
        flash(request, "Settings saved.")
    return RedirectResponse(_after_save(integration, "authorize"), status_code=303)


# ------------------------------------------------------------------------------------------------
# step 2: authorize (modal with a no-script fallback page)
# ------------------------------------------------------------------------------------------------


def _authorize_page(request: Request, integration: Integration, *, mode: str, fallback: bool = False,
                    error: str | None = None, subdomain: str | None = None, status_code: int = 200) -> Response:
    typed = subdomain if subdomain is not None else (integration.subdomain or "")
    return render(request, "wizard/authorize_form.html" if fallback else "wizard/authorize.html", {
        "nav": "integrations", "integration": integration, "steps": _steps(integration, "authorize"),
        "mode": mode, "error": error, "subdomain": typed, "subdomain_preview": subdomain_preview(typed),
        "authorized": bool(integration.api_key_encrypted),
    }, status_code=status_code)


@router.get("/integrations/{integration_id}/authorize/subdomain")
def check_subdomain(session: SessionDep, admin: CurrentAdmin, integration_id: int, subdomain: str = "") -> Response:
    """The subdomain as typed, normalised (the live preview and the modal's *Next* ask this).

    Answers at once, before any key is asked for; nothing is stored and intelliHR is not contacted.
    """
    _integration(session, admin, integration_id)
    result = subdomain_preview(subdomain)
    return JSONResponse({"ok": result.ok, "subdomain": result.subdomain, "url": result.url,
                         "reason": result.reason, "code": None if result.ok else "invalid_subdomain"})


@router.get("/integrations/{integration_id}/setup/authorize")
def authorize_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    return _authorize_page(request, integration, mode="wizard")


@router.get("/integrations/{integration_id}/reauthorize")
def reauthorize_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    return _authorize_page(request, integration, mode="reauthorize")


@router.get("/integrations/{integration_id}/authorize")
def authorize_form_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
                        mode: str = "wizard") -> Response:
    """The modal's content as a page, for browsers without script."""
    integration = _integration(session, admin, integration_id)
    return _authorize_page(request, integration, mode="reauthorize" if mode == "reauthorize" else "wizard",
                           fallback=True)


@router.post("/integrations/{integration_id}/authorize", dependencies=[CsrfForm])
async def authorize(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """Check the key with intelliHR and store it encrypted; answers JSON to the modal's script."""
    integration = _integration(session, admin, integration_id)
    data = await _form(request)
    subdomain = str(data.get("subdomain") or "").strip()
    api_key = str(data.get("api_key") or "")
    mode = "reauthorize" if data.get("mode") == "reauthorize" else "wizard"
    try:
        with session.begin_nested():
            set_credentials(session, integration, admin, subdomain=subdomain, api_key=api_key)
    except ServiceError as exc:
        if _wants_json(request):
            return JSONResponse({"ok": False, "reason": exc.reason, "code": exc.code}, status_code=400)
        return _authorize_page(request, integration, mode=mode, fallback=True, error=exc.reason,
                               subdomain=subdomain, status_code=400)
    url = f"https://{integration.subdomain}.intellihr.net"
    if _wants_json(request):
        return JSONResponse({"ok": True, "url": url, "last4": integration.api_key_last4 or ""})
    flash(request, f"intelliHR account {url} is authorized.")
    target = "reauthorize" if mode == "reauthorize" else "setup/authorize"
    return RedirectResponse(f"/integrations/{integration.id}/{target}", status_code=303)


@router.post("/integrations/{integration_id}/setup/authorize", dependencies=[CsrfForm])
def save_authorize(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """*Save* after *Finish setup*: the draft moves on to the mapping."""
    integration = _integration(session, admin, integration_id)
    if not integration.api_key_encrypted:
        flash(request, "Authorize intelliHR first: click Authorize and enter your subdomain and API key.", "error")
        return RedirectResponse(f"/integrations/{integration.id}/setup/authorize", status_code=303)
    _advance(integration, "mapping")
    return RedirectResponse(f"/integrations/{integration.id}/setup/mapping"
                            if _is_draft(integration) else f"/integrations/{integration.id}", status_code=303)


# ------------------------------------------------------------------------------------------------
# step 3: mapping
# ------------------------------------------------------------------------------------------------


def _extra_name(source_key: str) -> str:
    """``custom.<name>`` for a custom source field: its api name made into an attribute name.

    A job custom field (``job.custom.<apiName>``) is kept as ``custom.job_<apiName>``.
    """
    if source_key.startswith("job." + EXTRA_PREFIX):
        source_key = "job_" + source_key[len("job." + EXTRA_PREFIX):]
    name = source_key[len(EXTRA_PREFIX):] if source_key.startswith(EXTRA_PREFIX) else source_key
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not name or not name[0].isalpha():
        name = "f" + name
    return EXTRA_PREFIX + name[:64]


def _discover(integration: Integration) -> tuple[list[SourceField] | None, str | None]:
    try:
        with source_for(integration) as source:
            return source.fields(), None
    except (SourceError, ServiceError) as exc:
        return None, exc.reason


def _coverage(integration: Integration, mapping: dict[str, str]) -> Coverage | None:
    """How the sampled people fill the mapped fields (None when the sample cannot be read or judged)."""
    if validate_mapping(mapping):
        return None
    try:
        with source_for(integration, concurrency=1) as source:
            return coverage(source, mapping)
    except (SourceError, ServiceError):
        return None


def _attribute_problems(problems: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Put each problem next to the field it names (every message starts with the field's label)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    labels = {key: field.label for key, field in MEMBER_FIELDS.items()}
    for target in mapping:
        if is_extra_attribute(target):
            labels[target] = f"Extra attribute {target[len(EXTRA_PREFIX):]!r}"
    for problem in problems:
        for key, label in sorted(labels.items(), key=lambda kv: -len(kv[1])):
            if problem.startswith(label + " "):
                by_field[key] = (by_field[key] + " " + problem) if key in by_field else problem
                break
        else:
            general.append(problem)
    return by_field, general


def _mapping_page(request: Request, integration: Integration, *, fields: list[SourceField] | None,
                  discover_error: str | None, mapping: dict[str, str], status_map: dict[str, str],
                  errors: dict[str, str] | None = None, general: list[str] | None = None,
                  status_code: int = 200) -> Response:
    groups: list[tuple[str, list[SourceField]]] = []
    if fields is not None:
        for group in (FieldGroup.PERSON, FieldGroup.JOB, *CUSTOM_GROUPS):
            members = [f for f in fields if f.group == group]
            if members:
                groups.append((GROUP_LABELS[group], members))
    custom = [(label, members) for label, members in groups if label in {GROUP_LABELS[g] for g in CUSTOM_GROUPS}]
    extras = {source for target, source in mapping.items() if is_extra_attribute(target)}
    statuses = list(dict.fromkeys([*DEFAULT_STATUS_MAP, *status_map]))
    known_keys = {f.key for f in fields or []}
    unknown = sorted({s for s in mapping.values() if s and fields is not None and s not in known_keys})
    sampled = _coverage(integration, mapping) if fields is not None else None
    return render(request, "wizard/mapping.html", {
        "nav": "integrations", "integration": integration, "steps": _steps(integration, "mapping"),
        "member_fields": list(MEMBER_FIELDS.values()), "groups": groups, "custom_fields": custom,
        "extras": extras, "extra_name": _extra_name, "mapping": mapping, "statuses": statuses,
        "status_map": status_map, "lifecycles": LIFECYCLE_LABELS, "errors": errors or {},
        "general": general or [], "discover_error": discover_error, "unknown": unknown,
        "unique_key": EMPLOYEE_ID, "coverage": sampled, "intellihr_id_label": INTELLIHR_ID_LABEL,
        "key_threshold_pct": round(KEY_COVERAGE_MIN * 100),
        "key_source_label": next((f.label for f in fields or [] if f.key == mapping.get(EMPLOYEE_ID)),
                                 mapping.get(EMPLOYEE_ID, "")),
    }, status_code=status_code)


@router.get("/integrations/{integration_id}/setup/mapping")
def mapping_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    if not integration.api_key_encrypted:
        flash(request, "Authorize intelliHR first, so the fields of your directory can be read.", "warning")
        return RedirectResponse(f"/integrations/{integration.id}/setup/authorize", status_code=303)
    fields, error = _discover(integration)
    return _mapping_page(request, integration, fields=fields, discover_error=error,
                         mapping=mapping_of(integration),
                         status_map={k: v.value for k, v in status_map_of(integration).items()})


@router.post("/integrations/{integration_id}/setup/mapping", dependencies=[CsrfForm])
async def save_mapping(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    data = await _form(request)
    mapping: dict[str, str] = {}
    for key in MEMBER_FIELDS:
        value = data.get(f"map.{key}")
        if isinstance(value, str) and value.strip():
            mapping[key] = value.strip()
    extra_values = data.get("extra") or []
    for source in [extra_values] if isinstance(extra_values, str) else extra_values:
        if isinstance(source, str) and source:
            mapping[_extra_name(source)] = source
    status_map: dict[str, str] = {}
    index = 0
    while f"status_name_{index}" in data:
        name, value = data.get(f"status_name_{index}"), data.get(f"status_value_{index}")
        if isinstance(name, str) and isinstance(value, str) and name:
            status_map[name] = value
        index += 1
    fields, discover_error = _discover(integration)
    available = [f.key for f in fields] if fields is not None else None
    problems = validate_mapping(mapping, available)
    if not problems:
        try:
            with session.begin_nested():
                update_mapping(session, integration, admin, mapping, status_map=status_map,
                               available_source_keys=available)
        except ServiceError as exc:
            problems = [exc.reason]
    if problems:
        errors, general = _attribute_problems(problems, mapping)
        return _mapping_page(request, integration, fields=fields, discover_error=discover_error, mapping=mapping,
                             status_map=status_map, errors=errors, general=general, status_code=400)
    _advance(integration, "review")
    if not _is_draft(integration):
        flash(request, "Mapping saved. The next import uses it.")
    return RedirectResponse(_after_save(integration, "review"), status_code=303)


@router.post("/integrations/{integration_id}/setup/mapping/intellihr-id", dependencies=[CsrfForm])
def use_intellihr_id(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """The one-click fix offered when the unique key is empty for (almost) everyone sampled."""
    integration = _integration(session, admin, integration_id)
    mapping = {**mapping_of(integration), EMPLOYEE_ID: INTELLIHR_ID}
    try:
        with session.begin_nested():
            update_mapping(session, integration, admin, mapping)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
    else:
        flash(request, f"Employee ID now comes from the {INTELLIHR_ID_LABEL}, which every person has.")
    return RedirectResponse(f"/integrations/{integration.id}/setup/mapping", status_code=303)


# ------------------------------------------------------------------------------------------------
# step 4: review, preview (dry run) and publish
# ------------------------------------------------------------------------------------------------


def _fresh_preview(session: Session, integration: Integration) -> ImportRun | None:
    """The newest dry run made since the integration last changed (older ones show old settings)."""
    run = session.scalar(
        select(ImportRun)
        .where(ImportRun.integration_id == integration.id, ImportRun.dry_run.is_(True))
        .order_by(ImportRun.id.desc())
        .limit(1)
    )
    if run is None or run.created_at < integration.updated_at:
        return None
    return run


def _preview_examples(run: ImportRun) -> list[dict[str, Any]]:
    preview = (run.plan or {}).get("preview", {}) if isinstance(run.plan, dict) else {}
    out = []
    for kind, examples in preview.items():
        if kind == "unchanged":
            continue
        out.append({"kind": kind, "label": KIND_LABELS.get(kind, kind.replace("_", " ").capitalize()),
                    "examples": examples})
    return out


@router.get("/integrations/{integration_id}/setup/review")
def review_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    run = _fresh_preview(session, integration)
    mapping = mapping_of(integration)
    mapped = [(MEMBER_FIELDS[k].label if k in MEMBER_FIELDS else k, v, k) for k, v in mapping.items()]
    problems = validate_mapping(mapping)
    return render(request, "wizard/review.html", {
        "nav": "integrations", "integration": integration, "steps": _steps(integration, "review"),
        "run": run, "finished": run is not None and is_finished(run.status),
        "examples": _preview_examples(run) if run is not None else [],
        "mapped": mapped, "status_map": {k: v.value for k, v in status_map_of(integration).items()},
        "frequency_label": dict(FREQUENCIES).get(integration.frequency, integration.frequency),
        "problems": problems, "timezone": admin.programme.timezone, "lifecycles": LIFECYCLE_LABELS,
    })


def _wait_for(run_id: int, timeout: float = PREVIEW_WAIT_SECONDS) -> None:
    """Another worker took the dry run: wait (bounded) until it finishes."""
    deadline = time.monotonic() + timeout
    factory = session_factory()
    while time.monotonic() < deadline:
        with factory() as session:
            run = session.get(ImportRun, run_id)
            if run is None or is_finished(run.status):
                return
        time.sleep(0.25)


@router.post("/integrations/{integration_id}/setup/preview", dependencies=[CsrfForm])
def preview(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """Run a dry run now and come back to the review page with its counts."""
    integration = _integration(session, admin, integration_id)
    try:
        run = request_run(session, integration.id, trigger=RunTrigger.MANUAL.value, triggered_by_id=admin.id,
                          dry_run=True)
    except RunBlocked as exc:
        flash(request, exc.reason, "warning")
        return RedirectResponse(f"/integrations/{integration.id}/setup/review", status_code=303)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/integrations/{integration.id}/setup/review", status_code=303)
    session.commit()  # the dry run reads and writes through its own sessions
    if execute_run(run.id) is None:
        _wait_for(run.id)
    return RedirectResponse(f"/integrations/{integration.id}/setup/review#preview", status_code=303)


@router.post("/integrations/{integration_id}/setup/publish", dependencies=[CsrfForm])
def publish_integration(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = _integration(session, admin, integration_id)
    try:
        with session.begin_nested():
            publish(session, integration, admin)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
        return RedirectResponse(f"/integrations/{integration.id}/setup/review", status_code=303)
    if integration.frequency == Frequency.MANUAL.value:
        when = "Imports run when you choose Import data now."
    else:
        when = "Imports now run on the schedule you chose."
    flash(request, f"intelliHR is live. {when}")
    return RedirectResponse(f"/integrations/{integration.id}", status_code=303)
