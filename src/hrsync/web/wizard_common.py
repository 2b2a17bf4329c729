"""What the setup wizard's steps share: the step list, the draft's progress, form reading.

The wizard (Initial setup → the kind's own step → Mapping → Review and publish) is one page per
step, each
saved as soon as it is submitted, so an administrator who leaves halfway finds the draft where
they stopped (``Integration.wizard_step``). The same pages edit a live integration (the
dashboard's *Edit* and *Re-authorize*); then they return to the dashboard. The second step is the
kind's (:attr:`hrsync.sources.kind.SourceKind.wizard_step`): *Authorize* (an API key in a modal),
*File* (an upload) or *Connect*, the page built from the kind's settings. The steps live in
:mod:`hrsync.web.wizard` (initial setup, authorize), :mod:`hrsync.web.wizard_settings`,
:mod:`hrsync.web.wizard_file`, :mod:`hrsync.web.wizard_mapping` and :mod:`hrsync.web.wizard_review`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from hrsync.domain.display import LIFECYCLE_LABELS as LIFECYCLE_LABELS
from hrsync.services.integrations import integration_in_programme
from hrsync.sources.registry import REGISTRY
from hrsync.store.models import AdminUser, Frequency, Integration, IntegrationStatus

FIRST_STEP = ("initial", "Initial setup")
LAST_STEPS: tuple[tuple[str, str], ...] = (("mapping", "Mapping"), ("review", "Review and publish"))
FREQUENCIES: tuple[tuple[str, str], ...] = (
    (Frequency.HOURLY.value, "Hourly"),
    (Frequency.DAILY.value, "Daily"),
    (Frequency.WEEKLY.value, "Weekly"),
    (Frequency.MONTHLY.value, "Monthly"),
    (Frequency.MANUAL.value, "Manual only"),
)
DATE_FORMAT_EXAMPLES = {"DD/MM/YYYY": "31/01/2026", "MM/DD/YYYY": "01/31/2026", "YYYY-MM-DD": "2026-01-31"}

def integration_of(session: Session, admin: AdminUser, integration_id: int) -> Integration:
    return integration_in_programme(session, admin.programme_id, integration_id)


def is_draft(integration: Integration) -> bool:
    return integration.status == IntegrationStatus.DRAFT.value


def is_push(kind: str | None) -> bool:
    """A push door (SCIM): set up by its own short flow (:mod:`hrsync.web.scim_setup`), nothing to import."""
    known = REGISTRY.get(kind or "")
    return known is not None and known.can("push")


def steps_for(kind: str | None) -> tuple[tuple[str, str], ...]:
    """The wizard's steps; a push door has no schedule nor settings to read with: its own step comes first."""
    known = REGISTRY.get(kind or "")
    own = (known.wizard_step.key, known.wizard_step.label) if known is not None else ("settings", "Connect")
    if is_push(kind):
        return (own, *LAST_STEPS)
    return (FIRST_STEP, own, *LAST_STEPS)


def takes_files(kind: str | None) -> bool:
    known = REGISTRY.get(kind or "")
    return known is not None and known.takes_files


def second_step(kind: str | None) -> str:
    """The step after Initial setup: the kind's own (``authorize``, ``file``, ``settings``; a push door's
    ``scim`` comes first instead)."""
    known = REGISTRY.get(kind or "")
    return known.wizard_step.key if known is not None else "settings"


def advance(integration: Integration, step: str) -> None:
    """Record that the draft may resume at ``step`` (never moves a draft backwards)."""
    if not is_draft(integration):
        return
    keys = [key for key, _ in steps_for(integration.kind)]
    current = integration.wizard_step if integration.wizard_step in keys else keys[0]
    if keys.index(step) > keys.index(current):
        integration.wizard_step = step


def after_save(integration: Integration, next_step: str) -> str:
    if is_draft(integration):
        return f"/integrations/{integration.id}/setup/{next_step}"
    return f"/integrations/{integration.id}"


def steps_of(integration: Integration | None, current: str, kind: str | None = None) -> list[dict[str, Any]]:
    steps = steps_for(integration.kind if integration is not None else kind)
    keys = [key for key, _ in steps]
    reached = keys[0]
    if integration is not None:
        reached = "review" if not is_draft(integration) else (integration.wizard_step or keys[0])
        if reached not in keys:
            reached = keys[0]
    out = []
    for index, (key, label) in enumerate(steps):
        out.append({
            "key": key, "label": label, "number": index + 1,
            "current": key == current,
            "done": index < keys.index(reached) and key != current,
            "href": (f"/integrations/{integration.id}/setup/{key}"
                     if integration is not None and index <= keys.index(reached) else None),
        })
    return out


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def read_form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form.keys()}
