"""``hrsync integration ...``: connect intelliHR to a programme, publish, revoke."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import EXIT_BAD_INPUT, cli, emit, fail
from hrsync.domain.dates import DATE_FORMATS
from hrsync.services import integrations as svc
from hrsync.services.coverage import ALTERNATIVE_MAP
from hrsync.services.errors import ServiceError
from hrsync.services.programmes import first_admin, programme_by_name
from hrsync.sources.intellihr import validate_subdomain
from hrsync.store.models import Frequency, Integration

F = TypeVar("F", bound=Callable[..., Any])

FREQUENCIES = [f.value for f in Frequency]


def _parse_map(pairs: tuple[str, ...], as_json: bool) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            fail(f"--map expects TARGET=SOURCE, got '{pair}'", EXIT_BAD_INPUT, as_json=as_json)
        mapping[target.strip()] = source.strip()
    return mapping


def _read_key(api_key: str, as_json: bool) -> str:
    if api_key != "-":
        return api_key
    key = sys.stdin.readline().strip()
    if not key:
        fail("no API key on standard input", EXIT_BAD_INPUT, as_json=as_json)
    return key


def _with_alternative(exc: ServiceError, how: str) -> ServiceError:
    """A key-coverage refusal names the command-line alternative (the intelliHR ID as the key)."""
    if exc.code != "key_coverage":
        return exc
    return ServiceError(f"{exc.reason.rstrip('.')} ({how}).", code=exc.code)


def _describe(integration: Integration) -> dict[str, Any]:
    return {
        "id": integration.id, "programme_id": integration.programme_id, "status": integration.status,
        "subdomain": integration.subdomain, "api_key_last4": integration.api_key_last4,
        "frequency": integration.frequency, "schedule_time": integration.schedule_time,
        "schedule_day": integration.schedule_day, "date_format": integration.date_format,
        "welcome_email": integration.welcome_email, "mapping": integration.mapping,
        "leaver_threshold_pct": integration.leaver_threshold_pct,
        "next_run_at": integration.next_run_at.isoformat() if integration.next_run_at else None,
    }


@cli.group("integration")
def integration() -> None:
    """Integrations with an HR system (intelliHR)."""


schedule_options: list[Callable[[F], F]] = [
    click.option("--at", "at", default=None, help="Time of day HH:MM (programme time zone)."),
    click.option("--day", default=None, help="Weekday (weekly) or day of month (monthly)."),
]


def _with(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def wrap(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return wrap


@integration.command("add")
@click.option("--programme", "programme_name", required=True)
@click.option("--subdomain", required=True,
              help="The intelliHR tenant: 'your-company' or its address https://your-company.intellihr.net")
@click.option("--api-key", required=True, help="The intelliHR API key, or - to read it from standard input.")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="manual", show_default=True)
@_with(schedule_options)
@click.option("--date-format", type=click.Choice(DATE_FORMATS), default=None, help="Default: the programme's.")
@click.option("--welcome-email/--no-welcome-email", default=True, show_default=True)
@click.option("--map", "maps", multiple=True, metavar="TARGET=SOURCE", help="Map a member field (repeatable).")
@click.option("--leaver-threshold", type=float, default=10.0, show_default=True,
              help="Hold an import that would make more than this % of active members leavers.")
@json_option
def add(programme_name: str, subdomain: str, api_key: str, frequency: str, at: str | None, day: str | None,
        date_format: str | None, welcome_email: bool, maps: tuple[str, ...], leaver_threshold: float,
        as_json: bool) -> None:
    """Connect intelliHR to a programme (the key is verified before anything is saved)."""
    try:  # before the key is read or checked: another host is refused at once
        subdomain = validate_subdomain(subdomain)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT, payload={"error": str(exc), "code": "invalid_subdomain"}, as_json=as_json)
    key = _read_key(api_key, as_json)
    mapping = _parse_map(maps, as_json)
    with data_session(as_json) as session:
        prog = programme_by_name(session, programme_name)
        owner = first_admin(session, prog.id)
        try:
            created = svc.create_integration(
                session, prog, owner, subdomain=subdomain, api_key=key, frequency=frequency, schedule_time=at,
                schedule_day=day, date_format=date_format, welcome_email=welcome_email, mapping=mapping,
                leaver_threshold_pct=leaver_threshold,
            )
        except ServiceError as exc:
            raise _with_alternative(exc, f"add it with {ALTERNATIVE_MAP}") from None
        payload = {"id": created.id}
    emit(payload, as_json, f"integration {payload['id']} created as a draft; publish it to go live")


@integration.command("edit")
@click.argument("integration_id", type=int)
@click.option("--frequency", type=click.Choice(FREQUENCIES), default=None)
@_with(schedule_options)
@click.option("--date-format", type=click.Choice(DATE_FORMATS), default=None)
@click.option("--welcome-email/--no-welcome-email", default=None)
@click.option("--map", "maps", multiple=True, metavar="TARGET=SOURCE", help="Replace these mappings.")
@click.option("--leaver-threshold", type=float, default=None)
@click.option("--blanks-clear-values/--blanks-keep-values", default=None)
@click.option("--vanished-are-leavers/--vanished-are-warnings", default=None)
@json_option
def edit(integration_id: int, frequency: str | None, at: str | None, day: str | None, date_format: str | None,
         welcome_email: bool | None, maps: tuple[str, ...], leaver_threshold: float | None,
         blanks_clear_values: bool | None, vanished_are_leavers: bool | None, as_json: bool) -> None:
    """Change an integration's settings or mapping."""
    mapping = _parse_map(maps, as_json)
    with data_session(as_json) as session:
        item = svc.get_integration(session, integration_id)
        svc.update_settings(
            session, item, None, frequency=frequency,
            schedule_time=at if at is not None else item.schedule_time,
            schedule_day=day if day is not None else item.schedule_day, date_format=date_format,
            welcome_email=welcome_email, leaver_threshold_pct=leaver_threshold,
            blanks_clear_values=blanks_clear_values, vanished_are_leavers=vanished_are_leavers,
        )
        if mapping:
            svc.update_mapping(session, item, None, {**svc.mapping_of(item), **mapping})
        session.flush()
        payload = _describe(item)
    emit(payload, as_json, f"integration {integration_id} updated")


@integration.command("show")
@click.argument("integration_id", type=int)
@json_option
def show(integration_id: int, as_json: bool) -> None:
    """Show an integration (never its key: only the last four characters)."""
    with data_session(as_json) as session:
        payload = _describe(svc.get_integration(session, integration_id))
    emit(payload, as_json, "\n".join(f"{k}: {v}" for k, v in payload.items()))


def _transition(name: str, action: Callable[[Session, Integration, None], None], past: str) -> None:
    @integration.command(name)
    @click.argument("integration_id", type=int)
    @json_option
    def command(integration_id: int, as_json: bool) -> None:
        with data_session(as_json) as session:
            item = svc.get_integration(session, integration_id)
            action(session, item, None)
            session.flush()
            payload = _describe(item)
        emit(payload, as_json, f"integration {integration_id} {past}")

    command.__doc__ = f"{name.capitalize()} an integration."


@integration.command("publish")
@click.argument("integration_id", type=int)
@json_option
def publish(integration_id: int, as_json: bool) -> None:
    """Publish an integration: refused while its mapping would skip (almost) everyone."""
    with data_session(as_json) as session:
        item = svc.get_integration(session, integration_id)
        try:
            svc.publish(session, item, None)
        except ServiceError as exc:
            how = f"hrsync integration edit {integration_id} {ALTERNATIVE_MAP}, then publish"
            raise _with_alternative(exc, how) from None
        session.flush()
        payload = _describe(item)
    emit(payload, as_json, f"integration {integration_id} published: it is live")


_transition("pause", svc.pause, "paused")
_transition("resume", svc.resume, "resumed")
_transition("revoke", svc.revoke, "revoked: its key is wiped and no import will run")
