"""The simulated directory: generated people plus an overlay of changes, safe to share between threads.

People are generated on demand from (seed, index); only changed, hired or removed people take memory.
``_live`` holds the live person indices in createdAt order (an ``array`` of 8-byte ints, so a million
people cost 8 MB), which makes "page k" an O(1) slice even after removals. Serialised JSON of people
is cached up to ``cache_limit`` people; a change drops that person's entry.
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
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from hrsync.simulator.generator import BAD_KINDS, Generator
from hrsync.simulator.ids import JOB, PERSON, IdCodec
from hrsync.simulator.model import (
    CURRENT_STAFF,
    EMPLOYMENT_STATUSES,
    EXITING_STAFF,
    GENDERS,
    NO_JOB_RECORDS,
    PAST_STAFF,
    RETURNING_STAFF,
    UPCOMING_STAFF,
    JobState,
    PersonState,
    Serializer,
)
from hrsync.simulator.reference import Reference

PRODUCTION_BASE = "https://api.intellihr.io/v1"
MAX_JOBS_PER_PERSON = 16
DEFAULT_CACHE_LIMIT = 100_000  # ~2.4 kB each: a 100,000-person directory is served from memory after one pass

Filters = dict[str, str]


class FilterError(ValueError):
    """A filter value the API would reject with 400."""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _as_date(value: Any, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a YYYY-MM-DD date") from None


def _parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise FilterError(f"filters[{name}][eq] must be 'true' or 'false'")
    return lowered == "true"


def _parse_days(value: str, name: str) -> float:
    try:
        days = float(value)
    except ValueError:
        raise FilterError(f"filters[{name}][eq] must be a number of days") from None
    if days < 0 or days != days or days == float("inf"):
        raise FilterError(f"filters[{name}][eq] must be a non-negative number of days")
    return days


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
        created = max(_now(), self._last_created + timedelta(seconds=1))
        self._last_created = created
        return created

    def _new_job(
        self, person: PersonState, start: date, end: date | None, like: JobState | None, created: datetime
    ) -> JobState:
        seq = max((j.seq for j in person.jobs), default=-1) + 1
        if seq >= MAX_JOBS_PER_PERSON:
            raise ValueError("this person already has the maximum number of jobs")
        position = like.position if like else person.index % len(self.reference.position_titles)
        return JobState(
            id=self.codec.encode(JOB, person.index * MAX_JOBS_PER_PERSON + seq),
            seq=seq,
            position=position,
            business_unit=self.reference.position_titles[position].business_unit,
            business_entity=like.business_entity if like else 0,
            location=like.location if like else 0,
            supervisor=like.supervisor if like else (0 if person.index > 0 and self.size > 0 else None),
            work_type=like.work_type if like else "Permanent",
            work_class=like.work_class if like else "Full-Time",
            start=start,
            end=end,
            is_primary=True,
            on_extended_leave=False,
            salary=like.salary if like else 80000,
            created_at=created,
            updated_at=created,
        )

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
        self._check_custom(custom or {})
        start_date = _as_date(start_date, "start_date")
        with self._lock:
            index = self._next
            created = self._next_created()
            base = self.generator.person(index, clean=True)
            person = replace(
                base,
                first_name=first_name,
                last_name=last_name,
                middle_name=None,
                preferred_name=None,
                email=email,
                personal_email=None,
                employee_number=employee_number,
                custom={**{d.api_name: None for d in self.reference.custom_fields}, **(custom or {})},
                is_supervisor=False,
                created_at=created,
                updated_at=created,
                jobs=[],
                user_account=None,
                medical_conditions=[],
            )
            today = self.today
            if status != NO_JOB_RECORDS:
                if status == CURRENT_STAFF:
                    person.jobs.append(self._new_job(person, start_date or today, None, None, created))
                elif status == EXITING_STAFF:
                    person.jobs.append(
                        self._new_job(
                            person,
                            start_date or today - timedelta(days=90),
                            today + timedelta(days=30),
                            None,
                            created,
                        )
                    )
                elif status == UPCOMING_STAFF:
                    person.jobs.append(
                        self._new_job(person, start_date or today + timedelta(days=14), None, None, created)
                    )
                elif status == RETURNING_STAFF:
                    old = self._new_job(person, today - timedelta(days=800), today - timedelta(days=400), None, created)
                    old.is_primary = False
                    person.jobs.append(old)
                    person.jobs.append(
                        self._new_job(person, start_date or today + timedelta(days=14), None, old, created)
                    )
                elif status == PAST_STAFF:
                    start = start_date or today - timedelta(days=400)
                    person.jobs.append(
                        self._new_job(
                            person,
                            start,
                            max(start + timedelta(days=1), today - timedelta(days=30)),
                            None,
                            created,
                        )
                    )
            self._overlay[index] = person
            self._live.append(index)
            self._next += 1
            self._touched(index)
            return self._serializer.person(person, today)

    def _check_custom(self, custom: dict[str, Any]) -> None:
        unknown = set(custom) - set(self.reference.custom_by_api)
        if unknown:
            raise ValueError(f"unknown custom fields: {', '.join(sorted(unknown))}")

    _TEXT_FIELDS: ClassVar[dict[str, str]] = {
        "title": "title",
        "firstName": "first_name",
        "middleName": "middle_name",
        "preferredName": "preferred_name",
        "employeeNumber": "employee_number",
    }

    def change(self, person_id: str, **api_fields: Any) -> dict[str, Any]:
        """Change fields by their API names (``firstName="Ana"``, ``primaryEmailAddress="a@x.com"``;
        None clears). Also ``lastName``, ``dateOfBirth``, ``gender``, ``primaryPhoneNumber``,
        ``customFields`` (merged), ``isSupervisor``, ``isOnExtendedLeave`` (primary job)."""
        with self._lock:
            index = self._require(person_id)
            person = self._mutable(index)
            updates: list[Callable[[], None]] = []
            for name, value in api_fields.items():
                updates.append(self._updater(person, name, value))
            for update in updates:  # validate everything before changing anything
                update()
            person.updated_at = self._touch_time(person.updated_at)
            self._touched(index)
            return self._serializer.person(person, self.today)

    def _touch_time(self, previous: datetime) -> datetime:
        return max(_now(), previous + timedelta(seconds=1))

    def _updater(self, person: PersonState, name: str, value: Any) -> Callable[[], None]:
        if name in self._TEXT_FIELDS:
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or null")
            attr = self._TEXT_FIELDS[name]
            return lambda: setattr(person, attr, value)
        if name == "lastName":
            if not isinstance(value, str) or not value:
                raise ValueError("lastName must be a non-empty string")
            return lambda: setattr(person, "last_name", value)
        if name == "dateOfBirth":
            born = _as_date(value, name)
            return lambda: setattr(person, "date_of_birth", born)
        if name == "gender":
            if value not in GENDERS:
                raise ValueError(f"gender must be one of {', '.join(GENDERS)}")
            return lambda: setattr(person, "gender", value)
        if name == "primaryEmailAddress":
            if value is None:
                return lambda: setattr(person, "email", None)
            if isinstance(value, str):
                email, personal = value, False
            elif isinstance(value, dict) and isinstance(value.get("email"), str):
                email, personal = value["email"], bool(value.get("isPersonal", False))
            else:
                raise ValueError("primaryEmailAddress must be a string, {email, isPersonal} or null")

            def set_email() -> None:
                person.email, person.email_is_personal = email, personal

            return set_email
        if name == "primaryPhoneNumber":
            if value is None:
                return lambda: setattr(person, "phone", None)
            if isinstance(value, str):
                phone = (value, value)
            elif isinstance(value, dict) and isinstance(value.get("number"), str):
                phone = (value["number"], str(value.get("fullNumber") or value["number"]))
            else:
                raise ValueError("primaryPhoneNumber must be a string, {number, fullNumber} or null")
            return lambda: setattr(person, "phone", phone)
        if name == "customFields":
            if not isinstance(value, dict):
                raise ValueError("customFields must be an object keyed by api name")
            self._check_custom(value)
            return lambda: person.custom.update(value)
        if name == "isSupervisor":
            if not isinstance(value, bool):
                raise ValueError("isSupervisor must be a boolean")
            return lambda: setattr(person, "is_supervisor", value)
        if name == "isOnExtendedLeave":
            if not isinstance(value, bool):
                raise ValueError("isOnExtendedLeave must be a boolean")
            primary = person.primary_job()
            if primary is None:
                raise ValueError("this person has no job to be on leave from")
            return lambda: setattr(primary, "on_extended_leave", value)
        raise ValueError(f"{name} cannot be changed through the simulator")

    def terminate(self, person_id: str, end_date: date | None = None) -> dict[str, Any]:
        """End the primary job: ``end_date`` is the LAST day worked (default yesterday); the job stores
        the day after (exclusive). A last day before today makes the person Past Staff; a later one
        makes them Exiting Staff, as in intelliHR."""
        last_day = _as_date(end_date, "end_date") or self.today - timedelta(days=1)
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
            return self._serializer.person(person, self.today)

    def rehire(self, person_id: str, start_date: date | None = None) -> dict[str, Any]:
        """Give the person a new primary job from ``start_date`` (default today): Current Staff, or
        Returning Staff when the start is in the future. Jobs still open end the day the new one starts."""
        start = _as_date(start_date, "start_date") or self.today
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
            return self._serializer.person(person, self.today)

    def remove(self, person_id: str) -> None:
        """The person vanishes from the directory (and their jobs with them)."""
        with self._lock:
            index = self._require(person_id)
            self._remove_index(index)

    def hide(self, person_id: str) -> None:
        """The person vanishes from every answer, as with :meth:`remove`, but can come back."""
        with self._lock:
            index = self._require(person_id)
            self._hidden[index] = self._mutable(index)
            self._remove_index(index)

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
        """(total matching, serialised people of the page). Raises FilterError for bad filter values."""
        with self._lock:
            if filters:
                matcher = self._person_matcher(filters)
                key = ("people", tuple(sorted(filters.items())), self._version, self._minute(filters))
                rows: Any = self._cached_query(key, lambda: self._scan(self._candidates(filters), matcher))
            else:
                rows = self._live
            total = len(rows)
            if descending:
                start, stop = max(total - offset - limit, 0), max(total - offset, 0)
                picked = list(reversed(rows[start:stop]))
            else:
                picked = list(rows[offset : offset + limit])
            return total, [self._person_bytes(i) for i in picked]

    @staticmethod
    def _minute(filters: Filters) -> int:
        return int(time.time() // 60) if "updatedWithin" in filters else 0

    def _scan(self, candidates: Iterable[int], keep: Callable[[PersonState], bool]) -> list[int]:
        return [i for i in candidates if keep(self._state(i))]

    def _candidates(self, filters: Filters) -> Iterable[int]:
        """Live indices that may match; narrowed cheaply where a filter pins the person down."""
        narrowed: set[int] | None = None
        if "jobId" in filters:
            narrowed = set()
            for job_id in filters["jobId"].split(","):
                n = self.codec.decode(JOB, job_id.strip())
                if n is not None:
                    narrowed.add(n // MAX_JOBS_PER_PERSON)
        elif "employeeNumber" in filters:
            value = filters["employeeNumber"]
            narrowed = set(self._overlay)
            if value[:1] == "E" and value[1:].isdigit():
                n = int(value[1:])
                narrowed |= {n - 1, n}  # own number, or the duplicate right after it
        elif "primaryEmailAddress" in filters:
            value = filters["primaryEmailAddress"]
            narrowed = set(self._overlay)
            local = value.split("@", 1)[0]
            tail = local.rsplit(".", 1)[-1]
            if tail.isdigit():
                n = int(tail) - 1000
                narrowed |= {n, n + 1}
        if narrowed is None:
            return self._live
        return sorted(i for i in narrowed if 0 <= i < self._next and i not in self._removed)

    def _person_matcher(self, filters: Filters) -> Callable[[PersonState], bool]:
        """One predicate per filter, all of which must hold (intelliHR combines filters with AND)."""
        checks = [self._person_check(name, value) for name, value in filters.items()]
        return lambda p: all(check(p) for check in checks)

    def _person_check(self, name: str, value: str) -> Callable[[PersonState], bool]:
        today = self.today
        if name == "employeeNumber":
            return lambda p: p.employee_number == value
        if name == "primaryEmailAddress":
            folded = value.casefold()
            return lambda p: p.email is not None and p.email.casefold() == folded
        if name == "name":
            return lambda p: p.matches_name(value)
        if name == "updatedWithin":
            since = _now() - timedelta(days=_parse_days(value, name))
            return lambda p: p.updated_at >= since
        if name == "isOnExtendedLeave":
            wanted = _parse_bool(value, name)
            return lambda p: p.on_extended_leave(today) == wanted
        if name == "jobId":
            job_ids = {v.strip().lower() for v in value.split(",")}
            return lambda p: any(j.id in job_ids for j in p.jobs)
        if name == "autoIncrementIntellihrId":
            try:
                number = float(value)
            except ValueError:
                raise FilterError("filters[autoIncrementIntellihrId][eq] must be a number") from None
            return lambda p: p.auto_id == number
        raise FilterError(f"unknown filter {name}")  # pragma: no cover - the HTTP layer rejects these first

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
                keep = self._job_matcher(filters)
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
            total = len(rows)
            if descending:
                start, stop = max(total - offset - limit, 0), max(total - offset, 0)
                picked = list(reversed(rows[start:stop]))
            else:
                picked = list(rows[offset : offset + limit])
            out = []
            for row in picked:
                found = self._job(row)
                if found is not None:
                    out.append(self._job_json(*found))
            return total, out

    def _job_matcher(self, filters: Filters) -> Callable[[PersonState, JobState], bool]:
        checks = [self._job_check(name, value) for name, value in filters.items()]
        return lambda p, j: all(check(p, j) for check in checks)

    def _job_check(self, name: str, value: str) -> Callable[[PersonState, JobState], bool]:
        today = self.today
        if name == "personId":
            person_ids = {v.strip().lower() for v in value.split(",")}
            return lambda p, j: p.id in person_ids
        if name == "jobStatus":
            return lambda p, j: j.status(today) == value
        if name == "isPrimaryJob":
            flag = _parse_bool(value, name)
            return lambda p, j: j.is_primary == flag
        if name == "updatedWithin":
            since = _now() - timedelta(days=_parse_days(value, name))
            return lambda p, j: j.updated_at >= since
        if name == "jobId":
            job_ids = {v.strip().lower() for v in value.split(",")}
            return lambda p, j: j.id in job_ids
        if name == "employeeNumber":
            return lambda p, j: p.employee_number == value
        raise FilterError(f"unknown filter {name}")  # pragma: no cover - the HTTP layer rejects these first

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            n = self.codec.decode(JOB, job_id)
            if n is None:
                return None
            found = self._job(n)
            return None if found is None else self._job_json(*found)


__all__ = ["BAD_KINDS", "Directory", "FilterError"]
