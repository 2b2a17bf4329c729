"""The BambooHR source: ``check()``, ``fields()``, ``people()`` and ``find_people()`` over BambooHR's API.

Every import is two requests, whatever the company's size: a custom report of the mapped fields for
all employees (``POST /v1/reports/custom``, which holds Active and Inactive people alike), and the
same report of ``terminationDate`` alone with future-dated values (``onlyCurrent=false``), so a
termination entered ahead of time is known without taking other future-dated values (a promotion next
month) early. ``GET /v1/meta/fields`` checks the company and the key, and lists the custom fields.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping
from datetime import date
from typing import Any, Final

from hrsync.config import get_settings
from hrsync.sources.bamboohr.catalogue import STANDARD_FIELDS, STATUS_KEYS, custom_fields
from hrsync.sources.bamboohr.client import SERVICE, BambooClient
from hrsync.sources.bamboohr.domain import validate_company_domain
from hrsync.sources.bamboohr.normalise import STATUSES, normalise
from hrsync.sources.base import (
    CheckResult,
    Closing,
    ProgressCallback,
    SourceError,
    SourceField,
    SourcePerson,
    status_table,
)
from hrsync.sources.rest.budget import Deadline, RetryBudget
from hrsync.sources.rest.client import LazyClient, plausible_key

BASE_URL: Final = "https://api.bamboohr.com/api/gateway.php"
"""BambooHR's documented API root; the company domain follows it in the path."""
CHECK_BUDGET: Final = 10.0
"""``check()`` runs while a person waits: it may retry a throttled request, briefly."""
FINDABLE: Final = frozenset({"id", "employeeNumber", "workEmail"})
MAX_FOUND: Final = 100


def base_url() -> str:
    """``HRSYNC_BAMBOOHR_BASE_URL`` (another API root: the simulator, a proxy) or BambooHR's own."""
    return (os.environ.get("HRSYNC_BAMBOOHR_BASE_URL") or BASE_URL).strip().rstrip("/")


class BambooHRSource(Closing):
    """One BambooHR company, read with one API key. Construction never talks to the network and never
    raises for bad input: :meth:`check` reports it, the reads raise it as a :class:`SourceError`."""

    def __init__(self, company_domain: str, api_key: str, *, base: str | None = None,
                 status_map: Mapping[str, str] | None = None, time_budget: float | None = None,
                 read_deadline: float | None = None, timeout: float = 60.0, today: date | None = None) -> None:
        settings = get_settings()
        self.base_url = (base or base_url()).rstrip("/")
        self.time_budget = float(settings.import_time_budget if time_budget is None else time_budget)
        self.read_deadline = float(settings.import_read_deadline if read_deadline is None else read_deadline)
        self.timeout = float(timeout)
        self.status_map = status_table(status_map, STATUSES)
        self._today = today
        self._invalid: CheckResult | None = None
        self.company = company_domain
        try:
            self.company = validate_company_domain(company_domain)
        except ValueError as exc:
            self._invalid = CheckResult(ok=False, reason=str(exc), code="invalid_company_domain")
        key = api_key.strip() if isinstance(api_key, str) else ""
        if self._invalid is None and not plausible_key(key):
            self._invalid = CheckResult(ok=False, code="bad_key",
                                        reason="The BambooHR API key is empty or has spaces or unusual characters: "
                                        "paste the key exactly as BambooHR showed it.")
        self._key = key
        self._client = LazyClient(lambda: BambooClient(base_url=self.base_url, company=self.company,
                                                       api_key=self._key, timeout=self.timeout, concurrency=1))

    def __repr__(self) -> str:
        return f"BambooHRSource(company={self.company!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    # -- the protocol --------------------------------------------------------------------------

    def check(self) -> CheckResult:
        """One cheap call (``GET /v1/meta/fields``): are the company domain and the key right?"""
        if self._invalid is not None:
            return self._invalid
        try:
            self._meta_fields(RetryBudget(min(CHECK_BUDGET, self.time_budget)), retry_connect=False)
        except SourceError as exc:
            return CheckResult(ok=False, reason=exc.reason, code=exc.code)
        return CheckResult(ok=True)

    def fields(self) -> list[SourceField]:
        """The standard fields, then the company's custom fields by their names."""
        listing = self._meta_fields(self._budget())
        return [*STANDARD_FIELDS, *custom_fields(listing)]

    def people(self, *, include_job_details: bool = False, on_progress: ProgressCallback | None = None,
               fields: Collection[str] | None = None) -> Iterator[SourcePerson]:
        """Everyone, Active and Inactive, once, normalised; ``fields`` limits each person's values."""
        budget = self._budget()
        if fields is None:
            wanted = [f.key for f in STANDARD_FIELDS] + [f.key for f in custom_fields(self._meta_fields(budget))]
        else:
            wanted = list(dict.fromkeys(fields))
        rows, ends = self._rows(wanted, budget, None)
        total = len(rows)
        today = self._today or date.today()
        for processed, row in enumerate(rows, 1):
            yield normalise(row, ends.get(str(row["id"])), self.status_map, today, wanted)
            if on_progress is not None and (processed % 500 == 0 or processed == total):
                on_progress(processed, total)

    findable: frozenset[str] = FINDABLE

    def find_people(self, field: str, value: str, *, include_job_details: bool = False) -> list[SourcePerson]:
        """Everyone whose ``field`` (``id``, ``employeeNumber`` or ``workEmail``) equals ``value``, read live,
        with every value. Matching is exact, e-mail addresses ignoring case."""
        if field not in FINDABLE:
            raise ValueError(f"BambooHR cannot look people up by {field!r}")
        value = value.strip()
        if not value:
            return []
        budget = self._budget(min(CHECK_BUDGET * 3, self.time_budget))
        if field == "id":
            ids = [int(value)] if value.isdigit() else []
        else:
            rows, _ends = self._rows([field], budget, None)
            ids = [int(r["id"]) for r in rows if str(r["id"]).isdigit() and _same(field, r.get(field), value)]
        if not ids:
            return []
        ids = ids[:MAX_FOUND]
        wanted = [f.key for f in STANDARD_FIELDS] + [f.key for f in custom_fields(self._meta_fields(budget))]
        rows, ends = self._rows(wanted, budget, ids)
        today = self._today or date.today()
        return [normalise(row, ends.get(str(row["id"])), self.status_map, today, wanted) for row in rows]

    # -- helpers -------------------------------------------------------------------------------

    def _budget(self, seconds: float | None = None) -> RetryBudget:
        self._raise_if_invalid()
        deadline = Deadline(self.read_deadline, service=SERVICE)
        return RetryBudget(self.time_budget if seconds is None else seconds, deadline=deadline)

    def _http(self) -> BambooClient:
        return self._client.get()

    def _raise_if_invalid(self) -> None:
        if self._invalid is not None:
            raise SourceError(self._invalid.reason or "invalid settings", code=self._invalid.code or "invalid")

    def _meta_fields(self, budget: RetryBudget, *, retry_connect: bool = True) -> list[Any]:
        self._raise_if_invalid()
        label = "GET /v1/meta/fields"
        body = self._http().get_json("meta/fields", budget=budget, label=label, retry_connect=retry_connect)
        if not isinstance(body, list):
            raise SourceError(f"the server at {self.base_url} did not answer like BambooHR (a field list was "
                              "expected); check HRSYNC_BAMBOOHR_BASE_URL", code="not_bamboohr", request=label)
        return body

    def _report(self, names: list[str], budget: RetryBudget, ids: list[int] | None,
                only_current: bool) -> list[dict[str, Any]]:
        label = "POST /v1/reports/custom" + ("" if only_current else " (future-dated terminations)")
        request: dict[str, Any] = {"title": "hrsync", "fields": names}
        if ids is not None:
            request["filters"] = {"employeeIds": ids}
        body = self._http().post_json(
            "reports/custom", request, budget=budget, label=label,
            params={"format": "JSON", "onlyCurrent": "true" if only_current else "false"})
        rows = body.get("employees") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("id") not in (None, "")
                                                 for r in rows):
            raise SourceError("BambooHR's report did not hold a list of employees with IDs; nothing was imported",
                              code="unexpected_shape", request=label)
        return rows

    def _rows(self, wanted: list[str], budget: RetryBudget,
              ids: list[int] | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The report rows of ``wanted`` (plus what decides the status) and each person's termination
        date including future-dated ones, by employee ID."""
        names = [k for k in dict.fromkeys([*wanted, *STATUS_KEYS]) if k != "id"]
        rows = self._report(names, budget, ids, only_current=True)
        ends = {str(r["id"]): r.get("terminationDate") for r in self._report(["terminationDate"], budget, ids, False)}
        return rows, ends



def _same(field: str, found: Any, wanted: str) -> bool:
    shown = str(found or "").strip()
    if field == "workEmail":
        return bool(shown) and shown.casefold() == wanted.casefold()
    return bool(shown) and shown == wanted
