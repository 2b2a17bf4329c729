"""Webhook subscriptions (``/v1/webhooks``) and their delivery, as the published spec shapes them.

* ``POST /webhooks {url, webhookEvent, isEnabled?, source?}`` → 201 ``{data: {id, url, webhookEvent:
  {id, name, link, event}, isEnabled, source, createdAt, updatedAt}, meta}``; ``GET /webhooks`` (paged),
  ``GET/PATCH/DELETE /webhooks/{id}``.
* Every change of the directory (:class:`~hrsync.simulator.directory.Directory` calls its listeners:
  ``hire``, ``change``, ``terminate``, ``rehire``, ``remove``, ``hide``, ``restore``, so the ``/_sim``
  admin endpoints too) becomes one delivery per enabled subscription of that event: a ``POST`` of the
  documented payload ``{id, event, timestamp, links: {self}}`` (``updated_attributes`` on
  ``person.updated``; no ``links`` on ``person.deleted``, whose schema has none), sent from one background
  thread, best effort: a refused or failing receiver is recorded in :attr:`WebhookHub.deliveries` and
  not retried (intelliHR documents no retry). The spec shows no signature, and none is sent.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from hrsync.simulator.api import BadRequest, Reply, bad_request, dumps, error_reply, parse_list_query
from hrsync.simulator.directory import Change
from hrsync.simulator.ids import is_uuid

#: The events intelliHR documents (``GET /webhook-events``); subscribing to another is a 400.
EVENTS: dict[str, str] = {
    "person.created": "Person Created Event",
    "person.updated": "Person Updated Event",
    "person.deleted": "Person Deleted Event",
    "person.birthday_upcoming": "Person Birthday Upcoming Event",
    "job.created": "Job Created Event",
    "job.deleted": "Job Deleted Event",
    "job.ended": "Job Ended Event",
    "job.end_date_finalised": "Job End Date Finalised Event",
    "job.end_date_adjusted": "Job End Date Adjusted Event",
    "job.end_date_cancelled": "Job End Date Cancelled Event",
    "job.effective_dates_updated": "Job Effective Dates Updated Event",
    "job.timeline_updated": "Job Timeline Updated Event",
    "job.update_scheduled": "Job Update Scheduled Event",
    "job.start_date_upcoming": "Job Start Date Upcoming Event",
    "job.company_start_date_upcoming": "Job Company Start Date Upcoming Event",
    "user.created": "User Created Event",
    "user.updated": "User Updated Event",
}
#: Where a payload's ``links.self`` points, by the event's model.
_MODEL_PATH = {"person": "people", "job": "jobs", "user": "users"}
DELIVERY_TIMEOUT = 5.0


@dataclass(slots=True)
class Delivery:
    """One attempted delivery (what a test reads)."""

    subscription_id: str
    url: str
    payload: dict[str, Any]
    status: int | None = None  # the receiver's answer; None when it could not be reached
    error: str | None = None


@dataclass(slots=True)
class _Subscription:
    id: str
    url: str
    event: str
    enabled: bool
    source: str
    created_at: str
    updated_at: str
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _text(payload: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} must be a non-empty string")
    return value.strip()


def _flag(payload: Mapping[str, Any], key: str) -> bool | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be a boolean")
    return value


def _url(value: str) -> str:
    try:
        parsed = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        raise BadRequest("url must be an absolute http(s) URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise BadRequest("url must be an absolute http(s) URL")
    return value


def _event(value: str) -> str:
    if value not in EVENTS:
        raise BadRequest(f"webhookEvent {value!r} is not a known webhook event")
    return value


class WebhookHub:
    """The subscriptions of one tenant, and the thread that delivers the directory's changes."""

    def __init__(self) -> None:
        self.url = ""  # "http://host:port/v1"; set by the server once bound
        self._lock = threading.Lock()
        self._subs: dict[str, _Subscription] = {}
        self._queue: queue.Queue[Change | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.deliveries: list[Delivery] = []
        self._idle = threading.Condition(self._lock)
        self._pending = 0

    # --- delivery ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._deliver_forever, name="intellihr-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=DELIVERY_TIMEOUT * 2)

    def notify(self, changes: list[Change]) -> None:
        """Called by the directory (under its lock): queue only, never block on a receiver."""
        with self._lock:
            self._pending += len(changes)
        for change in changes:
            self._queue.put(change)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until every queued change was delivered (tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def payload(self, change: Change) -> dict[str, Any]:
        body: dict[str, Any] = {"id": change.object_id, "event": change.event, "timestamp": _now()}
        if change.event != "person.deleted":  # its published schema carries no links
            model = _MODEL_PATH.get(change.event.split(".", 1)[0], "people")
            link = f"{self.url}/{model}/{change.object_id}"
            body["links"] = {"self": link, "selfEncoded": link}
        if change.updated_attributes is not None:
            body["updated_attributes"] = list(change.updated_attributes)
        return body

    def _deliver_forever(self) -> None:
        with httpx.Client(timeout=DELIVERY_TIMEOUT, follow_redirects=False) as client:
            while True:
                change = self._queue.get()
                if change is None:
                    return
                try:
                    self._deliver(client, change)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _deliver(self, client: httpx.Client, change: Change) -> None:
        with self._lock:
            targets = [s for s in self._subs.values() if s.enabled and s.event == change.event]
        for sub in targets:
            payload = self.payload(change)
            delivery = Delivery(sub.id, sub.url, payload)
            try:
                delivery.status = client.post(sub.url, json=payload).status_code
            except httpx.HTTPError as exc:  # best effort: recorded, not retried
                delivery.error = type(exc).__name__
            with self._lock:
                self.deliveries.append(delivery)

    # --- the API ----------------------------------------------------------------------------------

    def _json(self, sub: _Subscription) -> dict[str, Any]:
        return {
            "id": sub.id, "url": sub.url, "isEnabled": sub.enabled, "source": sub.source,
            "webhookEvent": {"id": sub.event_id, "name": EVENTS[sub.event], "event": sub.event,
                             "link": f"{self.url}/webhook-events/{sub.event_id}"},
            "createdAt": sub.created_at, "updatedAt": sub.updated_at,
        }

    def subscriptions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._json(s) for s in self._subs.values()]

    def handle(self, method: str, ident: str | None, query: str, payload: Any) -> Reply:
        """One authenticated ``/v1/webhooks[/{id}]`` request."""
        meta = {"requestId": str(uuid.uuid4())}
        try:
            if ident is None:
                if method == "GET":
                    return self._list(query)
                return Reply(201, dumps({"data": self._create(payload), "meta": meta}))
            if not is_uuid(ident):
                raise BadRequest("id must be a UUID")
            with self._lock:
                sub = self._subs.get(ident.lower())
                if sub is None:
                    return error_reply(404, "NotFound", f"Webhook '{ident}' was not found")
                if method == "DELETE":
                    del self._subs[sub.id]
                    return Reply(204, b"")
                if method == "PATCH":
                    self._patch(sub, payload)
                return Reply(200, dumps({"data": self._json(sub), "meta": meta}))
        except BadRequest as exc:
            return bad_request(exc.detail)

    def _list(self, query: str) -> Reply:
        q = parse_list_query(query, frozenset(), sortable=False)
        items = self.subscriptions()
        total = len(items)
        pages = max(1, -(-total // q.limit))
        page = items[(q.page - 1) * q.limit: q.page * q.limit]
        base = f"{self.url}/webhooks?limit={q.limit}&page="
        links = {"self": f"{base}{q.page}", "first": f"{base}1", "last": f"{base}{pages}"}
        if q.page > 1:
            links["prev"] = f"{base}{q.page - 1}"
        if q.page < pages:
            links["next"] = f"{base}{q.page + 1}"
        meta = {"pagination": {"total": total, "count": len(page), "per_page": q.limit,
                               "current_page": q.page, "total_pages": pages},
                "requestId": str(uuid.uuid4())}
        return Reply(200, dumps({"data": page, "meta": meta, "links": links}))

    def _create(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise BadRequest("the body must be a JSON object")
        url = _url(_text(payload, "url", required=True) or "")
        event = _event(_text(payload, "webhookEvent", required=True) or "")
        enabled = _flag(payload, "isEnabled")
        source = _text(payload, "source", required=False) or "custom"
        now = _now()
        sub = _Subscription(str(uuid.uuid4()), url, event, True if enabled is None else enabled, source, now, now)
        with self._lock:
            self._subs[sub.id] = sub
            return self._json(sub)

    def _patch(self, sub: _Subscription, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise BadRequest("the body must be a JSON object")
        url = _text(payload, "url", required=False)
        event = _text(payload, "webhookEvent", required=False)
        enabled = _flag(payload, "isEnabled")
        source = _text(payload, "source", required=False)
        sub.url = _url(url) if url is not None else sub.url
        sub.event = _event(event) if event is not None else sub.event
        sub.enabled = sub.enabled if enabled is None else enabled
        sub.source = source or sub.source
        sub.updated_at = _now()
