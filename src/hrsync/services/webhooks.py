"""Webhooks of the kinds that have them (issue 16; the kind's :class:`~hrsync.sources.kind.WebhookCapability`):
subscribe on publish, resume and re-authorize, unsubscribe on pause, revoke and delete; take deliveries
as hints; what the dashboard says about them. Nothing here names a kind: each call asks the
integration's kind.

* **Whether** (:func:`mode`): ``HRSYNC_WEBHOOKS`` = ``on`` / ``off`` / ``auto``. ``auto`` is on when
  ``HRSYNC_BASE_URL`` is an address the source can reach (not loopback, private or link-local, not
  ``localhost``), or when the kind's source itself runs on this machine (``source_is_local``: the
  demo's simulator next to the portal). A host *name* other than ``localhost`` counts as reachable:
  hrsync cannot know how the internet resolves it.
* **Subscribing** (:func:`subscribe`): a fresh 256-bit token per integration; only its SHA-256 is stored.
  One subscription per event of the kind's ``events``, each pointing at
  ``<HRSYNC_BASE_URL>/hooks/<kind>/<token>`` (:func:`hook_path`); their ids are kept to remove them
  later. Calls are best effort: a failure is recorded (state ``failed``, ``last_error``) and never stops
  the publish, pause or revoke it accompanies; scheduled imports carry on either way.
* **Receiving** (:func:`receive`): a known token of an integration of that kind queues a hint
  (``webhook_hint``) for the subject the kind reads from the body (its ``hint``), one row per person
  (or job), due :data:`HRSYNC_WEBHOOK_DELAY_SECONDS` after the first delivery; later deliveries for
  the same person join that row without moving its due time. The payload is never trusted: the worker
  re-fetches the person with the stored key (:mod:`hrsync.jobs.webhooks`).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrsync.config import get_settings
from hrsync.services import activity
from hrsync.sources import registry
from hrsync.sources.base import SourceError
from hrsync.sources.kind import HOOK_ROUTE, SourceKind, Subscriptions, WebhookCapability, WebhookError
from hrsync.store.models import AdminUser, Integration, IntegrationStatus, WebhookHint, WebhookSubscription
from hrsync.store.tokens import hash_token
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

#: The delivery endpoint (:mod:`hrsync.web.hooks`) is :data:`~hrsync.sources.kind.HOOK_ROUTE`: ``kind`` is the
#: integration's kind, so the addresses subscriptions made before kinds had capabilities
#: (``/hooks/<that kind>/<token>``) are this same route.


class WebhookState:
    OFF = "off"  # webhooks are off for this deployment (or never registered)
    REGISTERED = "registered"
    FAILED = "failed"  # the source refused or could not be reached; scheduled imports carry on
    REMOVED = "removed"  # paused, revoked or deleted


# -- whether webhooks are on ---------------------------------------------------------------------------


def _kind(integration: Integration) -> SourceKind | None:
    """The integration's kind when it has webhooks (None otherwise, or when hrsync no longer has it)."""
    kind = registry.REGISTRY.get(integration.kind)
    return kind if kind is not None and kind.webhooks is not None else None


def _capability(integration: Integration) -> WebhookCapability:
    kind = _kind(integration)
    if kind is None or kind.webhooks is None:
        raise SourceError("this source has no webhooks", code="internal")
    return kind.webhooks


def _unreachable_host(host: str) -> bool:
    """Loopback, private, link-local or ``localhost``: the internet cannot call it."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: assumed public (we cannot know how the internet resolves it)
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def mode(kind: SourceKind | None = None) -> tuple[bool, str | None]:
    """(on, why not: one sentence for the dashboard when off), for an integration of ``kind``."""
    settings = get_settings()
    if settings.webhooks == "off":
        return False, ("Webhooks are turned off on this server by its operator (HRSYNC_WEBHOOKS=off); members "
                       "change at scheduled imports.")
    if settings.webhooks == "on":
        return True, None
    host = urlsplit(settings.base_url).hostname or ""
    local = kind is not None and kind.webhooks is not None and kind.webhooks.source_is_local()
    if not _unreachable_host(host) or local:
        return True, None
    name = kind.display_name if kind is not None else "the source"
    return False, (f"Webhooks are off because this portal's address ({settings.base_url}) cannot be reached from "
                   f"{name}; members change at scheduled imports (see docs/deploy.md).")


def hook_path(kind: str, token: str) -> str:
    """The path a kind's deliveries are posted to (the token is the only credential)."""
    return HOOK_ROUTE.format(kind=kind, token=token)


def hook_url(kind: str, token: str) -> str:
    return get_settings().base_url.rstrip("/") + hook_path(kind, token)


# -- subscriptions --------------------------------------------------------------------------------------


def _row(session: Session, integration: Integration) -> WebhookSubscription:
    row = session.scalars(select(WebhookSubscription).where(WebhookSubscription.integration_id == integration.id)
                          ).one_or_none()
    if row is None:
        row = WebhookSubscription(integration_id=integration.id, state=WebhookState.OFF, subscription_ids=[])
        session.add(row)
    return row


def _api(integration: Integration) -> Subscriptions:
    return _capability(integration).subscriptions(integration)


def _record(session: Session, integration: Integration, actor: AdminUser | None, action: str,
            detail: dict[str, Any]) -> None:
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action=action, detail=detail)


def subscribe(session: Session, integration: Integration, actor: AdminUser | None = None) -> str:
    """Register the events hrsync needs for a live integration whose kind has webhooks (replacing any
    earlier subscriptions and token). Best effort; returns the state recorded."""
    kind = _kind(integration)
    if kind is None or kind.webhooks is None or integration.status != IntegrationStatus.LIVE.value:
        return WebhookState.OFF
    on, _why = mode(kind)
    row = _row(session, integration)
    if not on:
        row.state, row.last_error, row.token_hash = WebhookState.OFF, None, None
        return row.state
    made: list[str] = []
    try:
        with _api(integration) as api:
            api.unsubscribe_all(list(row.subscription_ids or []))  # the earlier ones (re-authorize)
            token = secrets.token_urlsafe(32)  # 256 bits
            url = hook_url(kind.kind, token)
            for event in kind.webhooks.events:
                made.append(api.subscribe(url, event))
    except (WebhookError, SourceError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        if made:
            try:
                with _api(integration) as api:
                    api.unsubscribe_all(made)
            except (WebhookError, SourceError):
                pass
        row.state, row.last_error, row.token_hash, row.subscription_ids = WebhookState.FAILED, reason, None, []
        log.warning("integration %s: webhooks not registered: %s", integration.id, reason)
        _record(session, integration, actor, "webhooks_failed", {"reason": reason})
        return row.state
    row.state, row.last_error = WebhookState.REGISTERED, None
    row.token_hash, row.subscription_ids, row.registered_at = hash_token(token), made, utcnow()
    _record(session, integration, actor, "webhooks_registered", {"events": len(made)})
    return row.state


def unsubscribe(session: Session, integration: Integration, actor: AdminUser | None = None, *,
                why: str = "paused") -> None:
    """Remove the integration's subscriptions (best effort, with the key it still has) and forget the
    token, so deliveries to the old URL are 404 from now on. Pending hints are dropped."""
    row = session.scalars(select(WebhookSubscription).where(WebhookSubscription.integration_id == integration.id)
                          ).one_or_none()
    session.query(WebhookHint).filter(WebhookHint.integration_id == integration.id).delete(synchronize_session=False)
    if row is None:
        return
    ids = list(row.subscription_ids or [])
    errors: list[str] = []
    if ids:
        try:
            with _api(integration) as api:
                errors = api.unsubscribe_all(ids)
        except (WebhookError, SourceError) as exc:
            errors = [getattr(exc, "reason", None) or str(exc)]
    row.token_hash, row.subscription_ids = None, []
    row.state = WebhookState.REMOVED if ids or row.state != WebhookState.OFF else WebhookState.OFF
    where = registry.display_name(integration.kind)
    row.last_error = (f"Some subscriptions could not be removed in {where} (deliveries to them are refused): "
                      + "; ".join(errors)) if errors else None
    if ids:
        _record(session, integration, actor, "webhooks_removed", {"why": why, "removed": len(ids) - len(errors),
                                                                  "errors": len(errors)})


# -- deliveries -----------------------------------------------------------------------------------------


def _registered(session: Session, kind: str, token: str) -> tuple[WebhookSubscription, SourceKind] | None:
    """The registered subscription ``token`` belongs to, when its integration is of ``kind`` and that
    kind has webhooks; None otherwise (a token posted under another kind's path is unknown there)."""
    if not token or len(token) > 200:
        return None
    found = session.execute(
        select(WebhookSubscription, Integration.kind)
        .join(Integration, Integration.id == WebhookSubscription.integration_id)
        .where(WebhookSubscription.token_hash == hash_token(token),
               WebhookSubscription.state == WebhookState.REGISTERED, Integration.kind == kind)
        .limit(1)).one_or_none()
    source_kind = registry.REGISTRY.get(kind)
    if found is None or source_kind is None or source_kind.webhooks is None:
        return None
    return found[0], source_kind


def known_token(session: Session, kind: str, token: str) -> bool:
    """Is ``token`` a registered subscription's, of an integration of ``kind``? Asked before a delivery's
    body is parsed, so a stranger's body (however deep or broken) costs nothing and learns nothing but 404."""
    return _registered(session, kind, token) is not None


def receive(session: Session, kind: str, token: str, payload: Any, *, now: datetime | None = None) -> bool | None:
    """A delivery to ``/hooks/<kind>/<token>``. ``None``: unknown token (answer 404). ``True``: queued;
    ``False``: a known token but nothing to re-fetch (acknowledged, ignored)."""
    registered = _registered(session, kind, token)
    if registered is None:
        return None
    row, source_kind = registered
    assert source_kind.webhooks is not None
    now = now or utcnow()
    row.last_delivery_at = now
    found = source_kind.webhooks.hint(payload)
    if found is None:
        return False
    subject, event = found
    due = now + timedelta(seconds=get_settings().webhook_delay_seconds)
    joined = session.execute(
        update(WebhookHint)
        .where(WebhookHint.integration_id == row.integration_id, WebhookHint.subject == subject)
        .values(event=event, deliveries=WebhookHint.deliveries + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(joined, "rowcount", 0) == 0:
        try:
            with session.begin_nested():
                session.add(WebhookHint(integration_id=row.integration_id, subject=subject, event=event,
                                        received_at=now, due_at=due))
        except IntegrityError:  # another delivery for the same person inserted it first: join it
            session.execute(
                update(WebhookHint)
                .where(WebhookHint.integration_id == row.integration_id, WebhookHint.subject == subject)
                .values(event=event, deliveries=WebhookHint.deliveries + 1)
                .execution_options(synchronize_session=False)
            )
    return True


# -- the dashboard ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookView:
    state: str  # WebhookState
    sentence: str  # one sentence: what is going on
    last_delivery_at: datetime | None
    last_error: str | None


def view(session: Session, integration: Integration) -> WebhookView | None:
    """What the dashboard shows for an integration whose kind has webhooks (None for other kinds)."""
    kind = _kind(integration)
    if kind is None:
        return None
    row = session.scalars(select(WebhookSubscription).where(WebhookSubscription.integration_id == integration.id)
                          ).one_or_none()
    on, why = mode(kind)
    if not on:
        return WebhookView(WebhookState.OFF, why or "", row.last_delivery_at if row else None, None)
    if row is None or row.state == WebhookState.OFF:
        sentence = ("Webhooks will be registered when the integration is published."
                    if integration.status != IntegrationStatus.LIVE.value
                    else "Webhooks are not registered yet; they are at the next publish, resume or re-authorize.")
        return WebhookView(WebhookState.OFF, sentence, None, None)
    name = registry.display_name(integration.kind)  # the source in its own words, as every page names it
    sentences = {
        WebhookState.REGISTERED: f"{name} tells Reward Manager about changes as they happen; scheduled imports "
                                 "still reconcile everything.",
        WebhookState.FAILED: f"{name} refused the webhook subscriptions; members change at scheduled imports.",
        WebhookState.REMOVED: "Webhooks were removed when the integration stopped importing.",
    }
    return WebhookView(row.state, sentences.get(row.state, row.state), row.last_delivery_at, row.last_error)


def person_of(integration: Integration, subject: str) -> str | None:
    """The record id of the person a hint's subject names (the worker re-fetches them); None when the
    subject is gone or the kind no longer has webhooks. Raises SourceError when the source cannot answer."""
    kind = _kind(integration)
    if kind is None or kind.webhooks is None:
        return None
    return kind.webhooks.person_of(integration, subject)
