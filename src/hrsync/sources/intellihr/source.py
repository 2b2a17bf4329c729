"""The intelliHR source: ``check()``, ``fields()`` and ``people()`` over the Public API v1."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from hrsync.config import get_settings
from hrsync.sources.base import (
    CheckResult,
    Closing,
    Lifecycle,
    ProgressCallback,
    SourceError,
    SourceField,
    SourcePerson,
)
from hrsync.sources.intellihr.catalogue import STANDARD_FIELDS, custom_fields, definition_fields
from hrsync.sources.intellihr.client import SERVICE, IntelliHRClient
from hrsync.sources.intellihr.decode import PeopleDecoder, people_decoder
from hrsync.sources.intellihr.normalise import (
    NO_JOB_DETAILS,
    JobDetails,
    StatusMapper,
    job_details_values,
    normalise_person,
    primary_job,
)
from hrsync.sources.intellihr.subdomain import validate_subdomain
from hrsync.sources.rest.budget import Deadline, RetryBudget
from hrsync.sources.rest.client import LazyClient, plausible_key
from hrsync.sources.rest.envelope import Page, read_list_page, read_single
from hrsync.sources.rest.pager import read_exactly_once

log = logging.getLogger(__name__)

_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

PAGE_SIZE: Final = 100
CHECK_BUDGET: Final = 10.0
"""``check()`` runs while a person waits in the authorize modal: it may retry a 429, briefly."""
FIELDS_PAGES: Final = 2
"""Pages of people sampled for custom fields when ``/custom-field-definitions`` cannot be read."""
DEFINITIONS_BUDGET: Final = 10.0
"""Retries of ``/custom-field-definitions`` stop after this long: sampling people is the fallback."""
MAX_DEFINITION_PAGES: Final = 50
"""5,000 definitions: far more than any tenant has; a listing that claims more is not trusted further."""
FINDABLE: Final = frozenset({"id", "employeeNumber", "primaryEmailAddress", "autoIncrementIntellihrId", "name"})
"""What :meth:`IntelliHRSource.find_people` looks people up by: the record id (``GET /people/{id}``) and
the filters the published spec offers on ``GET /people``."""
MAX_FOUND: Final = 100
"""One page of matches: a look-up is for one person, a name shared by more is narrowed by the caller."""
MAX_SINGLE_JOB_FETCHES: Final = 200
"""Primary jobs missing from the ``/jobs`` read (it shifted) are fetched one by one, up to this many."""


class IntelliHRSource(Closing):
    """One tenant of intelliHR, read with one API key.

    Construction never talks to the network and never raises for bad input: an invalid subdomain
    or an empty key is reported by :meth:`check` (``invalid_subdomain`` / ``bad_key``) and by
    :meth:`fields` / :meth:`people` as a :class:`SourceError`, so the authorize modal can show it.
    """

    def __init__(
        self,
        subdomain: str,
        api_key: str,
        *,
        base_url: str | None = None,
        status_map: Mapping[str, Lifecycle] | None = None,
        time_budget: float | None = None,
        read_deadline: float | None = None,
        concurrency: int = 4,
        timeout: float = 30.0,
    ) -> None:
        settings = get_settings()
        self.base_url = (base_url or settings.intellihr_base_url).rstrip("/")
        self.time_budget = float(settings.import_time_budget if time_budget is None else time_budget)
        self.read_deadline = float(settings.import_read_deadline if read_deadline is None else read_deadline)
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self._lifecycle = StatusMapper(status_map)
        self.status_map: Mapping[str, Lifecycle] = self._lifecycle.table
        self._invalid: CheckResult | None = None
        self.subdomain = subdomain
        try:
            self.subdomain = validate_subdomain(subdomain)
        except ValueError as exc:
            self._invalid = CheckResult(ok=False, reason=str(exc), code="invalid_subdomain")
        key = api_key.strip() if isinstance(api_key, str) else ""
        if self._invalid is None and not plausible_key(key):
            self._invalid = CheckResult(
                ok=False,
                reason="The intelliHR API key is empty or contains spaces or unusual characters: "
                "paste the key exactly as intelliHR showed it (Settings → Public API Access Keys).",
                code="bad_key",
            )
        self._key = key
        self._client = LazyClient(lambda: IntelliHRClient(base_url=self.base_url, tenant=self.subdomain,
                                                          api_key=self._key, timeout=self.timeout,
                                                          concurrency=self.concurrency))

    def __repr__(self) -> str:
        return f"IntelliHRSource(subdomain={self.subdomain!r}, base_url={self.base_url!r})"

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    # -- the protocol --------------------------------------------------------------------------

    def check(self) -> CheckResult:
        """One cheap call (``GET /people?limit=1``): are the subdomain and the key right?"""
        if self._invalid is not None:
            return self._invalid
        budget = RetryBudget(min(CHECK_BUDGET, self.time_budget))
        label = "GET /people?limit=1"
        try:
            body = self._http().get_json(
                "people", params={"limit": 1, "page": 1}, budget=budget, label=label, retry_connect=False
            )
            read_list_page(body, label, service=SERVICE)
        except SourceError as exc:
            code = "not_intellihr" if exc.code == "unexpected_shape" else exc.code
            reason = exc.reason
            if code == "not_intellihr" and exc.code == "unexpected_shape":
                reason = f"the server at {self.base_url} did not answer like intelliHR ({exc.reason})"
            return CheckResult(ok=False, reason=reason, code=code)
        return CheckResult(ok=True)

    def fields(self) -> list[SourceField]:
        """The standard fields, then the tenant's enabled custom fields (person, then job).

        Custom fields come from ``GET /custom-field-definitions`` (every page). Should that be
        refused (401/403, 404 on a tenant without it) or fail, the custom fields seen on the first
        page(s) of people are offered instead (person fields only), and a log line says so.
        """
        self._raise_if_invalid()
        deadline = Deadline(self.read_deadline, service=SERVICE)
        try:
            definitions = self._custom_definitions(RetryBudget(min(DEFINITIONS_BUDGET, self.time_budget),
                                                               deadline=deadline))
        except SourceError as exc:
            log.warning(
                "intelliHR custom field definitions could not be read for tenant %s (%s: %s); "
                "sampling people for custom fields instead",
                self.subdomain, exc.code, exc.reason,
            )
        else:
            return [*STANDARD_FIELDS, *definition_fields(definitions)]
        budget = RetryBudget(self.time_budget, deadline=deadline)
        sample: list[dict[str, Any]] = []
        page = self._people_page(1, budget)
        sample.extend(page.items)
        for number in range(2, min(page.total_pages, FIELDS_PAGES) + 1):
            sample.extend(self._people_page(number, budget).items)
        return [*STANDARD_FIELDS, *custom_fields(sample)]

    def people(
        self,
        *,
        include_job_details: bool = False,
        on_progress: ProgressCallback | None = None,
        fields: Collection[str] | None = None,
    ) -> Iterator[SourcePerson]:
        """Stream everyone once, normalised; see :mod:`.pager` for how shifts are survived.

        ``fields`` (source field keys) limits each person's ``values`` to what the caller maps, and
        each page is decoded into only the keys those fields read (:mod:`.decode`).

        Raises :class:`SourceError` (or :class:`AuthError`) from the iterator: a consumer must treat
        an interrupted stream as a failed read and change nothing. The whole read, job details
        included, ends ``read_deadline`` seconds after it started at the latest (``HRSYNC_IMPORT_READ_DEADLINE``).
        """
        self._raise_if_invalid()
        deadline = Deadline(self.read_deadline, service=SERVICE)
        budget = RetryBudget(self.time_budget, deadline=deadline)
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="intellihr")
        try:
            jobs: dict[str, JobDetails] | None = None
            if include_job_details:
                jobs = self._primary_jobs(budget, executor)
            single_fetches = 0
            processed = 0
            wanted = None if fields is None else frozenset(fields)
            decode = people_decoder(wanted)
            lifecycle = self._lifecycle
            for batch in read_exactly_once(
                lambda n: self._people_page(n, budget, decode),
                executor=executor,
                service=SERVICE,
                window=self.concurrency * 2,
                what="people",
                deadline=deadline,
            ):
                for raw in batch.items:
                    details = None
                    if jobs is not None:
                        details, fetched = self._details_for(raw, jobs, budget, single_fetches)
                        single_fetches += fetched
                    person = normalise_person(raw, lifecycle, details, wanted)
                    processed += 1
                    yield person
                if on_progress is not None:
                    on_progress(processed, max(processed, batch.total))
        finally:
            budget.cancel()  # pages still backing off give up now instead of after their waits
            executor.shutdown(wait=True, cancel_futures=True)

    findable: frozenset[str] = FINDABLE

    def find_people(self, field: str, value: str, *, include_job_details: bool = False) -> list[SourcePerson]:
        """Everyone whose ``field`` equals ``value``, read live and normalised with every value.

        ``field`` is ``"id"`` (``GET /people/{id}``; an id that is not a UUID, or unknown, finds nobody)
        or a filter of ``GET /people`` (:data:`FINDABLE`; at most :data:`MAX_FOUND` people). With
        ``include_job_details`` each person's primary job is read (``GET /jobs/{id}``) for the job fields.
        """
        if field not in FINDABLE:
            raise ValueError(f"intelliHR cannot look people up by {field!r}")
        self._raise_if_invalid()
        value = value.strip()
        if not value:
            return []
        deadline = Deadline(self.read_deadline, service=SERVICE)
        budget = RetryBudget(min(CHECK_BUDGET, self.time_budget), deadline=deadline)
        if field == "id":
            if not _UUID_RE.fullmatch(value):
                return []
            label = f"GET /people/{value}"
            try:
                raws = [read_single(self._http().get_json(f"people/{value.lower()}", budget=budget, label=label),
                                    label, service=SERVICE)]
            except SourceError as exc:
                if exc.code == "bad_response" and "HTTP 404" in exc.reason:
                    return []
                raise
        else:
            label = f"GET /people?filters[{field}][eq]=…"
            raws = self._list_page("people", 1, budget, label, {f"filters[{field}][eq]": value}).items[:MAX_FOUND]
        found = []
        for raw in raws:
            details = self._job_details_of(raw, budget) if include_job_details else None
            found.append(normalise_person(raw, self._lifecycle, details, None))
        return found

    def _job_details_of(self, raw: dict[str, Any], budget: RetryBudget) -> Mapping[str, str | None]:
        job = primary_job(raw.get("jobs"))
        job_id = None if job is None else job.get("id")
        if not isinstance(job_id, str) or not job_id:
            return NO_JOB_DETAILS
        label = f"GET /jobs/{job_id}"
        return job_details_values(read_single(self._http().get_json(f"jobs/{job_id}", budget=budget, label=label),
                                              label, service=SERVICE))

    # -- helpers -------------------------------------------------------------------------------

    def _http(self) -> IntelliHRClient:
        return self._client.get()

    def _raise_if_invalid(self) -> None:
        if self._invalid is not None:
            invalid = self._invalid
            raise SourceError(invalid.reason or "invalid settings", code=invalid.code or "invalid")

    def _list_page(
        self, path: str, number: int, budget: RetryBudget, label: str, params: dict[str, str],
        decode: PeopleDecoder | None = None,
    ) -> Page:
        """One page of a list endpoint, ``PAGE_SIZE`` records, with these extra query parameters."""
        body = self._http().get_json(
            path, params={"page": number, "limit": PAGE_SIZE, **params}, budget=budget, label=label, decode=decode
        )
        return read_list_page(body, label, service=SERVICE)

    def _people_page(self, number: int, budget: RetryBudget, decode: PeopleDecoder | None = None) -> Page:
        """A page of people; with ``decode``, each holding only the keys its decoder keeps."""
        self._raise_if_invalid()
        return self._list_page(
            "people", number, budget, f"GET /people page {number}", {"sort": "createdAt"}, decode
        )

    def _custom_definitions(self, budget: RetryBudget) -> list[Any]:
        """Every enabled custom field definition, page by page (a small, static list)."""
        definitions: list[Any] = []
        number, last = 1, 1
        while number <= last:
            page = self._list_page(
                "custom-field-definitions", number, budget, f"GET /custom-field-definitions page {number}",
                {"filters[isEnabled][eq]": "true"},
            )
            definitions.extend(page.items)
            last = min(page.total_pages, MAX_DEFINITION_PAGES)
            number += 1
        return definitions

    def _jobs_page(self, number: int, budget: RetryBudget) -> Page:
        return self._list_page(
            "jobs", number, budget, f"GET /jobs?filters[isPrimaryJob][eq]=true page {number}",
            {"filters[isPrimaryJob][eq]": "true"},
        )

    def _primary_jobs(
        self, budget: RetryBudget, executor: ThreadPoolExecutor
    ) -> dict[str, JobDetails]:
        """Every primary job's details, keyed by job id and by ``person:<id>``: one paged read."""
        jobs: dict[str, JobDetails] = {}
        for batch in read_exactly_once(
            lambda n: self._jobs_page(n, budget),
            executor=executor,
            service=SERVICE,
            window=self.concurrency * 2,
            what="jobs",
            deadline=budget.deadline,
        ):
            for job in batch.items:
                details = job_details_values(job)
                jobs[job["id"]] = details
                person = job.get("person")
                if isinstance(person, dict) and isinstance(person.get("id"), str):
                    jobs.setdefault("person:" + person["id"], details)
        return jobs

    def _details_for(
        self,
        raw: dict[str, Any],
        jobs: dict[str, JobDetails],
        budget: RetryBudget,
        single_fetches: int,
    ) -> tuple[Mapping[str, str | None], int]:
        """The person's primary job details, joined without a request per person.

        Joined on the job id from the person's own summary (exact), else on the person id. A
        primary job the paged read missed (it was created meanwhile) is fetched on its own, within a cap.
        """
        job = primary_job(raw.get("jobs"))
        if job is None:
            return NO_JOB_DETAILS, 0
        job_id = job.get("id")
        if isinstance(job_id, str) and job_id in jobs:
            return jobs[job_id], 0
        by_person = jobs.get("person:" + raw["id"])
        if by_person is not None:
            return by_person, 0
        if not isinstance(job_id, str) or single_fetches >= MAX_SINGLE_JOB_FETCHES:
            return NO_JOB_DETAILS, 0
        label = f"GET /jobs/{job_id}"
        body = self._http().get_json(f"jobs/{job_id}", budget=budget, label=label)
        details = job_details_values(read_single(body, label, service=SERVICE))
        jobs[job_id] = details
        return details, 1

