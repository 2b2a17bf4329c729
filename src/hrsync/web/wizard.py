"""The setup wizard's first two steps: Initial setup and Authorize (see :mod:`hrsync.web.wizard_common`).

The draft row is created at the first step, before any key exists
(:func:`hrsync.services.integrations.create_integration` without credentials); the key arrives at
*Authorize* through ``set_source_settings`` (every setting the kind declares), which checks them with
the source before storing the secret encrypted. The Authorize step is built from the kind's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hrsync.domain import DATE_FORMATS
from hrsync.services.errors import ServiceError
from hrsync.services.imports import source_address
from hrsync.services.integrations import (
    WEEKDAYS,
    AlreadyConnected,
    create_integration,
    set_source_settings,
    update_settings,
)
from hrsync.sources.registry import DEFAULT_KIND, REGISTRY
from hrsync.store.models import AdminUser, Frequency, Integration
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render
from hrsync.web.wizard_common import (
    FREQUENCIES,
    advance,
    after_save,
    integration_of,
    is_draft,
    is_push,
    read_form,
    second_step,
    steps_of,
    takes_files,
    wants_json,
)

router = APIRouter(include_in_schema=False)

DATE_FORMAT_EXAMPLES = {"DD/MM/YYYY": "31/01/2026", "MM/DD/YYYY": "01/31/2026", "YYYY-MM-DD": "2026-01-31"}


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
                   error: str | None = None, status_code: int = 200, integration_kind: str = DEFAULT_KIND
                   ) -> Response:
    action = (f"/integrations/{integration.id}/setup/initial" if integration is not None
              else f"/integrations/new/{integration_kind}")
    kind = integration.kind if integration is not None else integration_kind
    return render(request, "wizard/initial.html", {
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, "initial", kind),
        "kind_name": REGISTRY[kind].display_name, "file_kind": takes_files(kind),
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
    if kind not in REGISTRY or is_push(kind):  # every kind of source but a push door has the wizard
        not_found("This integration")
    form = SettingsForm(date_format=admin.programme.date_format)
    return _settings_page(request, admin, None, form, integration_kind=kind)


@router.post("/integrations/new/{kind}", dependencies=[CsrfForm])
async def create_draft(request: Request, session: SessionDep, admin: CurrentAdmin, kind: str) -> Response:
    if kind not in REGISTRY or is_push(kind):  # a push door has its own set-up (web/scim_setup.py)
        not_found("This integration")
    form = SettingsForm.parse(await read_form(request))
    try:
        with session.begin_nested():
            integration = create_integration(session, admin.programme, admin, kind=kind)
            _apply_settings(session, integration, admin, form)
            integration.wizard_step = second_step(kind)
    except ServiceError as exc:
        return _settings_page(request, admin, None, form, error=exc.reason, status_code=400,
                              integration_kind=kind)
    return RedirectResponse(f"/integrations/{integration.id}/setup/{second_step(kind)}", status_code=303)


@router.get("/integrations/{integration_id}/setup")
def resume(session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    return RedirectResponse(f"/integrations/{integration.id}/setup/{integration.wizard_step or 'initial'}",
                            status_code=303)


@router.get("/integrations/{integration_id}/setup/initial")
def initial_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    if is_push(integration.kind):  # no schedule: its own set-up page
        return RedirectResponse(f"/integrations/{integration.id}/setup/{second_step(integration.kind)}",
                                status_code=303)
    return _settings_page(request, admin, integration, SettingsForm.of(integration))


@router.post("/integrations/{integration_id}/setup/initial", dependencies=[CsrfForm])
async def save_initial(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    if is_push(integration.kind):
        not_found("This page")
    form = SettingsForm.parse(await read_form(request))
    try:
        with session.begin_nested():
            _apply_settings(session, integration, admin, form)
    except ServiceError as exc:
        return _settings_page(request, admin, integration, form, error=exc.reason, status_code=400)
    advance(integration, second_step(integration.kind))
    if not is_draft(integration):
        flash(request, "Settings saved.")
    return RedirectResponse(after_save(integration, second_step(integration.kind)), status_code=303)


# ------------------------------------------------------------------------------------------------
# step 2: authorize (modal with a no-script fallback page)
# ------------------------------------------------------------------------------------------------


def _fields(integration: Integration, typed: dict[str, str]) -> list[dict[str, Any]]:
    """The kind's settings as the Authorize step shows them, one modal step each: the value typed (or
    stored; never a secret's) and, for a field with a live preview, the preview of that value."""
    stored = integration.settings or {}
    fields = []
    for f in REGISTRY[integration.kind].settings_fields:
        value = "" if f.secret else typed.get(f.name, str(stored.get(f.name) or ""))
        fields.append({"name": f.name, "label": f.label, "help": f.help, "secret": f.secret,
                       "required": f.required, "placeholder": f.placeholder, "guide": f.guide, "value": value,
                       "preview": f.preview(value) if f.preview is not None else None})
    return fields


def _authorize_page(request: Request, integration: Integration, *, mode: str, fallback: bool = False,
                    error: str | None = None, typed: dict[str, str] | None = None, status_code: int = 200,
                    existing_url: str | None = None) -> Response:
    fields = _fields(integration, typed or {})
    return render(request, "wizard/authorize_form.html" if fallback else "wizard/authorize.html", {
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, "authorize"),
        "mode": mode, "error": error, "existing_url": existing_url, "fields": fields,
        "secret": next((f for f in fields if f["secret"]), None),
        "authorized": bool(integration.secret_encrypted),
    }, status_code=status_code)


@router.get("/integrations/{integration_id}/authorize/{setting}")
def check_setting(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
                  setting: str) -> Response:
    """The live preview of one setting as typed (``?<setting>=…``): the modal shows it and its *Next*
    asks it (an account's address, normalised from what was typed).

    Answers at once, before any secret is asked for; nothing is stored and the source is not contacted.
    """
    integration = integration_of(session, admin, integration_id)
    field = next((f for f in REGISTRY[integration.kind].settings_fields if f.name == setting and f.preview), None)
    if field is None or field.preview is None:
        not_found("This page")
    result = field.preview(request.query_params.get(setting, ""))
    return JSONResponse({"ok": result.ok, setting: getattr(result, setting, None), "url": result.url,
                         "reason": result.reason, "code": None if result.ok else f"invalid_{setting}"})


@router.get("/integrations/{integration_id}/setup/authorize")
def authorize_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    if second_step(integration.kind) != "authorize":  # the kind's own step: File, Connect
        return RedirectResponse(f"/integrations/{integration.id}/setup/{second_step(integration.kind)}",
                                status_code=303)
    return _authorize_page(request, integration, mode="wizard")


@router.get("/integrations/{integration_id}/reauthorize")
def reauthorize_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    if second_step(integration.kind) != "authorize":  # the kind's own step: File, Connect
        return RedirectResponse(f"/integrations/{integration.id}/setup/{second_step(integration.kind)}",
                                status_code=303)
    return _authorize_page(request, integration, mode="reauthorize")


@router.get("/integrations/{integration_id}/authorize")
def authorize_form_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int,
                        mode: str = "wizard") -> Response:
    """The modal's content as a page, for browsers without script."""
    integration = integration_of(session, admin, integration_id)
    return _authorize_page(request, integration, mode="reauthorize" if mode == "reauthorize" else "wizard",
                           fallback=True)


def _restored_text(integration: Integration) -> str:
    """What re-authorizing a revoked integration gave back, in the page's words."""
    if integration.status == "live":
        return " The integration is live again: scheduled imports resume."
    if integration.status == "paused":
        return " The integration is paused, as it was before access was revoked: resume it from the Tools menu."
    return ""


@router.post("/integrations/{integration_id}/authorize", dependencies=[CsrfForm])
async def authorize(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """Check the key with the source and store it encrypted; answers JSON to the modal's script."""
    integration = integration_of(session, admin, integration_id)
    data = await read_form(request)
    fields = REGISTRY[integration.kind].settings_fields
    given = {f.name: str(data.get(f.name) or "") if f.secret else str(data.get(f.name) or "").strip() for f in fields}
    typed = {f.name: given[f.name] for f in fields if not f.secret}  # shown again if refused; never the secret
    mode = "reauthorize" if data.get("mode") == "reauthorize" else "wizard"
    was_revoked = integration.status == "revoked"
    try:
        with session.begin_nested():
            set_source_settings(session, integration, admin, given)
    except ServiceError as exc:
        existing_url = f"/integrations/{exc.existing_id}" if isinstance(exc, AlreadyConnected) else None
        if wants_json(request):
            body = {"ok": False, "reason": exc.reason, "code": exc.code}
            return JSONResponse({**body, "link": existing_url} if existing_url else body, status_code=400)
        return _authorize_page(request, integration, mode=mode, fallback=True, error=exc.reason,
                               typed=typed, status_code=400, existing_url=existing_url)
    url = source_address(integration) or ""
    message = (f"{REGISTRY[integration.kind].display_name} account {url} is authorized."
               + (_restored_text(integration) if was_revoked else ""))
    if wants_json(request):
        if was_revoked:
            flash(request, message)  # the dashboard the modal leads back to says what was restored
        return JSONResponse({"ok": True, "url": url, "last4": integration.secret_last4 or ""})
    flash(request, message)
    target = "reauthorize" if mode == "reauthorize" else "setup/authorize"
    return RedirectResponse(f"/integrations/{integration.id}/{target}", status_code=303)


@router.post("/integrations/{integration_id}/setup/authorize", dependencies=[CsrfForm])
def save_authorize(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """*Save* after *Finish setup*: the draft moves on to the mapping."""
    integration = integration_of(session, admin, integration_id)
    if not integration.secret_encrypted:
        kind = REGISTRY[integration.kind]
        labels = " and ".join(f.label for f in kind.settings_fields)
        flash(request, f"Authorize {kind.display_name} first: click Authorize and enter your {labels}.", "error")
        return RedirectResponse(f"/integrations/{integration.id}/setup/authorize", status_code=303)
    advance(integration, "mapping")
    return RedirectResponse(f"/integrations/{integration.id}/setup/mapping"
                            if is_draft(integration) else f"/integrations/{integration.id}", status_code=303)
