"""The running BambooHR stand-in, its fault switches and its back door under ``/_sim``.

    from hrsync.simulator.bamboohr import BambooSimulator
    with BambooSimulator(people=200, seed=1, company="acme", api_key="k") as sim:
        sim.base_url     # http://127.0.0.1:<port>/api/gateway.php  (the company domain follows in the path)
        sim.company.terminate(101, "2026-03-31")
        sim.faults.add("rate_limit", retry_after=2)     # 429 with Retry-After, as announced
        sim.faults.add("throttled")                     # 503, BambooHR's long-standing throttle answer

The HTTP shell is the intelliHR simulator's (one ``sendall`` per answer, Nagle off). The back door,
not part of BambooHR and not authenticated (the simulator binds to loopback):

    GET    /_sim                         -> {company, people, seed, baseUrl, disabled}
    GET    /_sim/bad-records             -> {kind: [employee ids]}
    POST   /_sim/people                  {first_name, last_name, email?, employee_number?, hire_date?,
                                          department?, job_title?, location?, supervisor_id?, custom?} -> 201
    GET    /_sim/people/{id}             -> every field, future-dated values included
    PATCH  /_sim/people/{id}             {<field alias or number>: value, ...}
    DELETE /_sim/people/{id}             -> 204 (a Deleted entry in employees/changed)
    POST   /_sim/people/{id}/terminate   {date?}    (today if left out; a future date is a future leaver)
    POST   /_sim/people/{id}/rehire      {date?}
    GET|POST|DELETE /_sim/faults         as the intelliHR simulator's; also kind "throttled" (503)
    GET|DELETE /_sim/stats
    DELETE /_sim/lockout                 lift the lock-out that repeated unknown keys cause
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hrsync.simulator.admin import add_fault
from hrsync.simulator.api import Reply, dumps
from hrsync.simulator.bamboohr.api import PREFIX, BambooApi, refusal
from hrsync.simulator.bamboohr.company import Company
from hrsync.simulator.faults import FaultRule, Faults, Stats
from hrsync.simulator.server import Firing, Served, _retry_after_header

#: The faults that mean something here (paging faults and directory growth are intelliHR's).
FAULT_KINDS = ("rate_limit", "throttled", "server_error", "slow", "truncated", "not_json", "nested",
               "oversized", "refused")
_HIRE_KEYS = {"first_name", "last_name", "email", "employee_number", "hire_date", "department", "job_title",
              "location", "supervisor_id", "custom"}


_REASONS = {401: "Invalid API key", 403: "You do not have access to this resource", 404: "Company not found",
            502: "Bad Gateway", 503: "Service Unavailable"}


class BambooFaults(Faults):
    """:class:`Faults` whose rules match every API path unless told otherwise, with ``throttled``:
    a 503 (optionally with ``Retry-After``), how BambooHR has always said "too many requests"."""

    def add(self, kind: str, *, path: str = PREFIX, **options: Any) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if kind == "throttled":
            kind, options["status"] = "server_error", 503
        return super().add(kind, path=path, **options)


class BambooSimulator(Served):
    """A running BambooHR stand-in. ``port=0`` picks a free port; usable as a context manager."""

    thread_name = "bamboohr-simulator"

    def __init__(self, people: int = 200, seed: int = 1, company: str = "demo", api_key: str = "sim-demo-key",
                 host: str = "127.0.0.1", port: int = 0, *, today: date | None = None,
                 employee_numbers: bool = True, lockout_after: int = 10) -> None:
        self.host = host
        self.seed = seed
        self._port = port
        self.company = Company(people, seed, company, today=today, employee_numbers=employee_numbers)
        self.faults = BambooFaults()
        self.stats = Stats()
        self.api = BambooApi(self.company, api_key, lockout_after=lockout_after)

    def __repr__(self) -> str:  # the API key stays out of reprs and logs
        return f"BambooSimulator(company={self.company.domain!r}, people={self.company.total}, url={self.url!r})"

    # --- addresses --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root, as ``HRSYNC_BAMBOOHR_BASE_URL`` takes it: the company domain follows in the path."""
        return f"{self.url}/api/gateway.php"

    @property
    def company_url(self) -> str:
        """``base_url`` with this account's company domain and version: where requests go."""
        return f"{self.base_url}/{self.company.domain}/v1"

    # --- one request ------------------------------------------------------------------------------

    def _answer(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        if path == "/_sim" or path.startswith("/_sim/"):
            return self._admin(method, [p for p in path.split("/") if p][1:], body)
        firing = Firing.of(self.faults.match(path))
        replacement = firing.replacement
        if replacement is not None:
            if replacement.kind == "rate_limit":
                return refusal(429, "Too many requests", _retry_after_header(replacement.retry_after))
            status = replacement.status or 500
            return refusal(status, _REASONS.get(status, "Internal Server Error"),
                           _retry_after_header(replacement.retry_after))
        return firing.spoil(self.api.handle(method, path, query, headers, body))

    # --- the back door ----------------------------------------------------------------------------

    def _admin(self, method: str, parts: list[str], body: bytes) -> Reply:
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return Reply(400, dumps({"error": "the body is not JSON"}))
        if not isinstance(payload, dict):
            return Reply(400, dumps({"error": "the body must be a JSON object"}))
        try:
            reply = self._admin_route(method, parts, payload)
        except KeyError:
            return Reply(404, dumps({"error": "no such employee"}))
        except (TypeError, ValueError) as exc:
            return Reply(400, dumps({"error": str(exc)}))
        return reply or Reply(404, dumps({"error": f"no admin route for {method} /_sim/{'/'.join(parts)}"}))

    def _admin_route(self, method: str, parts: list[str], payload: dict[str, Any]) -> Reply | None:
        c = self.company
        if not parts and method == "GET":
            return Reply(200, dumps({"company": c.domain, "people": c.total, "seed": self.seed,
                                     "baseUrl": self.base_url, "disabled": self.api.disabled}))
        if parts == ["bad-records"] and method == "GET":
            return Reply(200, dumps(c.bad_records()))
        if parts == ["lockout"] and method == "DELETE":
            self.api.enable()
            return Reply(204, b"")
        if parts == ["stats"] and method in ("GET", "DELETE"):
            if method == "DELETE":
                self.stats.reset()
                return Reply(204, b"")
            return Reply(200, dumps(self.stats.to_json()))
        if parts == ["faults"]:
            return self._admin_faults(method, payload)
        if parts[:1] != ["people"]:
            return None
        if len(parts) == 1 and method == "POST":
            unknown = set(payload) - _HIRE_KEYS
            if unknown:
                raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
            return Reply(201, dumps(c.to_json(c.hire(**payload))))
        if len(parts) == 2 and method == "GET":
            return Reply(200, dumps(c.to_json(c.get(parts[1]))))
        if len(parts) == 2 and method == "PATCH":
            return Reply(200, dumps(c.to_json(c.change(parts[1], **payload))))
        if len(parts) == 2 and method == "DELETE":
            c.remove(parts[1])
            return Reply(204, b"")
        if len(parts) == 3 and method == "POST" and parts[2] in ("terminate", "rehire"):
            act = c.terminate if parts[2] == "terminate" else c.rehire
            return Reply(200, dumps(c.to_json(act(parts[1], payload.get("date")))))
        return None

    def _admin_faults(self, method: str, payload: dict[str, Any]) -> Reply | None:
        if method == "GET":
            return Reply(200, dumps({"faults": [r.to_json() for r in self.faults.rules]}))
        if method == "DELETE":
            self.faults.clear()
            return Reply(204, b"")
        if method != "POST":
            return None
        return Reply(201, dumps(add_fault(self.faults, payload).to_json()))
