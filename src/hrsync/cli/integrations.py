"""``hrsync integration ...``: connect a source (any kind in the registry) to a programme, publish, revoke."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import EXIT_BAD_INPUT, cli, emit, fail
from hrsync.domain.dates import DATE_FORMATS
from hrsync.services import integrations as svc
from hrsync.services.adoption import adoption_offers, publish_adopting
from hrsync.services.errors import ServiceError
from hrsync.services.programmes import first_admin, programme_by_name
from hrsync.sources.base import SourceError
from hrsync.sources.registry import DEFAULT_KIND
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
    """A key-coverage refusal names the command-line alternative (the source's fallback key as the key);
    ``how`` holds ``{map}`` where that option goes."""
    alternative = getattr(exc, "alternative_map", None)
    if exc.code != "key_coverage" or not alternative:
        return exc
    return ServiceError(f"{exc.reason.rstrip('.')} ({how.format(map=alternative)}).", code=exc.code)


def _describe(integration: Integration) -> dict[str, Any]:
    return {
        "id": integration.id, "programme_id": integration.programme_id, "status": integration.status,
        "kind": integration.kind, "settings": svc.stored_settings(integration),
        "api_key_last4": integration.secret_last4,
        "frequency": integration.frequency, "schedule_time": integration.schedule_time,
        "schedule_day": integration.schedule_day, "date_format": integration.date_format,
        "welcome_email": integration.welcome_email, "mapping": integration.mapping,
        "leaver_threshold_pct": integration.leaver_threshold_pct,
        "scope_rules": integration.scope_rules or [], "transforms": integration.transforms or {},
        "next_run_at": integration.next_run_at.isoformat() if integration.next_run_at else None,
        "quarantined_at": integration.quarantined_at.isoformat() if integration.quarantined_at else None,
        "consecutive_config_failures": integration.consecutive_config_failures,
        "consecutive_transient_failures": integration.consecutive_transient_failures,
    }


@cli.group("integration")
def integration() -> None:
    """Integrations with a source (an HR system, a membership file, ...)."""


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


#: Short names kept working for --source.
SOURCE_ALIASES = {"file": "membership_file"}


def _alias_help(option: str) -> str:
    """``--subdomain``'s help, in the words of the kind whose setting it stands for."""
    for kind in svc.kinds():
        for f in kind.settings_fields:
            if option in f.cli_aliases:
                return f"Alias of --setting {f.name}=VALUE ({kind.display_name}: {f.label}). {f.help}"
    return "An alias no kind declares."


@integration.command("add")
@click.option("--programme", "programme_name", required=True)
@click.option("--source", "source", default=DEFAULT_KIND, show_default=True, metavar="KIND",
              help="The kind of source (hrsync integration kinds lists them with their settings).")
@click.option("--setting", "setting_pairs", multiple=True, metavar="NAME=VALUE",
              help="One of the kind's settings (repeatable); a secret one is better given with --api-key -.")
@click.option("--api-key", default=None, help="The kind's secret setting (an API key), or - to read it from "
                                              "standard input.")
@click.option("--subdomain", default=None, help=_alias_help("--subdomain"))
@click.option("--path", "path", default=None, help=_alias_help("--path"))
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="manual", show_default=True)
@_with(schedule_options)
@click.option("--date-format", type=click.Choice(DATE_FORMATS), default=None, help="Default: the programme's.")
@click.option("--welcome-email/--no-welcome-email", default=True, show_default=True)
@click.option("--map", "maps", multiple=True, metavar="TARGET=SOURCE", help="Map a member field (repeatable).")
@click.option("--leaver-threshold", type=float, default=10.0, show_default=True,
              help="Hold an import that would make more than this % of active members leavers.")
@json_option
def add(programme_name: str, source: str, setting_pairs: tuple[str, ...], api_key: str | None,
        subdomain: str | None, path: str | None, frequency: str, at: str | None, day: str | None,
        date_format: str | None, welcome_email: bool, maps: tuple[str, ...],
        leaver_threshold: float, as_json: bool) -> None:
    """Connect a source to a programme (its settings are verified before anything is saved)."""
    kind = SOURCE_ALIASES.get(source, source)
    if kind == "scim":  # a push door: no settings to check, a token to print once
        from hrsync.cli.scim import add_scim

        return add_scim(programme_name, welcome_email, leaver_threshold, _parse_map(maps, as_json), as_json)
    aliases = {"--subdomain": subdomain, "--path": path}
    settings = _settings(kind, setting_pairs, aliases, api_key, as_json)
    mapping = _parse_map(maps, as_json)
    with data_session(as_json) as session:
        prog = programme_by_name(session, programme_name)
        owner = first_admin(session, prog.id)
        try:
            created = svc.create_integration(
                session, prog, owner, kind=kind, settings=settings, frequency=frequency, schedule_time=at,
                schedule_day=day, date_format=date_format, welcome_email=welcome_email, mapping=mapping,
                leaver_threshold_pct=leaver_threshold,
            )
        except ServiceError as exc:
            if exc.code == "mapping":
                raise ServiceError(f"{exc.reason} Name the columns with --map FIELD=COLUMN, for example "
                                   '--map employee_id="Employee ID" --map email="Email".', code=exc.code) from None
            raise _with_alternative(exc, "add it with {map}") from None
        payload = {"id": created.id, "mapping": dict(created.mapping or {})}
    text = f"integration {payload['id']} created as a draft; publish it to go live"
    if not payload["mapping"]:  # an empty drop folder (set up first, files later): mapped at the first file
        payload["mapped_at_first_file"] = True
        text = (f"integration {payload['id']} created as a draft. Its folder has no file yet, so nothing is "
                "mapped: the first file's columns will be mapped by name (\"Employee ID\", \"Email\", \"First "
                "name\", ...) when it is imported or the integration is published; see them with `hrsync "
                f"integration fields {payload['id']}`. To choose the columns yourself instead: `hrsync integration "
                f"edit {payload['id']} --map employee_id=\"Employee ID\" --map email=\"Email\"`. Then "
                f"`hrsync import {payload['id']} --dry-run` to preview and `hrsync integration publish "
                f"{payload['id']}` to go live")
    emit(payload, as_json, text)


def _settings(kind: str, pairs: tuple[str, ...], aliases: dict[str, str | None], api_key: str | None,
              as_json: bool) -> dict[str, Any]:
    """The settings the chosen kind asks for (``SourceKind.settings_fields``), from ``--setting NAME=VALUE``,
    the old options that are aliases of one (``--subdomain``, ``--path``) and ``--api-key`` (the secret)."""
    try:
        fields = svc.kind_of(kind).settings_fields
    except ServiceError as exc:
        fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason, "code": exc.code}, as_json=as_json)
    by_name = {f.name: f for f in fields}
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name.strip() not in by_name:
            known = ", ".join(by_name) or "none"
            fail(f"--setting expects NAME=VALUE with a setting of --source {kind} ({known}), got '{pair}'",
                 EXIT_BAD_INPUT, as_json=as_json)
        given[name.strip()] = value
    for option, alias_value in aliases.items():
        if alias_value is None:
            continue
        field = next((f for f in fields if option in f.cli_aliases), None)
        if field is None:
            fail(f"{option} does not apply to --source {kind}", EXIT_BAD_INPUT, as_json=as_json)
        given[field.name] = alias_value
    secret = next((f for f in fields if f.secret), None)
    if api_key is not None and secret is None:
        fail(f"--api-key does not apply to --source {kind}", EXIT_BAD_INPUT, as_json=as_json)
    for f in fields:
        if f.required and f.name not in given and not (f.secret and api_key is not None):
            how = "--api-key" if f.secret else f"--setting {f.name}=..."
            fail(f"{how} is required ({f.label}): {f.help}", EXIT_BAD_INPUT, as_json=as_json)
    for f in fields:  # before a key is read or checked: another host is refused at once
        if f.name not in given or f.secret:
            continue
        try:
            given[f.name] = f.cleaned(given[f.name])
        except SourceError as exc:
            fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason, "code": exc.code}, as_json=as_json)
    if secret is not None:
        typed = api_key if api_key is not None else given.get(secret.name)
        if typed is not None:
            given[secret.name] = _read_key(typed, as_json)
    return given


@integration.command("kinds")
@json_option
def list_kinds(as_json: bool) -> None:
    """The kinds of source hrsync can connect to, with the settings each asks for."""
    payload: list[dict[str, Any]] = [{"kind": k.kind, "name": k.display_name,
                "settings": [{"name": f.name, "label": f.label, "help": f.help, "secret": f.secret,
                              "required": f.required} for f in k.settings_fields]}
               for k in svc.kinds()]
    lines = []
    for k in payload:
        lines.append(f"{k['kind']}: {k['name']}")
        lines.extend(f"  --setting {f['name']}=...  {f['label']}{'' if f['required'] else ' (optional)'}"
                     f"{' (secret: use --api-key -)' if f['secret'] else ''}" for f in k["settings"])
    emit({"kinds": payload}, as_json, "\n".join(lines))


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


def _json_file(path: str | None, what: str, as_json: bool) -> Any:
    if path is None:
        return None
    try:
        with click.open_file(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        reason = f"cannot read the {what} from {path}: {exc}"
        fail(reason, EXIT_BAD_INPUT, payload={"error": reason, "code": "bad_input"}, as_json=as_json)


@integration.command("shape")
@click.argument("integration_id", type=int)
@click.option("--rules", "rules_file", metavar="FILE", default=None,
              help='Scoping rules, a JSON list ("-" reads stdin), e.g. [{"effect": "exclude", "field": '
                   '"custom.workClass", "op": "one_of", "values": ["Casual"], "label": "casual workers"}].')
@click.option("--transforms", "transforms_file", metavar="FILE", default=None,
              help='Value transforms, a JSON object of target field → transform, e.g. '
                   '{"first_name": {"op": "title"}}.')
@click.option("--clear", is_flag=True, help="Remove every scoping rule and transform.")
@json_option
def shape(integration_id: int, rules_file: str | None, transforms_file: str | None, clear: bool,
          as_json: bool) -> None:
    """Set who is imported (scoping rules) and how values are shaped (transforms); both are checked
    as the wizard's mapping step checks them. Without options: show them."""
    with data_session(as_json) as session:
        item = svc.get_integration(session, integration_id)
        if clear or rules_file is not None or transforms_file is not None:
            rules = None if clear else _json_file(rules_file, "scoping rules", as_json)
            transforms = None if clear else _json_file(transforms_file, "transforms", as_json)
            svc.update_shape(  # a ServiceError naming every problem becomes exit 2 (data_session)
                session, item, None,
                scope_rules=rules if rules_file is not None or clear else item.scope_rules,
                transforms=transforms if transforms_file is not None or clear else item.transforms,
            )
            session.flush()
        rules_now: list[Any] = list(item.scope_rules or [])
        transforms_now: dict[str, Any] = dict(item.transforms or {})
        payload = {"id": item.id, "scope_rules": rules_now, "transforms": transforms_now}
    lines = [f"scoping rules: {len(rules_now)}", *(f"  {json.dumps(r)}" for r in rules_now),
             f"transforms: {len(transforms_now)}", *(f"  {k}: {json.dumps(v)}" for k, v in transforms_now.items())]
    emit(payload, as_json, "\n".join(lines))


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
@click.option("--adopt-from", "adopt_from", type=int, default=None, metavar="ID",
              help="Take over integration ID's members whose employee IDs this integration's preview found "
                   "(switching HR systems); see `hrsync integration adoptable`.")
@json_option
def publish(integration_id: int, adopt_from: int | None, as_json: bool) -> None:
    """Publish an integration: refused while its mapping would skip (almost) everyone."""
    with data_session(as_json) as session:
        item = svc.get_integration(session, integration_id)
        try:
            adopted = publish_adopting(session, item, None, adopt_from)
        except ServiceError as exc:
            if exc.code == "adopt":
                raise
            how = f"hrsync integration edit {integration_id} {{map}}, then publish"
            raise _with_alternative(exc, how) from None
        session.flush()
        payload = {**_describe(item), "adopted": adopted}
    took = f"; it adopted {adopted} member{'s' if adopted != 1 else ''} of integration {adopt_from}" \
        if adopt_from is not None else ""
    emit(payload, as_json, f"integration {integration_id} published: it is live{took}")


@integration.command("adoptable")
@click.argument("integration_id", type=int)
@json_option
def adoptable(integration_id: int, as_json: bool) -> None:
    """Other integrations' members this draft's preview met by employee ID: what `publish --adopt-from` takes."""
    with data_session(as_json) as session:
        offers = adoption_offers(session, svc.get_integration(session, integration_id))
        payload = [{"integration_id": o.integration_id, "door": o.door, "members": o.members} for o in offers]
    lines = [f"--adopt-from {o['integration_id']}: {o['members']} member{'s' if o['members'] != 1 else ''} "
             f"of {o['door']}" for o in payload]
    emit(payload, as_json, "\n".join(lines) or "nothing to adopt (preview the draft first, with `hrsync import "
         f"{integration_id} --dry-run`)")


@integration.command("fields")
@click.argument("integration_id", type=int)
@json_option
def fields(integration_id: int, as_json: bool) -> None:
    """The source's fields, which member field each feeds, and what the kind suggests (a file's
    headers matched by name)."""
    with data_session(as_json) as session:
        payload = svc.describe_fields(svc.get_integration(session, integration_id))
    lines = [f"{f['key']}: {', '.join(f['mapped_to']) or '-'}"
             + (f" (suggested: {', '.join(f['suggested_for'])})" if f["suggested_for"] else "")
             for f in payload["fields"]]
    emit(payload, as_json, "\n".join(lines) or "no fields")


_transition("pause", svc.pause, "paused")
_transition("resume", svc.resume, "resumed")
_transition("revoke", svc.revoke, "revoked: its key is wiped and no import will run")


@integration.command("retry")
@click.argument("integration_id", type=int)
@json_option
def retry(integration_id: int, as_json: bool) -> None:
    """Retry a quarantined integration now: one import in the foreground (the portal's Retry now).

    If it succeeds the quarantine ends and scheduled imports resume; if it fails (exit 1) the
    integration stays quarantined and the new failure is shown.
    """
    from hrsync.cli.imports import _deliver_queued_mail, _finish
    from hrsync.cli.main import EXIT_RUN_FAILED
    from hrsync.services.imports import RunBlocked, execute_run
    from hrsync.services.quarantine import retry_now
    from hrsync.store.models import RunTrigger

    with data_session(as_json) as session:
        item = svc.get_integration(session, integration_id)
        try:
            run_id = retry_now(session, item, None, trigger=RunTrigger.CLI.value, dispatch=False).id
        except RunBlocked as exc:
            fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason, "run_id": exc.run_id}, as_json=as_json)
    outcome = execute_run(run_id)
    if outcome is None:
        fail(f"run {run_id} was taken by another worker", EXIT_RUN_FAILED, as_json=as_json)
    _deliver_queued_mail()
    _finish(outcome, as_json)
