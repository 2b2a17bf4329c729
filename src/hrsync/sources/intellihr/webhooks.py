"""intelliHR's webhook subscriptions (``POST/GET /webhooks``, ``DELETE /webhooks/{id}``) and reading a
delivery's subject (``GET /jobs/{id}`` → its person).

Shapes as the published spec has them: ``POST /webhooks {url, webhookEvent, isEnabled, source}`` answers
201 ``{data: {id, url, webhookEvent: {event, …}, isEnabled, source, …}}``. Where the spec is silent we are
liberal: any 2xx with a ``data.id`` string is a subscription; a ``DELETE`` answering 404 means it is
already gone. The API key travels in the ``Authorization`` header only and is never logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import httpx

from hrsync.sources.base import SourceError
from hrsync.sources.intellihr.client import SERVICE
from hrsync.sources.intellihr.source import IntelliHRSource
from hrsync.sources.rest.budget import Deadline, RetryBudget
from hrsync.sources.rest.envelope import read_single

#: The events hrsync subscribes to: everything that can change who is a member and what they hold.
EVENTS: Final = (
    "person.created",
    "person.updated",
    "person.deleted",
    "job.created",
    "job.ended",
    "job.end_date_finalised",
    "job.end_date_adjusted",
    "job.end_date_cancelled",
    "job.effective_dates_updated",
    "job.timeline_updated",
)
SOURCE_NAME: Final = "hrsync"
TIMEOUT: Final = 10.0
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class WebhookError(Exception):
    """A subscription call intelliHR refused or could not answer (the message names no secret)."""


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID_RE.fullmatch(value))


class WebhookApi:
    """The ``/webhooks`` operations for one tenant and key."""

    def __init__(self, base_url: str, tenant: str, api_key: str, *, timeout: float = TIMEOUT) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {api_key}", "Tenant": tenant, "Accept": "application/json",
                     "User-Agent": "hrsync-intellihr/1"},
            timeout=timeout, follow_redirects=False,
        )

    @classmethod
    def of(cls, source: IntelliHRSource) -> WebhookApi:
        return cls(source.base_url, source.subdomain, source._key)

    def __enter__(self) -> WebhookApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise WebhookError(f"{method} /{path}: intelliHR could not be reached ({type(exc).__name__})") from None

    def subscribe(self, url: str, event: str) -> str:
        """Subscribe ``url`` to ``event``; the subscription's id."""
        answer = self._call("POST", "webhooks", {"url": url, "webhookEvent": event, "isEnabled": True,
                                                 "source": SOURCE_NAME})
        if not answer.is_success:
            raise WebhookError(f"POST /webhooks ({event}): intelliHR answered HTTP {answer.status_code}")
        try:
            ident = answer.json()["data"]["id"]
        except (ValueError, KeyError, TypeError):
            ident = None
        if not isinstance(ident, str) or not ident:
            raise WebhookError(f"POST /webhooks ({event}): the answer carried no subscription id")
        return ident

    def unsubscribe(self, ident: str) -> None:
        """Remove one subscription; one already gone (404) is fine."""
        if not is_uuid(ident):
            return
        answer = self._call("DELETE", f"webhooks/{ident}")
        if not answer.is_success and answer.status_code != 404:
            raise WebhookError(f"DELETE /webhooks/{{id}}: intelliHR answered HTTP {answer.status_code}")

    def unsubscribe_all(self, idents: Iterable[str]) -> list[str]:
        """Remove each; the errors (the others are still tried)."""
        errors: list[str] = []
        for ident in idents:
            try:
                self.unsubscribe(ident)
            except WebhookError as exc:
                errors.append(str(exc))
        return errors


def person_of_job(source: IntelliHRSource, job_id: str) -> str | None:
    """The id of the person a job belongs to (``GET /jobs/{id}``: ``data.person.id``); None when the job
    is unknown (404) or names no person."""
    if not is_uuid(job_id):
        return None
    label = "GET /jobs/{id}"
    budget = RetryBudget(min(10.0, source.time_budget), deadline=Deadline(source.read_deadline, service=SERVICE))
    try:
        body = source._http().get_json(f"jobs/{job_id.lower()}", budget=budget, label=label)
        job = read_single(body, label, service=SERVICE)
    except SourceError as exc:
        if exc.code == "bad_response" and "HTTP 404" in exc.reason:
            return None
        raise
    person = job.get("person")
    ident = person.get("id") if isinstance(person, dict) else None
    return ident.lower() if isinstance(ident, str) and is_uuid(ident) else None
