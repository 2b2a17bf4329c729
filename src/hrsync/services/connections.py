"""Which kind of source an integration is, its settings checked with the source, and one
integration per external account in a programme (the kind's connection key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.services.errors import ServiceError
from hrsync.sources import registry
from hrsync.sources.base import CheckResult, SourceError
from hrsync.sources.kind import SourceKind
from hrsync.store.models import Integration, IntegrationStatus
from hrsync.sync.runs import settle_mapping as settle_mapping  # the one rule, for publish too


class AlreadyConnected(ServiceError):
    """Another integration of the programme already reads the same external account."""

    def __init__(self, reason: str, existing_id: int) -> None:
        super().__init__(reason, code="already_connected")
        self.existing_id = existing_id


def kind_of(kind: str) -> SourceKind:
    """The registry's entry for ``kind``; :class:`ServiceError` for a kind hrsync does not have."""
    try:
        return registry.kind_of(kind)
    except SourceError as exc:
        raise ServiceError(exc.reason, code=exc.code) from None


def kinds() -> list[SourceKind]:
    """Every kind of source hrsync can connect to, in catalogue order."""
    return registry.kinds()


def kind_for(integration: Integration) -> SourceKind:
    return kind_of(integration.kind)


def check_settings(kind: str, settings: Mapping[str, Any]) -> CheckResult:
    """Settings of a kind of source, checked with the source; never raises for the expected failures."""
    source_kind = kind_of(kind)
    try:
        clean = source_kind.validate_settings(settings)
    except SourceError as exc:
        return CheckResult(ok=False, reason=exc.reason, code=exc.code)
    return source_kind.check_settings(clean)


def stored_settings(integration: Integration) -> dict[str, Any]:
    """The integration's settings that are not secret, as its kind stores them."""
    return kind_for(integration).stored_settings(integration)


def connected_elsewhere(
    session: Session, programme_id: int, source_kind: SourceKind, account: str, *, exclude_id: int | None = None
) -> Integration | None:
    """The programme's other integration of this kind holding access to ``account``, if any.

    The account is the kind's :attr:`~hrsync.sources.kind.SourceKind.connection_key` of its stored
    settings. An integration holds access when its kind is ready (a secret stored, a folder usable),
    whatever its status: an authorized draft counts (publishing it would import the same people
    twice); a revoked integration does not, but re-authorizing it meets this rule too.
    """
    stmt = select(Integration).where(Integration.programme_id == programme_id, Integration.kind == source_kind.kind,
                                     Integration.status != IntegrationStatus.REVOKED.value)
    if exclude_id is not None:
        stmt = stmt.where(Integration.id != exclude_id)
    for other in session.scalars(stmt.order_by(Integration.id)):
        if (source_kind.connection_key(source_kind.stored_settings(other)) == account
                and source_kind.not_ready(other) is None):
            return other
    return None


def refuse_second_connection(
    session: Session, programme_id: int, source_kind: SourceKind, clean: Mapping[str, Any],
    *, exclude_id: int | None = None,
) -> None:
    """One connected integration per external account in a programme: :class:`AlreadyConnected` otherwise."""
    account = source_kind.connection_key(clean)
    if not account:
        return
    existing = connected_elsewhere(session, programme_id, source_kind, account, exclude_id=exclude_id)
    if existing is None:
        return
    state = {"draft": "a draft not yet published", "live": "live", "paused": "paused"}.get(existing.status,
                                                                                          existing.status)
    raise AlreadyConnected(
        f"The {source_kind.display_name} account {source_kind.tenant_address(existing)} is already connected in "
        f"this programme (integration {existing.id}, {state}). Use that integration"
        + (", or delete that draft first." if existing.status == IntegrationStatus.DRAFT.value else "."),
        existing.id,
    )


def _clean_settings(source_kind: SourceKind, settings: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return source_kind.validate_settings(settings)
    except SourceError as exc:
        raise ServiceError(exc.reason, code=exc.code) from None


def verified_settings(source_kind: SourceKind, settings: Mapping[str, Any], *, session: Session,
                       programme_id: int, integration_id: int | None = None) -> dict[str, Any]:
    """Clean settings, checked with the source; :class:`ServiceError` with the source's reason otherwise.

    An account already connected in the programme is refused before the source is asked.
    """
    clean = _clean_settings(source_kind, settings)
    refuse_second_connection(session, programme_id, source_kind, clean, exclude_id=integration_id)
    result = source_kind.check_settings(clean)
    if not result.ok:
        raise ServiceError(result.reason or f"{source_kind.display_name} refused the settings.",
                           code=result.code or "check")
    return clean

