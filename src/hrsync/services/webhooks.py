"""intelliHR webhooks (issue 16): subscribe on publish, resume and re-authorize, unsubscribe on pause,
revoke and delete; take deliveries as hints; what the dashboard says about them.

* **Whether** (:func:`mode`): ``HRSYNC_WEBHOOKS`` = ``on`` / ``off`` / ``auto``. ``auto`` is on when
  ``HRSYNC_BASE_URL`` is an address intelliHR can reach (not loopback, private or link-local, not
  ``localhost``), or when ``HRSYNC_INTELLIHR_BASE_URL`` is itself loopback (the demo's simulator runs next
  to the portal). A host *name* other than ``localhost`` counts as reachable: hrsync cannot know how the
  internet resolves it.
* **Subscribing** (:func:`subscribe`): a fresh 256-bit token per integration; only its SHA-256 is stored.
  One subscription per event of :data:`~hrsync.sources.intellihr.webhooks.EVENTS`, each pointing at
  ``<HRSYNC_BASE_URL>/hooks/intellihr/<token>``; their ids are kept to remove them later. Calls are best
  effort: a failure is recorded (state ``failed``, ``last_error``) and never stops the publish, pause or
  revoke it accompanies; scheduled imports carry on either way.
* **Receiving** (:func:`receive`): a known token queues a hint (``webhook_hint``), one row per person (or
  job), due :data:`HRSYNC_WEBHOOK_DELAY_SECONDS` after the first delivery; later deliveries for the same
  person join that row without moving its due time. The payload is never trusted: the worker re-fetches
  the person with the stored key (:mod:`hrsync.jobs.webhooks`).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrsync.config import get_settings
from hrsync.services import activity
from hrsync.sources import registry
from hrsync.sources.base import SourceError
from hrsync.store.models import AdminUser, Integration, IntegrationStatus, WebhookHint, WebhookSubscription
from hrsync.store.tokens import hash_token
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

HOOK_PATH: Final = "/hooks/intellihr/"


class WebhookState:
    OFF = "off"  # webhooks are off for this deployment (or never registered)
    REGISTERED = "registered"
    FAILED = "failed"  # intelliHR refused or could not be reached; scheduled imports carry on
    REMOVED = "removed"  # paused, revoked or deleted


# -- whether webhooks are on ---------------------------------------------------------------------------


def _has_webhooks(integration: Integration) -> bool:
    """Whether the integration's kind declares the ``webhooks`` capability."""
    kind = registry.REGISTRY.get(integration.kind)
    return kind is not None and kind.can("webhooks")


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


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mode() -> tuple[bool, str | None]:
    """(on, why not: one sentence for the dashboard when off)."""
    settings = get_settings()
    if settings.webhooks == "off":
        return False, ("Webhooks are turned off for this hrsync (HRSYNC_WEBHOOKS=off); members change at "
                       "scheduled imports.")
    if settings.webhooks == "on":
        return True, None
    host = urlsplit(settings.base_url).hostname or ""
    if not _unreachable_host(host) or _loopback(settings.intellihr_base_url):
        return True, None
    return False, (f"Webhooks are off because this portal's address ({settings.base_url}) cannot be reached from "
                   "intelliHR; members change at scheduled imports (see docs/deploy.md).")


def hook_url(token: str) -> str:
    return get_settings().base_url.rstrip("/") + HOOK_PATH + token


# -- subscriptions --------------------------------------------------------------------------------------


def _row(session: Session, integration: Integration) -> WebhookSubscription:
    row = session.scalars(select(WebhookSubscription).where(WebhookSubscription.integration_id == integration.id)
                          ).one_or_none()
    if row is None:
        row = WebhookSubscription(integration_id=integration.id, state=WebhookState.OFF, subscription_ids=[])
        session.add(row)
    return row


def _api(integration: Integration) -> Any:
    from hrsync.sources.intellihr.source import IntelliHRSource
    from hrsync.sources.intellihr.webhooks import WebhookApi
    from hrsync.sources.registry import source_for

    source = source_for(integration, consume=False)
    if not isinstance(source, IntelliHRSource):  # pragma: no cover - only intelliHR integrations get here
        source.close()
        raise SourceError("this source has no webhooks", code="internal")
    source.close()
    return WebhookApi.of(source)


def _record(session: Session, integration: Integration, actor: AdminUser | None, action: str,
            detail: dict[str, Any]) -> None:
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action=action, detail=detail)


def subscribe(session: Session, integration: Integration, actor: AdminUser | None = None) -> str:
    """Register the events hrsync needs for a live intelliHR integration (replacing any earlier
    subscriptions and token). Best effort; returns the state recorded."""
    from hrsync.sources.intellihr.webhooks import EVENTS, WebhookError

    if not _has_webhooks(integration) or integration.status != IntegrationStatus.LIVE.value:
        return WebhookState.OFF
    on, _why = mode()
    row = _row(session, integration)
    if not on:
        row.state, row.last_error, row.token_hash = WebhookState.OFF, None, None
        return row.state
    made: list[str] = []
    try:
        with _api(integration) as api:
            api.unsubscribe_all(list(row.subscription_ids or []))  # the earlier ones (re-authorize)
            token = secrets.token_urlsafe(32)  # 256 bits
            url = hook_url(token)
            for event in EVENTS:
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
    from hrsync.sources.intellihr.webhooks import WebhookError

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
    row.last_error = ("Some subscriptions could not be removed in intelliHR (deliveries to them are refused): "
                      + "; ".join(errors)) if errors else None
    if ids:
        _record(session, integration, actor, "webhooks_removed", {"why": why, "removed": len(ids) - len(errors),
                                                                  "errors": len(errors)})


# -- deliveries -----------------------------------------------------------------------------------------


def _subject(payload: Any) -> tuple[str, str] | None:
    """(subject, event) of a delivery: ``person:<id>`` or ``job:<id>``, read from ``links.self`` when it
    names one, otherwise from the event's model and ``id``. None when it names nobody we can re-fetch."""
    from hrsync.sources.intellihr.webhooks import is_uuid

    if not isinstance(payload, dict):
        return None
    event = payload.get("event")
    event = event if isinstance(event, str) else ""
    links = payload.get("links")
    link = links.get("self") if isinstance(links, dict) else None
    if isinstance(link, str):
        parts = [p for p in urlsplit(link).path.split("/") if p]
        if len(parts) >= 2 and parts[-2] in ("people", "jobs") and is_uuid(parts[-1]):
            return f"{'person' if parts[-2] == 'people' else 'job'}:{parts[-1].lower()}", event[:64]
    ident = payload.get("id")
    model = event.split(".", 1)[0]
    if model in ("person", "job") and is_uuid(ident):
        return f"{model}:{str(ident).lower()}", event[:64]
    return None


def known_token(session: Session, token: str) -> bool:
    """Is ``token`` a registered subscription's? Asked before a delivery's body is parsed, so a
    stranger's body (however deep or broken) costs nothing and learns nothing but 404."""
    if not token or len(token) > 200:
        return False
    return session.scalar(select(WebhookSubscription.id).where(
        WebhookSubscription.token_hash == hash_token(token), WebhookSubscription.state == WebhookState.REGISTERED,
    ).limit(1)) is not None


def receive(session: Session, token: str, payload: Any, *, now: datetime | None = None) -> bool | None:
    """A delivery to ``/hooks/intellihr/<token>``. ``None``: unknown token (answer 404). ``True``: queued;
    ``False``: a known token but nothing to re-fetch (acknowledged, ignored)."""
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(WebhookSubscription).where(WebhookSubscription.token_hash == hash_token(token),
                                                            WebhookSubscription.state == WebhookState.REGISTERED)
                          ).one_or_none()
    if row is None:
        return None
    now = now or utcnow()
    row.last_delivery_at = now
    found = _subject(payload)
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
    """What the dashboard shows for an intelliHR integration (None for other kinds)."""
    if not _has_webhooks(integration):
        return None
    row = session.scalars(select(WebhookSubscription).where(WebhookSubscription.integration_id == integration.id)
                          ).one_or_none()
    on, why = mode()
    if not on:
        return WebhookView(WebhookState.OFF, why or "", row.last_delivery_at if row else None, None)
    if row is None or row.state == WebhookState.OFF:
        sentence = ("Webhooks will be registered when the integration is published."
                    if integration.status != IntegrationStatus.LIVE.value
                    else "Webhooks are not registered yet; they are at the next publish, resume or re-authorize.")
        return WebhookView(WebhookState.OFF, sentence, None, None)
    sentences = {
        WebhookState.REGISTERED: "intelliHR tells hrsync about changes as they happen; scheduled imports still "
                                 "reconcile everything.",
        WebhookState.FAILED: "intelliHR refused the webhook subscriptions; members change at scheduled imports.",
        WebhookState.REMOVED: "Webhooks were removed when the integration stopped importing.",
    }
    return WebhookView(row.state, sentences.get(row.state, row.state), row.last_delivery_at, row.last_error)
