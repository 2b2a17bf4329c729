"""The simulated directory: generated people plus an overlay of changes, safe to share between threads.

People are generated on demand from (seed, index); only changed, hired or removed people take memory.
``_live`` holds the live person indices in createdAt order (an ``array`` of 8-byte ints, so a million
people cost 8 MB), which makes "page k" an O(1) slice even after removals. Serialised JSON of people
is cached up to ``cache_limit`` people; a change drops that person's entry.

The API's filters are :mod:`hrsync.simulator.filters`; how a change edits a person is
:mod:`hrsync.simulator.edits`.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hrsync.simulator import edits
from hrsync.simulator.filters import Filters, candidate_people, job_matcher, page_of, person_matcher
from hrsync.simulator.generator import BAD_KINDS, Generator
from hrsync.simulator.ids import JOB, MAX_JOBS_PER_PERSON, PERSON, IdCodec
from hrsync.simulator.model import (
    CURRENT_STAFF,
    EMPLOYMENT_STATUSES,
    NO_JOB_RECORDS,
    JobState,
    PersonState,
    Serializer,
    utc_now,
)
from hrsync.simulator.reference import Reference

PRODUCTION_BASE = "https://api.intellihr.io/v1"
DEFAULT_CACHE_LIMIT = 100_000  # ~2.4 kB each: a 100,000-person directory is served from memory after one pass

@dataclass(frozen=True, slots=True)
class Change:
    """One event of the directory for webhook listeners: ``event`` about the object ``object_id``."""

    event: str
    object_id: str
    updated_attributes: tuple[str, ...] | None = None


Listener = Callable[[list[Change]], None]

#: ``Directory.change`` field names → the ``updated_attributes`` values the spec enumerates.
UPDATED_ATTRIBUTES: dict[str, str] = {
    "firstName": "first_name",
    "middleName": "middle_name",
    "lastName": "last_name",
    "preferredName": "preferred_name",
    "dateOfBirth": "dob",
    "gender": "gender_id",
    "employeeNumber": "employee_number",
    "title": "title_id",
    "primaryEmailAddress": "email_addresses",
    "primaryPhoneNumber": "phone_numbers",
    "customFields": "custom_field_values",
}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class Directory:
    """Thread-safe simulated intelliHR directory. Every public method takes the lock."""

    def __init__(
        self,
        size: int,
        seed: int,
        tenant: str,
        today: date | None = None,
        cache_limit: int = DEFAULT_CACHE_LIMIT,
        *,
        employee_numbers: bool = True,
        future_types: bool = False,
    ) -> None:
        if size < 0:
            raise ValueError("people must be >= 0")
        self.size = size
        self.seed = seed
        self.tenant = tenant
        self.today = today or datetime.now(UTC).date()
        self.codec = IdCodec(seed)
        self.reference = Reference(self.codec, future_types=future_types)
        self.generator = Generator(
            seed, size, self.today, tenant, self.codec, self.reference, employee_numbers=employee_numbers
        )
        self._lock = threading.RLock()
        self._live = array("q", range(size))
        self._removed: set[int] = set()
        self._hidden: dict[int, PersonState] = {}  # removed by hide(), kept for restore()
        self._overlay: dict[int, PersonState] = {}
        self._next = size
        self._last_created = self.generator.created_at(max(size - 1, 0))
        self._cache: dict[int, bytes] = {}
        self._cache_limit = cache_limit
        self._version = 0
        self._queries: OrderedDict[tuple[Any, ...], array[int]] = OrderedDict()
        self._shrinks = 0
        self._serializer = Serializer(self.reference, PRODUCTION_BASE)
        self.listeners: list[Listener] = []  # told of every change (webhooks); must not block

    def _emit(self, *changes: Change) -> None:
        for listener in list(self.listeners):
            listener(list(changes))

    # --- configuration ----------------------------------------------------------------------------

    def set_link_base(self, base: str) -> None:
        """Point ``link`` fields at the running simulator instead of production."""
        with self._lock:
            self._serializer = Serializer(self.reference, base.rstrip("/"))
            self._cache.clear()

    @property
    def link_base(self) -> str:
        return self._serializer.base

    def set_today(self, today: date) -> None:
        """Move the directory's date (statuses such as Upcoming → Current follow it)."""
        with self._lock:
            self.today = today
            self._cache.clear()
            self._version += 1
            self._queries.clear()

    # --- lookups ----------------------------------------------------------------------------------

    def _index_of(self, person_id: str) -> int | None:
        n = self.codec.decode(PERSON, person_id)
        if n is None or n >= self._next or n in self._removed:
            return None
        return n

    def _require(self, person_id: str) -> int:
        index = self._index_of(person_id)
        if index is None:
            raise KeyError(person_id)
        return index

    def _state(self, index: int) -> PersonState:
        state = self._overlay.get(index)
        return state if state is not None else self.generator.person(index)

    def _mutable(self, index: int) -> PersonState:
        state = self._overlay.get(index)
        if state is None:
            state = self.generator.person(index)
            self._overlay[index] = state
        return state

    def _touched(self, index: int) -> None:
        self._cache.pop(index, None)
        self._version += 1
        self._queries.clear()

    def _person_bytes(self, index: int) -> bytes:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        data = _dumps(self._serializer.person(self._state(index), self.today))
        # Keep the first ``cache_limit`` people rather than evicting: a full scan of a directory larger
        # than the cache then still hits for most of it on the next scan.
        if len(self._cache) < self._cache_limit:
            self._cache[index] = data
        return data

    def person_bytes(self, person_id: str) -> bytes | None:
        with self._lock:
            index = self._index_of(person_id)
            return None if index is None else self._person_bytes(index)

    def get(self, person_id: str) -> dict[str, Any]:
        """The API-shaped person; KeyError when not in the directory."""
        with self._lock:
            return self._serializer.person(self._state(self._require(person_id)), self.today)

    def people(self) -> list[dict[str, Any]]:
        """Every person currently in the directory, API-shaped, in createdAt order."""
        with self._lock:
            return [self._serializer.person(self._state(i), self.today) for i in self._live]

    def ids(self) -> list[str]:
        with self._lock:
            return [self.codec.encode(PERSON, i) for i in self._live]

    @property
    def total(self) -> int:
        with self._lock:
            return len(self._live)

    @property
    def version(self) -> int:
        """Bumped by every change; lets callers notice the directory moved."""
        with self._lock:
            return self._version

    @property
    def bad_records(self) -> dict[str, list[str]]:
        """Ids of the deliberately bad generated records still in the directory, by kind:
        missing_email, duplicate_email, missing_employee_number, duplicate_employee_number, long_name,
        illegal_name. Duplicate kinds list both people of each pair (the original first). Records are
        listed as generated, even if changed since."""
        with self._lock:
            out: dict[str, list[str]] = {}
            for kind, indices in self.generator.bad_records().items():
                out[kind] = [self.codec.encode(PERSON, i) for i in indices if i not in self._removed]
            return out

    def generated_status(self, person_id: str) -> str:
        """The employment status a generated person was created with (cheap, no record built)."""
        return self.generator.status(self._require(person_id))

    # --- mutations (the test back door) -----------------------------------------------------------

    def _next_created(self) -> datetime:
        created = max(utc_now(), self._last_created + timedelta(seconds=1))
        self._last_created = created
        return created

    def _new_job(
        self, person: PersonState, start: date, end: date | None, like: JobState | None, created: datetime
    ) -> JobState:
        return edits.new_job(person, start, end, like, created, codec=self.codec, reference=self.reference,
                             has_supervisor=self.size > 0)

    def hire(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str | None = None,
        employee_number: str | None = None,
        status: str = CURRENT_STAFF,
        start_date: date | None = None,
        custom: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a person (newest createdAt). ``email``/``employee_number`` None mean the record has none.
        ``start_date`` defaults by status: today (current), in 14 days (upcoming, returning)."""
        if status not in EMPLOYMENT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(EMPLOYMENT_STATUSES)}")
        if not last_name:
            raise ValueError("last_name is required")
        edits.check_custom(custom or {}, self.reference.custom_by_api)
        start_date = edits.as_date(start_date, "start_date")
        with self._lock:
            index = self._next
            created = self._next_created()
            person = edits.hired(
                self.generator.person(index, clean=True), first_name=first_name, last_name=last_name,
                email=email, employee_number=employee_number, custom=custom or {},
                custom_fields=self.reference.custom_by_api, created=created,
            )
            if status != NO_JOB_RECORDS:
                edits.first_jobs(person, status, start_date, self.today,
                                 lambda start, end, like: self._new_job(person, start, end, like, created))
            self._overlay[index] = person
            self._live.append(index)
            self._next += 1
            self._touched(index)
            self._emit(Change("person.created", person.id), *(Change("job.created", j.id) for j in person.jobs))
            return self._serializer.person(person, self.today)

    def change(self, person_id: str, **api_fields: Any) -> dict[str, Any]:
        """Change fields by their API names (``firstName="Ana"``, ``primaryEmailAddress="a@x.com"``;
        None clears). Also ``lastName``, ``dateOfBirth``, ``gender``, ``primaryPhoneNumber``,
        ``customFields`` (merged), ``isSupervisor``, ``isOnExtendedLeave`` (primary job)."""
        with self._lock:
            index = self._require(person_id)
            person = self._mutable(index)
            updates: list[Callable[[], None]] = []
            for name, value in api_fields.items():
                updates.append(edits.field_updater(person, name, value, self.reference.custom_by_api))
            for update in updates:  # validate everything before changing anything
                update()
            person.updated_at = self._touch_time(person.updated_at)
            self._touched(index)
            attributes = tuple(dict.fromkeys(UPDATED_ATTRIBUTES[n] for n in api_fields if n in UPDATED_ATTRIBUTES))
            changes = [Change("person.updated", person.id, attributes)] if attributes else []
            primary = person.primary_job()
            if primary is not None and set(api_fields) - set(UPDATED_ATTRIBUTES):
                changes.append(Change("job.timeline_updated", primary.id))
            self._emit(*changes)
            return self._serializer.person(person, self.today)

    def _touch_time(self, previous: datetime) -> datetime:
        return max(utc_now(), previous + timedelta(seconds=1))

    def terminate(self, person_id: str, end_date: date | None = None) -> dict[str, Any]:
        """End the primary job: ``end_date`` is the LAST day worked (default yesterday); the job stores
        the day after (exclusive). A last day before today makes the person Past Staff; a later one
        makes them Exiting Staff, as in intelliHR."""
        last_day = edits.as_date(end_date, "end_date") or self.today - timedelta(days=1)
        with self._lock:
            index = self._require(person_id)
            person = self._mutable(index)
            primary = person.primary_job()
            if primary is None:
                raise ValueError("this person has no job to end")
            end = last_day + timedelta(days=1)
            if end <= primary.start:
                raise ValueError("the last day must not be before the job's start")
            now = self._touch_time(person.updated_at)
            primary.end = end
            primary.updated_at = now
            person.updated_at = now
            if person.user_account is not None and end <= self.today:
                person.user_account = {**person.user_account, "isEnabled": False}
            self._touched(index)
            self._emit(Change("job.end_date_finalised", primary.id),
                       *([Change("job.ended", primary.id)] if end <= self.today else []))
            return self._serializer.person(person, self.today)

    def rehire(self, person_id: str, start_date: date | None = None) -> dict[str, Any]:
        """Give the person a new primary job from ``start_date`` (default today): Current Staff, or
        Returning Staff when the start is in the future. Jobs still open end the day the new one starts."""
        start = edits.as_date(start_date, "start_date") or self.today
        with self._lock:
            index = self._require(person_id)
            person = self._mutable(index)
            previous = person.primary_job()
            now = self._touch_time(person.updated_at)
            job = self._new_job(person, start, None, previous, now)
            for old in person.jobs:
                if old.is_primary or old.end is None or old.end > start:
                    old.is_primary = False
                    if old.end is None or old.end > start:
                        old.end = max(start, old.start + timedelta(days=1))
                    old.updated_at = now
            person.jobs.append(job)
            person.updated_at = now
            self._touched(index)
            self._emit(Change("job.created", job.id))
            return self._serializer.person(person, self.today)

    def remove(self, person_id: str) -> None:
        """The person vanishes from the directory (and their jobs with them)."""
        with self._lock:
            index = self._require(person_id)
            gone = self._state(index).id
            self._remove_index(index)
            self._emit(Change("person.deleted", gone))

    def hide(self, person_id: str) -> None:
        """The person vanishes from every answer, as with :meth:`remove`, but can come back."""
        with self._lock:
            index = self._require(person_id)
            self._hidden[index] = self._mutable(index)
            self._remove_index(index)
            self._emit(Change("person.deleted", self._hidden[index].id))

    def restore(self, person_id: str) -> dict[str, Any]:
        """A hidden person comes back, unchanged, under the same id."""
        with self._lock:
            index = self.codec.decode(PERSON, person_id)
            if index is None or index not in self._hidden:
                raise KeyError(person_id)
            self._overlay[index] = self._hidden.pop(index)
            self._removed.discard(index)
            bisect.insort(self._live, index)
            self._touched(index)
            self._emit(Change("person.created", self._overlay[index].id))
            return self._serializer.person(self._overlay[index], self.today)

    def _remove_index(self, index: int) -> None:
        pos = bisect.bisect_left(self._live, index)
        if pos < len(self._live) and self._live[pos] == index:
            del self._live[pos]
        self._removed.add(index)
        self._overlay.pop(index, None)
        self._touched(index)

    def grow(self, count: int) -> list[str]:
        """Hire ``count`` generated, well-formed current employees (the "grow" fault)."""
        ids: list[str] = []
        with self._lock:
            for _ in range(count):
                index = self._next
                created = self._next_created()
                person = self.generator.person(index, clean=True)
                person.created_at = person.updated_at = created
                for job in person.jobs:
                    job.created_at = job.updated_at = created
                self._overlay[index] = person
                self._live.append(index)
                self._next += 1
                self._touched(index)
                ids.append(person.id)
        return ids

    def shrink(self, count: int) -> list[str]:
        """Remove ``count`` people picked deterministically at random (the "shrink" fault)."""
        ids: list[str] = []
        with self._lock:
            self._shrinks += 1
            rng = random.Random(self.seed * 7919 + self._shrinks)
            for _ in range(min(count, len(self._live))):
                index = self._live[rng.randrange(len(self._live))]
                ids.append(self.codec.encode(PERSON, index))
                self._remove_index(index)
        return ids

    # --- listing for the HTTP layer ---------------------------------------------------------------

    def _cached_query(self, key: tuple[Any, ...], build: Callable[[], Iterable[int]]) -> array[int]:
        found = self._queries.get(key)
        if found is not None:
            self._queries.move_to_end(key)
            return found
        result = array("q", build())
        self._queries[key] = result
        while len(self._queries) > 16:
            self._queries.popitem(last=False)
        return result

    def people_page(self, offset: int, limit: int, descending: bool, filters: Filters) -> tuple[int, list[bytes]]:
        """(total matching, serialised people of the page). Raises ``FilterError`` for bad filter values."""
        with self._lock:
            if filters:
                matcher = person_matcher(filters, self.today)
                key = ("people", tuple(sorted(filters.items())), self._version, self._minute(filters))
                rows: Any = self._cached_query(key, lambda: self._scan(self._candidates(filters), matcher))
            else:
                rows = self._live
            return len(rows), [self._person_bytes(i) for i in page_of(rows, offset, limit, descending)]

    @staticmethod
    def _minute(filters: Filters) -> int:
        return int(time.time() // 60) if "updatedWithin" in filters else 0

    def _scan(self, candidates: Iterable[int], keep: Callable[[PersonState], bool]) -> list[int]:
        return [i for i in candidates if keep(self._state(i))]

    def _candidates(self, filters: Filters) -> Iterable[int]:
        """Live indices that may match; narrowed cheaply where a filter pins the person down."""
        narrowed = candidate_people(filters, self.codec, self._overlay)
        if narrowed is None:
            return self._live
        return sorted(i for i in narrowed if 0 <= i < self._next and i not in self._removed)

    # --- jobs ---------------------------------------------------------------------------------------

    def _job_rows(self) -> array[int]:
        """Every job as person_index * 16 + seq, in person (createdAt) then job order."""

        def build() -> Iterable[int]:
            gen, overlay = self.generator, self._overlay
            for i in self._live:
                state = overlay.get(i)
                if state is not None:
                    for job in sorted(state.jobs, key=lambda j: j.seq):
                        yield i * MAX_JOBS_PER_PERSON + job.seq
                else:
                    for seq in range(gen.job_count(i)):
                        yield i * MAX_JOBS_PER_PERSON + seq

        return self._cached_query(("jobs", self._version), build)

    def _job(self, row: int) -> tuple[PersonState, JobState] | None:
        index, seq = divmod(row, MAX_JOBS_PER_PERSON)
        if index >= self._next or index in self._removed:
            return None
        person = self._state(index)
        for job in person.jobs:
            if job.seq == seq:
                return person, job
        return None

    def _job_json(self, person: PersonState, job: JobState) -> dict[str, Any]:
        supervisor = None
        if job.supervisor is not None and job.supervisor < self._next and job.supervisor not in self._removed:
            supervisor = self._state(job.supervisor)
        return self._serializer.job(person, job, self.today, supervisor)

    def jobs_page(
        self, offset: int, limit: int, descending: bool, filters: Filters
    ) -> tuple[int, list[dict[str, Any]]]:
        with self._lock:
            rows = self._job_rows()
            if filters:
                keep = job_matcher(filters, self.today)
                if "personId" in filters:
                    wanted = {self._index_of(v.strip()) for v in filters["personId"].split(",")}
                    base: Iterable[int] = [r for r in rows if r // MAX_JOBS_PER_PERSON in wanted]
                else:
                    base = rows

                def build() -> Iterable[int]:
                    for row in base:
                        found = self._job(row)
                        if found is not None and keep(*found):
                            yield row

                key = ("jobs", tuple(sorted(filters.items())), self._version, self._minute(filters))
                rows = self._cached_query(key, build)
            out = []
            for row in page_of(rows, offset, limit, descending):
                found = self._job(row)
                if found is not None:
                    out.append(self._job_json(*found))
            return len(rows), out

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            n = self.codec.decode(JOB, job_id)
            if n is None:
                return None
            found = self._job(n)
            return None if found is None else self._job_json(*found)


__all__ = ["BAD_KINDS", "Directory"]
