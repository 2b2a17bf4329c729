"""The back door under ``/_sim``: the Python API over HTTP, so a test in another process (or the demo)
can change the directory, arm faults and read counters of a running simulator.

Not part of intelliHR and not authenticated: the simulator binds to loopback by default.

    GET    /_sim                          -> {tenant, people, seed, baseUrl}
    GET    /_sim/bad-records              -> {kind: [person ids]}
    POST   /_sim/people                   {first_name, last_name, email?, employee_number?, status?,
                                           start_date?, custom?}             -> 201 person
    GET    /_sim/people/{id}              -> person
    PATCH  /_sim/people/{id}              {<API field name>: value, ...}     -> person
    DELETE /_sim/people/{id}              -> 204
    POST   /_sim/people/{id}/terminate    {end_date?}                        -> person
    POST   /_sim/people/{id}/rehire       {start_date?}                      -> person
    GET    /_sim/faults                   -> {faults: [...]}
    POST   /_sim/faults                   {kind, times?, after?, path?, status?, retry_after?, delay?, count?}
    DELETE /_sim/faults                   -> 204
    GET    /_sim/webhooks/deliveries      -> {deliveries: [{subscriptionId, url, payload, status, error}]}
    DELETE /_sim/webhooks/deliveries      -> 204
    GET    /_sim/stats                    -> {total, requests: [{path, status, count}]}
    DELETE /_sim/stats                    -> 204
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from hrsync.simulator.api import Reply, dumps
from hrsync.simulator.directory import Directory
from hrsync.simulator.faults import FaultRule, Faults, Stats
from hrsync.simulator.webhooks import WebhookHub

_HIRE_KEYS = {"first_name", "last_name", "email", "employee_number", "status", "start_date", "custom"}
_FAULT_KEYS = {"kind", "times", "after", "path", "status", "retry_after", "delay", "count"}


def _error(status: int, message: str) -> Reply:
    return Reply(status, dumps({"error": message}))


def _retry_after(value: Any) -> int | datetime | None:
    """Seconds as a number, or a moment as an HTTP date or ISO 8601 string."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            pass
    raise ValueError("retry_after must be seconds, an HTTP date or an ISO 8601 date-time")


def add_fault(faults: Faults, payload: dict[str, Any]) -> FaultRule:
    """Arm the fault a back door's ``POST /_sim/faults`` body describes (``ValueError`` naming what is wrong)."""
    unknown = set(payload) - _FAULT_KEYS
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    options = {k: v for k, v in payload.items() if k != "kind"}
    if "retry_after" in options:
        options["retry_after"] = _retry_after(options["retry_after"])
    return faults.add(str(payload.get("kind")), **options)


class AdminApi:
    def __init__(self, directory: Directory, faults: Faults, stats: Stats, info: dict[str, Any],
                 webhooks: WebhookHub | None = None) -> None:
        self.webhooks = webhooks
        self.directory = directory
        self.faults = faults
        self.stats = stats
        self.info = info

    def handle(self, method: str, path: str, body: bytes) -> Reply:
        parts = [p for p in path.split("/") if p][1:]  # drop "_sim"
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return _error(400, "the body is not JSON")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object")
        try:
            return self._route(method, parts, payload)
        except KeyError:
            return _error(404, "no such person")
        except (TypeError, ValueError) as exc:
            return _error(400, str(exc))

    def _route(self, method: str, parts: list[str], payload: dict[str, Any]) -> Reply:
        d = self.directory
        if not parts:
            if method == "GET":
                return Reply(200, dumps({**self.info, "people": d.total}))
        elif parts == ["bad-records"] and method == "GET":
            return Reply(200, dumps(d.bad_records))
        elif parts[0] == "people":
            if len(parts) == 1 and method == "POST":
                unknown = set(payload) - _HIRE_KEYS
                if unknown:
                    raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
                return Reply(201, dumps(d.hire(**payload)))
            if len(parts) == 2:
                if method == "GET":
                    return Reply(200, dumps(d.get(parts[1])))
                if method == "PATCH":
                    return Reply(200, dumps(d.change(parts[1], **payload)))
                if method == "DELETE":
                    d.remove(parts[1])
                    return Reply(204, b"")
            if len(parts) == 3 and method == "POST" and parts[2] == "terminate":
                return Reply(200, dumps(d.terminate(parts[1], payload.get("end_date"))))
            if len(parts) == 3 and method == "POST" and parts[2] == "rehire":
                return Reply(200, dumps(d.rehire(parts[1], payload.get("start_date"))))
        elif parts == ["faults"]:
            if method == "GET":
                return Reply(200, dumps({"faults": [r.to_json() for r in self.faults.rules]}))
            if method == "POST":
                return Reply(201, dumps(add_fault(self.faults, payload).to_json()))
            if method == "DELETE":
                self.faults.clear()
                return Reply(204, b"")
        elif parts == ["webhooks", "deliveries"] and self.webhooks is not None:
            hub = self.webhooks
            if method == "GET":
                hub.wait_idle(5.0)
                return Reply(200, dumps({"deliveries": [
                    {"subscriptionId": d.subscription_id, "url": d.url, "payload": d.payload,
                     "status": d.status, "error": d.error} for d in list(hub.deliveries)]}))
            if method == "DELETE":
                hub.deliveries.clear()
                return Reply(204, b"")
        elif parts == ["stats"]:
            if method == "GET":
                return Reply(200, dumps(self.stats.to_json()))
            if method == "DELETE":
                self.stats.reset()
                return Reply(204, b"")
        return _error(404, f"no admin route for {method} /_sim/{'/'.join(parts)}")
