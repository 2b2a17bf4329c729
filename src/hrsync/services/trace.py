"""Explain and apply one person: the use-case the dashboard's search, the member page's *Trace*
button, ``GET/POST /api/v1/integrations/{id}/trace`` and ``hrsync trace`` share.

The work is :mod:`hrsync.sync.trace`'s; this module finds who a search means, turns the source's
failures into :class:`~hrsync.errors.ServiceError`, logs an applied trace in the activity log and
reads the programme's date format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain.display import display_name, member_name
from hrsync.errors import ServiceError
from hrsync.services import activity
from hrsync.services.member_view import date_format_of
from hrsync.services.queries import MemberFilter, members_page
from hrsync.sources import registry
from hrsync.sources.base import PersonLookup, SourceError, can_find
from hrsync.sources.registry import source_for
from hrsync.store.db import session_factory
from hrsync.store.models import AdminUser, Integration
from hrsync.sync.context import mapping_of
from hrsync.sync.runs import RunOutcome
from hrsync.sync.trace import Trace, TraceRow, TraceStage, TraceUnavailable, apply_person, trace_person

__all__ = ["Found", "Trace", "TraceRow", "TraceStage", "apply", "search", "trace"]

SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Found:
    """One answer to a search: a member, a person found live in the HR system, or both."""

    employee_id: str
    name: str
    email: str
    member_id: int | None = None
    member_status: str | None = None
    in_hr: bool = False


def _factory(session: Session) -> sessionmaker[Session]:
    """Sessions on the caller's database (the trace reads in its own short transactions)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return session_factory(engine.url.render_as_string(hide_password=False))


def trace(session: Session, integration: Integration, employee_id: str) -> Trace:
    """Trace the person with ``employee_id`` in ``integration`` (nothing is changed)."""
    employee_id = (employee_id or "").strip()
    if not employee_id:
        raise ServiceError("Type an employee ID to trace.", code="invalid")
    fmt = date_format_of(session, integration.programme_id)
    session.commit()  # release the request's transaction: the trace reads the HR system first
    try:
        return trace_person(_factory(session), integration.id, employee_id[:255], date_format=fmt)
    except TraceUnavailable:
        raise
    except SourceError as exc:
        name = registry.display_name(integration.kind)
        raise ServiceError(f"{name} could not be read: {exc.reason}", code=exc.code) from exc


def apply(session: Session, integration: Integration, actor: AdminUser | None, employee_id: str,
          *, via: str | None = None) -> RunOutcome:
    """Apply the person's planned change as a ``single`` run (the runner's brake, rules and history);
    raises ``RunBlocked`` while another run of the integration is active."""
    employee_id = (employee_id or "").strip()
    if not employee_id:
        raise ServiceError("Type an employee ID to apply.", code="invalid")
    detail: dict[str, object] = {"employee_id": employee_id[:255]}
    if via:
        detail["via"] = via
    session.commit()
    outcome = apply_person(_factory(session), integration.id, employee_id[:255],
                           triggered_by_id=actor.id if actor else None)
    detail["run_id"] = outcome.id
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="applied_one_person", detail=detail)
    session.commit()
    return outcome


def search(session: Session, integration: Integration, text: str) -> list[Found]:
    """Members whose employee ID, e-mail or name matches ``text``, and the people its source finds live
    by employee number, e-mail or name (each person once, a member first)."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    found: dict[str, Found] = {}
    for m in members_page(session, integration.programme_id, MemberFilter.of(text, None), per_page=SEARCH_LIMIT).items:
        if m.employee_id:
            found[m.employee_id] = Found(m.employee_id, member_name(m.first_name, m.last_name, m.attributes),
                                         m.email or "", m.id, m.status)
    mapping = mapping_of(integration)
    session.commit()
    try:
        with source_for(integration, consume=False) as source:
            if not can_find(source):
                return list(found.values())
            lookup = cast(PersonLookup, source)
            fields = ["primaryEmailAddress"] if "@" in text else [mapping.get("employee_id", "employeeNumber"), "name"]
            for key in fields:
                if key not in lookup.findable:
                    continue
                for p in lookup.find_people(key, text)[:SEARCH_LIMIT]:
                    emp = (p.values.get(mapping.get("employee_id", "")) or "").strip()
                    if not emp:
                        continue
                    known = found.get(emp)
                    name = display_name(p.values.get(mapping.get("first_name", "firstName")),
                                        p.values.get(mapping.get("last_name", "lastName")))
                    email = p.values.get(mapping.get("email", "")) or ""
                    found[emp] = Found(emp, known.name if known else name, known.email if known else email,
                                       known.member_id if known else None,
                                       known.member_status if known else None, True)
    except SourceError as exc:
        name = registry.display_name(integration.kind)
        raise ServiceError(f"{name} could not be searched: {exc.reason}", code=exc.code) from exc
    return list(found.values())
