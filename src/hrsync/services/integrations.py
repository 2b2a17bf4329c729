"""Integrations: verify and store a source's settings, mapping, publish, pause, resume, revoke.

Every kind of source is reached through :mod:`hrsync.sources.registry`: its settings are validated
and checked with the source *before* anything is saved (:mod:`hrsync.services.connections`), and
stored by the kind itself (an API key encrypted with
:mod:`hrsync.security.secrets`, never shown again except for its last four characters).
Every change an administrator makes is written to the activity log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hrsync.domain.display import field_label
from hrsync.domain.fields import validate_mapping
from hrsync.domain.scoping import validate_rules
from hrsync.domain.transforms import validate_transforms
from hrsync.services import activity, webhooks
from hrsync.services.connections import (  # re-exported: the portal and CLI read them from here
    AlreadyConnected as AlreadyConnected,
)
from hrsync.services.connections import check_settings as check_settings
from hrsync.services.connections import kind_for as kind_for
from hrsync.services.connections import kind_of as kind_of
from hrsync.services.connections import kinds as kinds
from hrsync.services.connections import settle_mapping as settle_mapping
from hrsync.services.connections import stored_settings as stored_settings
from hrsync.services.connections import verified_settings
from hrsync.services.coverage import refuse_if_unreachable
from hrsync.services.errors import NotFound, ServiceError
from hrsync.services.programmes import validate_date_format
from hrsync.sources import registry
from hrsync.sources.base import Lifecycle, Source, SourceError
from hrsync.sources.registry import DEFAULT_KIND
from hrsync.store.models import (
    AdminUser,
    Frequency,
    Integration,
    IntegrationStatus,
    Programme,
)
from hrsync.store.types import is_row_id, utcnow
from hrsync.sync.context import mapping_of as mapping_of  # one rule, read by the portal and CLI from here
from hrsync.sync.runs import active_run

# What re-authorizing a revoked integration gives back: the status it had when access was revoked.
RESTORABLE_STATUSES = (IntegrationStatus.LIVE.value, IntegrationStatus.PAUSED.value)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _log(session: Session, integration: Integration, actor: AdminUser | None, action: str,
         detail: Mapping[str, Any] | None = None) -> None:
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=None if actor is None else actor.id, action=action, detail=detail)


def status_map_of(integration: Integration) -> dict[str, Lifecycle]:
    """The integration's employment-status table: the default, overridden where it says so."""
    return kind_for(integration).status_table(integration.status_map)


def source_for(
    integration: Integration, *, time_budget: float | None = None, concurrency: int = 4, consume: bool | None = None
) -> Source:
    """The connector for a stored integration (:func:`hrsync.sources.registry.source_for`)."""
    return registry.source_for(integration, time_budget=time_budget, concurrency=concurrency, consume=consume)


def describe_fields(integration: Integration) -> dict[str, Any]:
    """The source's fields (read from it now), each with the member fields it feeds in the integration's
    mapping and those the kind suggests for it (a membership file's headers matched by name)."""
    mapping = mapping_of(integration)
    suggested = kind_for(integration).default_mapping(integration)
    try:
        with source_for(integration, concurrency=1, consume=False) as source:
            offered = source.fields()
    except SourceError as exc:
        raise ServiceError(exc.reason, code=exc.code) from None
    return {
        "id": integration.id,
        "kind": integration.kind,
        "fields": [
            {"key": f.key, "label": f.label, "kind": f.kind,
             "mapped_to": [t for t, k in mapping.items() if k == f.key],
             "suggested_for": [t for t, k in suggested.items() if k == f.key]}
            for f in offered
        ],
        # member fields mapped from a field the source does not offer (now)
        "missing": sorted(t for t, k in mapping.items() if k not in {f.key for f in offered}),
    }


def check_coverage(integration: Integration, mapping: Mapping[str, str] | None = None) -> None:
    """Refuse a mapping that would skip (almost) every person of a sample of the directory
    (:mod:`hrsync.services.coverage`). A directory that cannot be read now proves nothing: the
    credentials were verified when they were stored, and an import reports a read failure itself."""
    try:
        with source_for(integration, concurrency=1, consume=False) as source:
            refuse_if_unreachable(source, mapping if mapping is not None else mapping_of(integration))
    except SourceError:
        return


def _validate_schedule(frequency: str, schedule_time: str | None, schedule_day: str | None) -> None:
    if frequency not in {f.value for f in Frequency}:
        raise ServiceError(f"Frequency must be one of {', '.join(f.value for f in Frequency)}.")
    if schedule_time is not None:
        hh, sep, mm = schedule_time.partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
            raise ServiceError(f"Time '{schedule_time}' must be HH:MM (24-hour clock).")
    if schedule_day is not None:
        if frequency == Frequency.WEEKLY and schedule_day.lower() not in WEEKDAYS:
            raise ServiceError(f"Day '{schedule_day}' must be a weekday name for a weekly import.")
        if frequency == Frequency.MONTHLY and not (schedule_day.isdigit() and 1 <= int(schedule_day) <= 31):
            raise ServiceError(f"Day '{schedule_day}' must be a day of the month (1-31) for a monthly import.")


def _validate_threshold(pct: float) -> float:
    if not 0 <= pct <= 100:
        raise ServiceError("The leaver threshold is a percentage between 0 and 100.")
    return pct


def create_integration(
    session: Session,
    programme: Programme,
    owner: AdminUser,
    *,
    subdomain: str | None = None,
    api_key: str | None = None,
    kind: str = DEFAULT_KIND,
    settings: Mapping[str, Any] | None = None,
    frequency: str = Frequency.MANUAL.value,
    schedule_time: str | None = None,
    schedule_day: str | None = None,
    date_format: str | None = None,
    welcome_email: bool = True,
    mapping: Mapping[str, str] | None = None,
    leaver_threshold_pct: float = 10.0,
) -> Integration:
    """A draft integration of ``kind``, created only after its settings were checked with the source.

    ``settings`` are the kind's :attr:`SourceKind.settings_fields`; ``subdomain`` and ``api_key`` are
    shorthands for the two settings of the default kind. The mapping starts from the
    kind's suggestion (:attr:`SourceKind.default_mapping`), overridden by ``mapping``. Without any
    settings (the setup wizard's first step) the draft has no access until :func:`set_source_settings`
    stores checked ones.
    """
    source_kind = kind_of(kind)
    _validate_schedule(frequency, schedule_time, schedule_day)
    given = dict(settings or {})
    given.update({k: v for k, v in (("subdomain", subdomain), ("api_key", api_key)) if v is not None})
    clean = verified_settings(source_kind, given, session=session, programme_id=programme.id) if given else None
    integration = Integration(
        programme_id=programme.id,
        owner_id=owner.id,
        kind=source_kind.kind,
        frequency=frequency,
        schedule_time=schedule_time,
        schedule_day=schedule_day.lower() if schedule_day else None,
        date_format=validate_date_format(date_format or programme.date_format),
        welcome_email=welcome_email,
        mapping={},
        status_map={k: v.value for k, v in source_kind.status_table().items()},
        leaver_threshold_pct=_validate_threshold(leaver_threshold_pct),
        status=IntegrationStatus.DRAFT.value,
    )
    if clean is not None:
        source_kind.apply(integration, clean)
    full_mapping = {**source_kind.default_mapping(integration), **(mapping or {})}
    # A draft with nothing to map yet (no settings, or a membership file's drop folder still empty: the
    # SFTP order, set up first, files later) is mapped later: in the wizard, or by column name from the
    # first file when it is imported or published (connections.settle_mapping).
    problems = validate_mapping(full_mapping) if full_mapping else []
    if problems:
        raise ServiceError(problems[0], code="mapping")
    integration.mapping = full_mapping
    if clean is not None and full_mapping:
        check_coverage(integration, full_mapping)  # a sample that cannot be read proves nothing
    session.add(integration)
    session.flush()
    detail = None if clean is None else (
        {"subdomain": (integration.settings or {})["subdomain"]} if (integration.settings or {}).get("subdomain")
        else {"kind": integration.kind, "address": source_kind.tenant_address(integration)})
    _log(session, integration, owner, "created", detail)
    return integration


def integration_in_programme(session: Session, programme_id: int, integration_id: int) -> Integration:
    """Scoped lookup: another programme's integration is simply not found."""
    integration = session.scalar(
        select(Integration).where(Integration.id == integration_id, Integration.programme_id == programme_id)
    ) if is_row_id(integration_id) else None
    if integration is None:
        raise NotFound(f"Integration {integration_id}")
    return integration


def get_integration(session: Session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id) if is_row_id(integration_id) else None
    if integration is None:
        raise NotFound(f"Integration {integration_id}")
    return integration


def _reschedule(session: Session, integration: Integration) -> None:
    """Set ``next_run_at`` from the schedule (live integrations only)."""
    from hrsync.domain.schedule import next_run_for  # the schedule owns its rules

    integration.next_run_at = (
        next_run_for(integration, integration.programme)
        if integration.status == IntegrationStatus.LIVE.value
        else None
    )


def set_source_settings(
    session: Session, integration: Integration, actor: AdminUser | None, settings: Mapping[str, Any]
) -> None:
    """Re-authorize: new settings for the integration's source (checked first), keeping the mapping.

    A revoked integration gets back the status it had when access was revoked: a live one is live
    again (its next import scheduled), a paused one stays paused. One revoked before that status was
    remembered comes back paused (or a draft, if it was never published).
    """
    source_kind = kind_for(integration)
    source_kind.apply(integration, verified_settings(
        source_kind, settings, session=session, programme_id=integration.programme_id, integration_id=integration.id))
    detail: dict[str, Any] = ({"key_last4": integration.secret_last4} if integration.secret_encrypted
                              else {"address": source_kind.tenant_address(integration)})
    if integration.status == IntegrationStatus.REVOKED.value:
        before = integration.status_before_revoke
        if before not in RESTORABLE_STATUSES:
            before = IntegrationStatus.PAUSED.value if integration.published_at else IntegrationStatus.DRAFT.value
        integration.status = before
        integration.status_before_revoke = None
        _reschedule(session, integration)
        detail["restored"] = before
    _log(session, integration, actor, "reauthorized", detail)
    from hrsync.services.quarantine import lift_on_reauthorize  # issue 16: a new key ends a quarantine

    lift_on_reauthorize(session, integration, actor)
    webhooks.subscribe(session, integration, actor)  # a new key: subscriptions made anew (live only)


def update_settings(
    session: Session,
    integration: Integration,
    actor: AdminUser | None,
    *,
    frequency: str | None = None,
    schedule_time: str | None = None,
    schedule_day: str | None = None,
    date_format: str | None = None,
    welcome_email: bool | None = None,
    leaver_threshold_pct: float | None = None,
    blanks_clear_values: bool | None = None,
    vanished_are_leavers: bool | None = None,
) -> None:
    freq = frequency or integration.frequency
    _validate_schedule(freq, schedule_time, schedule_day)
    before = {
        "frequency": integration.frequency, "schedule_time": integration.schedule_time,
        "schedule_day": integration.schedule_day, "date_format": integration.date_format,
        "welcome_email": integration.welcome_email, "leaver_threshold_pct": integration.leaver_threshold_pct,
        "blanks_clear_values": integration.blanks_clear_values,
        "vanished_are_leavers": integration.vanished_are_leavers,
    }
    integration.frequency = freq
    integration.schedule_time = schedule_time
    integration.schedule_day = schedule_day.lower() if schedule_day else None
    if date_format is not None:
        integration.date_format = validate_date_format(date_format)
    if welcome_email is not None:
        integration.welcome_email = welcome_email
    if leaver_threshold_pct is not None:
        integration.leaver_threshold_pct = _validate_threshold(leaver_threshold_pct)
    if blanks_clear_values is not None:
        integration.blanks_clear_values = blanks_clear_values
    if vanished_are_leavers is not None:
        integration.vanished_are_leavers = vanished_are_leavers
    after = {k: getattr(integration, k) for k in before}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        _reschedule(session, integration)
        activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                        admin_id=actor.id if actor else None, action="edited_settings", detail=changed)


def update_mapping(
    session: Session,
    integration: Integration,
    actor: AdminUser | None,
    mapping: Mapping[str, str],
    *,
    status_map: Mapping[str, str] | None = None,
    available_source_keys: list[str] | None = None,
) -> None:
    clean = {k: v for k, v in mapping.items() if v}
    problems = validate_mapping(clean, available_source_keys)
    if problems:
        raise ServiceError(" ".join(problems), code="mapping")
    if status_map is not None:
        allowed = {lc.value for lc in Lifecycle}
        for status, lifecycle in status_map.items():
            if lifecycle not in allowed:
                raise ServiceError(f"'{status}' must map to one of {', '.join(sorted(allowed))}.")
        integration.status_map = dict(status_map)
    if clean != integration.mapping:
        activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                        admin_id=actor.id if actor else None, action="edited_mapping", detail={"mapping": clean})
    integration.mapping = clean
    if integration.transforms:  # a transform of a field no longer mapped goes with it
        kept = {t: spec for t, spec in integration.transforms.items() if t in clean}
        integration.transforms = kept or None


def validate_shape(
    mapping: Mapping[str, str], scope_rules: Any, transforms: Any,
    available_source_keys: list[str] | None = None,
) -> tuple[list[dict[str, Any]] | None, dict[str, dict[str, Any]] | None, list[str]]:
    """Scoping rules and value transforms checked against a mapping and the source's fields: the clean
    rules (``None``: everyone), the clean transforms (``None``: none) and every problem, one sentence each.

    The one rule for the portal's mapping step, the API and the CLI (decision 0026)."""
    rules, rule_problems = validate_rules(scope_rules, available_source_keys)
    labels = {target: field_label(target) for target in mapping}
    clean, transform_problems = validate_transforms(transforms, mapping, available_source_keys, labels)
    return rules or None, clean or None, rule_problems + transform_problems


def update_shape(
    session: Session,
    integration: Integration,
    actor: AdminUser | None,
    *,
    scope_rules: Any,
    transforms: Any,
    available_source_keys: list[str] | None = None,
) -> None:
    """Store an integration's scoping rules and value transforms (validated first; a :class:`ServiceError`
    with every problem otherwise). The next import and preview use them; since both are part of the
    fingerprints' key, that import takes everyone the full way once."""
    rules, clean, problems = validate_shape(mapping_of(integration), scope_rules, transforms, available_source_keys)
    if problems:
        raise ServiceError(" ".join(problems), code="shape")
    changed: dict[str, Any] = {}
    if rules != (integration.scope_rules or None):
        changed["scope_rules"] = rules
    if clean != (integration.transforms or None):
        changed["transforms"] = clean
    integration.scope_rules = rules
    integration.transforms = clean
    if changed:
        activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                        admin_id=actor.id if actor else None, action="edited_shape", detail=changed)


def publish(session: Session, integration: Integration, actor: AdminUser | None) -> None:
    not_ready = kind_for(integration).not_ready(integration)
    if not_ready:
        raise ServiceError(not_ready)
    settle_mapping(integration)
    problems = validate_mapping(mapping_of(integration))
    if problems:
        raise ServiceError(problems[0], code="mapping")
    shape_problems = validate_shape(mapping_of(integration), integration.scope_rules, integration.transforms)[2]
    if shape_problems:
        raise ServiceError(shape_problems[0], code="shape")
    if integration.status == IntegrationStatus.LIVE.value:
        return
    check_coverage(integration)
    integration.status = IntegrationStatus.LIVE.value
    integration.published_at = integration.published_at or utcnow()
    integration.wizard_step = None
    _reschedule(session, integration)
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="published")
    webhooks.subscribe(session, integration, actor)


def _door(integration: Integration) -> dict[str, Any] | None:
    """What the activity sentence of a pause, resume or revoke needs: a push door (SCIM) has a token, no imports."""
    return {"push": True} if kind_for(integration).can("push") else None


def pause(session: Session, integration: Integration, actor: AdminUser | None) -> None:
    if integration.status != IntegrationStatus.LIVE.value:
        raise ServiceError("Only a live integration can be paused.")
    integration.status = IntegrationStatus.PAUSED.value
    integration.next_run_at = None
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="paused", detail=_door(integration))
    webhooks.unsubscribe(session, integration, actor, why="paused")


def resume(session: Session, integration: Integration, actor: AdminUser | None) -> None:
    if integration.status != IntegrationStatus.PAUSED.value:
        raise ServiceError("Only a paused integration can be resumed.")
    not_ready = kind_for(integration).not_ready(integration)
    if not_ready:
        raise ServiceError(not_ready)
    integration.status = IntegrationStatus.LIVE.value
    _reschedule(session, integration)
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="resumed", detail=_door(integration))
    webhooks.subscribe(session, integration, actor)


def revoke(session: Session, integration: Integration, actor: AdminUser | None) -> None:
    """Wipe the key (if the source has one) and stop every scheduled import. The mapping and history stay.

    The status it had (live or paused) is remembered for :func:`set_source_settings` to restore.
    """
    if integration.status in RESTORABLE_STATUSES:
        integration.status_before_revoke = integration.status
    webhooks.unsubscribe(session, integration, actor, why="revoked")  # while the key is still there
    integration.secret_encrypted = None
    integration.status = IntegrationStatus.REVOKED.value
    integration.next_run_at = None
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="revoked", detail=_door(integration))


def delete_draft(session: Session, integration: Integration, actor: AdminUser | None) -> None:
    """Delete an integration that was never published, with its previews; written to the activity log.

    Only drafts: a live, paused or revoked integration has imported members and a history to keep.
    """
    if integration.status != IntegrationStatus.DRAFT.value or integration.published_at is not None:
        raise ServiceError("Only a draft can be deleted. Revoke access to stop a published integration.")
    if active_run(session, integration.id) is not None:
        raise ServiceError("A preview of this draft is still running. Wait for it to finish, then delete the draft.")
    address = kind_for(integration).tenant_address(integration)
    webhooks.unsubscribe(session, integration, actor, why="deleted")
    activity.record(session, programme_id=integration.programme_id, integration_id=None,
                    admin_id=actor.id if actor else None, action="deleted_draft",
                    detail={"integration_id": integration.id, "kind": integration.kind, "address": address})
    session.execute(delete(Integration).where(Integration.id == integration.id))
    session.expunge(integration)
