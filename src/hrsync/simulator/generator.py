"""Deterministic people: person *i* of a directory is a pure function of (seed, i, N, today).

Nothing is generated up front, so a directory of a million people costs nothing until it is read.
:func:`Generator.plan` is the cheap part (status and bad kind, by arithmetic) used to enumerate
statuses and bad records without building people; :func:`Generator.person` builds the full record.

Fixed positions guarantee that every employment status and every kind of bad record occurs in any
directory of at least 50 people; beyond that statuses follow realistic proportions and one person in
500 is a bad record, cycling through the kinds.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from hrsync.simulator import names
from hrsync.simulator.ids import JOB, MAX_JOBS_PER_PERSON, MISC, PERSON, IdCodec, mix64, seed_key
from hrsync.simulator.model import (
    CURRENT_STAFF,
    EXITING_STAFF,
    GENDERS,
    NO_JOB_RECORDS,
    PAST_STAFF,
    RETURNING_STAFF,
    UPCOMING_STAFF,
    JobState,
    PersonState,
)
from hrsync.simulator.reference import WORK_CLASSES, WORK_TYPES, Reference

MISSING_EMAIL = "missing_email"
DUPLICATE_EMAIL = "duplicate_email"
MISSING_EMPLOYEE_NUMBER = "missing_employee_number"
DUPLICATE_EMPLOYEE_NUMBER = "duplicate_employee_number"
LONG_NAME = "long_name"
ILLEGAL_NAME = "illegal_name"
BAD_KINDS = (
    MISSING_EMAIL,
    DUPLICATE_EMAIL,
    MISSING_EMPLOYEE_NUMBER,
    DUPLICATE_EMPLOYEE_NUMBER,
    LONG_NAME,
    ILLEGAL_NAME,
)
DUPLICATE_KINDS = (DUPLICATE_EMAIL, DUPLICATE_EMPLOYEE_NUMBER)

# Positions inside the first 50 people: statuses, then bad records. A duplicate copies the value of
# the person just before it (the "original", listed with it).
FIXED_STATUS = {
    4: EXITING_STAFF,
    8: UPCOMING_STAFF,
    12: RETURNING_STAFF,
    16: PAST_STAFF,
    20: NO_JOB_RECORDS,
    24: PAST_STAFF,
    27: UPCOMING_STAFF,
}
FIXED_BAD = {
    30: MISSING_EMAIL,
    33: DUPLICATE_EMAIL,
    36: MISSING_EMPLOYEE_NUMBER,
    39: DUPLICATE_EMPLOYEE_NUMBER,
    42: LONG_NAME,
    45: ILLEGAL_NAME,
    47: ILLEGAL_NAME,
}
BAD_EVERY = 500
BAD_OFFSET = 250

# Proportions per mille for positions without a fixed status.
_STATUS_CUTS = (
    (800, CURRENT_STAFF),
    (830, EXITING_STAFF),
    (870, UPCOMING_STAFF),
    (880, RETURNING_STAFF),
    (980, PAST_STAFF),
    (1000, NO_JOB_RECORDS),
)

_HISTORY_DAYS = 3650
T = TypeVar("T")
_CULTURE_TABLE = tuple(c for c in names.CULTURES for _ in range(c.weight))


class _Draw:
    """Thin wrapper over ``random.Random.random``: randrange/choice in pure Python cost several times more,
    and people are generated on the hot path of every page."""

    __slots__ = ("random",)

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, low: int, high: int) -> int:
        """An int in [low, high)."""
        return low + int(self.random() * (high - low))

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]


class Generator:
    """Builds person *i* for one (seed, size, today)."""

    def __init__(
        self,
        seed: int,
        size: int,
        today: date,
        tenant: str,
        codec: IdCodec,
        ref: Reference,
        employee_numbers: bool = True,
    ) -> None:
        self.seed = seed
        #: False: the tenant's configuration hides employee numbers, so ``employeeNumber`` is null for all.
        self.employee_numbers = employee_numbers
        self.size = size
        self.today = today
        self.tenant = tenant
        self.codec = codec
        self.ref = ref
        self._key = seed_key(seed)
        self._domain = f"{tenant}.example.com"
        # createdAt of generated people spreads over ten years and ends two days ago, so hires made
        # while running (stamped "now") always sort after them.
        self._origin = datetime.combine(today - timedelta(days=_HISTORY_DAYS), time(8, 0), tzinfo=UTC)
        span = (_HISTORY_DAYS - 2) * 86400
        self._step = span / max(size, 1)

    # --- cheap plan -------------------------------------------------------------------------------

    def bad_kind(self, i: int) -> str | None:
        if i < 50:
            return FIXED_BAD.get(i)
        if i % BAD_EVERY == BAD_OFFSET:
            return BAD_KINDS[(i // BAD_EVERY) % len(BAD_KINDS)]
        return None

    def is_duplicate_original(self, i: int) -> bool:
        """Person *i* is the one whose value person *i+1* duplicates."""
        return i + 1 < self.size and self.bad_kind(i + 1) in DUPLICATE_KINDS

    def status(self, i: int) -> str:
        """The generated employment status (bad records and their originals are current staff)."""
        if i in FIXED_STATUS:
            return FIXED_STATUS[i]
        if self.bad_kind(i) is not None or self.is_duplicate_original(i) or i < 50:
            return CURRENT_STAFF
        bucket = mix64(self._key ^ (i * 0x2545F4914F6CDD1D)) % 1000
        for cut, status in _STATUS_CUTS:
            if bucket < cut:
                return status
        return CURRENT_STAFF  # pragma: no cover

    def has_previous_job(self, i: int) -> bool:
        """Whether a current employee also has an earlier (past, non-primary) job; by arithmetic so
        job counts are known without building people."""
        return mix64(self._key ^ (i * 0x9E3779B1 + 7)) % 100 < 35

    def job_count(self, i: int) -> int:
        status = self.status(i)
        if status == NO_JOB_RECORDS:
            return 0
        if status == RETURNING_STAFF:
            return 2
        if status == CURRENT_STAFF:
            return 2 if self.has_previous_job(i) else 1
        return 1

    def bad_records(self) -> dict[str, list[int]]:
        """Person indices by bad kind; duplicate kinds list the original and the duplicate."""
        out: dict[str, list[int]] = {k: [] for k in BAD_KINDS}
        candidates = [i for i in FIXED_BAD if i < self.size]
        candidates += list(range(BAD_OFFSET, self.size, BAD_EVERY))
        for i in candidates:
            kind = self.bad_kind(i)
            if kind is None:
                continue
            if kind in DUPLICATE_KINDS:
                out[kind].append(i - 1)
            out[kind].append(i)
        return out

    def created_at(self, i: int) -> datetime:
        # People hired later than the generated ones get their own time; their base record must not
        # run past the calendar (a directory generated empty has a step of its whole span).
        return self._origin + timedelta(seconds=int(min(i, self.size) * self._step))

    # --- full record ------------------------------------------------------------------------------

    def _rng(self, i: int) -> _Draw:
        return _Draw(mix64(self._key ^ mix64(i + 0x51ED)))

    def identity(
        self, i: int, rng: _Draw | None = None
    ) -> tuple[str, str, str | None, str | None, str, str | None, str, str]:
        """(first, last, middle, preferred, gender, title, email local part, culture) of person *i*.
        ``rng`` lets :meth:`person` continue the same stream instead of seeding a second one."""
        rng = rng or self._rng(i)
        culture = _CULTURE_TABLE[rng.below(len(_CULTURE_TABLE))]
        roll = rng.random()
        gender = "Female" if roll < 0.48 else "Male" if roll < 0.96 else rng.pick(GENDERS[2:])
        female = gender == "Female" or (gender not in ("Male",) and rng.random() < 0.5)
        first = rng.pick(culture.female if female else culture.male)
        last = rng.pick(culture.family)
        middle_pool = culture.middle_female if female else culture.middle_male
        middle = rng.pick(middle_pool) if middle_pool and rng.random() < 0.4 else None
        preferred = rng.pick(culture.female if female else culture.male) if rng.random() < 0.08 else None
        if preferred == first:
            preferred = None
        title = rng.pick(("Ms", "Mrs", "Dr") if female else ("Mr", "Dr")) if rng.random() < 0.55 else None
        local = f"{first[1]}.{last[1]}.{1000 + i}".replace(" ", "")
        return (
            first[0],
            last[0],
            middle[0] if middle else None,
            preferred[0] if preferred else None,
            gender,
            title,
            local,
            culture.key,
        )

    def email(self, i: int) -> str:
        return f"{self.identity(i)[6]}@{self._domain}"

    def employee_number(self, i: int) -> str:
        return f"E{i + 1:06d}"

    def person(self, i: int, *, clean: bool = False) -> PersonState:
        """Person *i*; ``clean`` builds a well-formed current employee (for people hired while running)."""
        rng = self._rng(i)
        first, last, middle, preferred, gender, title, local, _culture = self.identity(i, rng)
        kind = None if clean else self.bad_kind(i)
        status = CURRENT_STAFF if clean else self.status(i)
        today = self.today
        email: str | None = f"{local}@{self._domain}"
        employee_number: str | None = self.employee_number(i)
        if kind == MISSING_EMAIL:
            email = None
        elif kind == DUPLICATE_EMAIL:
            email = self.email(i - 1).upper()  # same address, different case
        elif kind == MISSING_EMPLOYEE_NUMBER:
            employee_number = None
        elif kind == DUPLICATE_EMPLOYEE_NUMBER:
            employee_number = self.employee_number(i - 1)
        elif kind == LONG_NAME:
            last = names.LONG_FAMILY_NAME[0]
        elif kind == ILLEGAL_NAME:
            first = names.ILLEGAL_GIVEN_NAMES[(i // 2) % len(names.ILLEGAL_GIVEN_NAMES)][0]
            preferred = None
        if not self.employee_numbers:
            employee_number = None

        created = self.created_at(i)
        location = rng.below(len(self.ref.locations))
        loc = self.ref.locations[location]
        jobs = self._jobs(i, rng, status, location, created)
        # Most records were last touched long ago; about one in ten within the last 30 days.
        latest = datetime.combine(today, time(0, 0), tzinfo=UTC) - timedelta(days=2)
        if rng.random() < 0.1:
            updated = latest - timedelta(seconds=rng.between(0, 28 * 86400))
        else:
            updated = created + timedelta(seconds=rng.between(0, 400 * 86400))
        updated = max(created, min(updated, latest))

        mobile = f"4{rng.between(10, 99)} {rng.between(100, 999)} {rng.between(100, 999)}"
        phone = (f"0{mobile}", f"{loc.phone_prefix} {mobile}") if rng.random() < 0.9 else None
        address = None
        if rng.random() < 0.85:
            street = f"{rng.between(1, 300)} {rng.pick(('Main', 'High', 'Church', 'Park', 'Station'))} Street"
            address = {
                "addressType": "Home",
                "fullAddress": f"{street}, {loc.suburb} {loc.state} {loc.postcode}",
                "country": loc.country,
                "postcode": loc.postcode,
                "state": loc.state,
                "street": street,
                "suburb": loc.suburb,
                "isPrimary": True,
                "customFields": {},
            }
        contact: dict[str, Any] = {"name": None, "relationship": None, "phone": None, "email": None}
        if rng.random() < 0.7:
            contact = {
                "name": f"{rng.pick(names.ENGLISH.female)[0]} {last}",
                "relationship": rng.pick(("Partner", "Parent", "Sibling", "Friend")),
                "phone": f"{loc.phone_prefix} 4{rng.between(10, 99)} {rng.between(100, 999)} 000",
                "email": None,
            }
        rights = rng.pick((("Citizen", None), ("Permanent Resident", None), ("Working Holiday Visa", 365)))
        work_rights = {
            "name": rights[0],
            "country": loc.country,
            "expirationDate": (today + timedelta(days=rng.between(30, 700))).isoformat() if rights[1] else None,
        }
        medical = []
        if rng.random() < 0.05:
            medical.append({"id": self.codec.encode(MISC, i * 4 + 1), "body": "Peanut allergy", "isPublic": False})
        user_account = None
        if status in (CURRENT_STAFF, EXITING_STAFF):
            user_account = {
                "id": self.codec.encode(MISC, i * 4),
                "username": local.split(".")[0] + str(1000 + i),
                "isEnabled": True,
            }
        custom = self._custom(i, rng)
        born = None
        if rng.random() < 0.95:
            born = date(1960, 1, 1) + timedelta(days=rng.between(0, 44 * 365))
        return PersonState(
            index=i,
            id=self.codec.encode(PERSON, i),
            title=title,
            first_name=first,
            middle_name=middle,
            preferred_name=preferred,
            last_name=last,
            date_of_birth=born,
            gender=gender,
            employee_number=employee_number,
            email=email,
            email_is_personal=False,
            personal_email=(
                f"{local.split('.')[0]}{rng.between(10, 99)}@mail.example.net"
                if email is not None and rng.random() < 0.2
                else None
            ),
            phone=phone,
            address=address,
            emergency_contact=contact,
            work_rights=work_rights,
            medical_conditions=medical,
            user_account=user_account,
            custom=custom,
            is_supervisor=self.is_supervisor(i),
            created_at=created,
            updated_at=updated,
            jobs=jobs,
        )

    # Supervisors form a tree with seven reports each: person i reports to (i - 1) // 7.
    def supervisor_of(self, i: int) -> int | None:
        return None if i == 0 else (i - 1) // 7

    def is_supervisor(self, i: int) -> bool:
        return 7 * i + 1 < self.size

    def _custom(self, i: int, rng: _Draw) -> dict[str, Any]:
        defs = self.ref.custom_by_api
        custom: dict[str, Any] = {
            "costCentre": f"CC-{rng.between(100, 999)}" if rng.random() < 0.9 else None,
            "badgeNumber": rng.between(10000, 99999) if rng.random() < 0.8 else None,
            "tshirtSize": rng.pick(defs["tshirtSize"].options) if rng.random() < 0.7 else None,
            "languagesSpoken": self._languages(rng, defs["languagesSpoken"].options),
            "mentor": None,
        }
        if i > 0 and rng.random() < 0.5:
            mentor = rng.between(0, i)
            m_first, m_last, _m, m_preferred, *_rest = self.identity(mentor)
            shown = f"{m_preferred} ({m_first}) {m_last}" if m_preferred else f"{m_first} {m_last}"
            custom["mentor"] = {
                "options": {
                    "job": None,
                    "person": {
                        "id": self.codec.encode(PERSON, mentor),
                        "displayName": shown,
                        "employeeNumber": self.mentor_employee_number(mentor),
                        "autoIncrementIntellihrId": str(1000 + mentor),
                    },
                }
            }
        if "wellbeingRating" in defs:  # a future type, in a shape no published type has
            custom["wellbeingRating"] = {"score": 1 + i % 5, "outOf": 5} if i % 4 else None
        return custom

    def mentor_employee_number(self, i: int) -> str | None:
        """Person *i*'s employee number as generated (bad kinds included), without building them."""
        kind = self.bad_kind(i)
        if not self.employee_numbers or kind == MISSING_EMPLOYEE_NUMBER:
            return None
        return self.employee_number(i - 1 if kind == DUPLICATE_EMPLOYEE_NUMBER else i)

    @staticmethod
    def _languages(rng: _Draw, options: tuple[str, ...]) -> list[str]:
        if rng.random() >= 0.6:
            return []
        first = rng.below(len(options))
        if rng.random() < 0.5:
            return [options[first]]
        second = (first + 1 + rng.below(len(options) - 1)) % len(options)
        return [options[first], options[second]]  # in the order chosen, as intelliHR keeps it

    def _jobs(self, i: int, rng: _Draw, status: str, location: int, created: datetime) -> list[JobState]:
        if status == NO_JOB_RECORDS:
            return []
        today = self.today
        position = rng.below(len(self.ref.position_titles)) if i > 0 else 0
        entity = (
            1
            if self.ref.locations[location].country == "New Zealand"
            else (2 if self.ref.locations[location].country == "Spain" else 0)
        )
        work_type = rng.pick(WORK_TYPES)
        work_class = rng.pick(WORK_CLASSES[work_type])
        supervisor = self.supervisor_of(i)

        def job(seq: int, start: date, end: date | None, primary: bool, pos: int) -> JobState:
            return JobState(
                id=self.codec.encode(JOB, i * MAX_JOBS_PER_PERSON + seq),
                seq=seq,
                position=pos,
                business_unit=self.ref.position_titles[pos].business_unit,
                business_entity=entity,
                location=location,
                supervisor=supervisor,
                work_type=work_type,
                work_class=work_class,
                start=start,
                end=end,
                is_primary=primary,
                on_extended_leave=primary and rng.random() < 0.02,
                salary=rng.between(55, 220) * 1000,
                created_at=created + timedelta(seconds=seq),
                updated_at=created + timedelta(seconds=seq),
            )

        if status == CURRENT_STAFF:
            start = today - timedelta(days=rng.between(30, 3000))
            if self.has_previous_job(i):
                earlier = start - timedelta(days=rng.between(100, 900))
                previous = rng.below(len(self.ref.position_titles))
                return [job(0, earlier, start, False, previous), job(1, start, None, True, position)]
            return [job(0, start, None, True, position)]
        if status == EXITING_STAFF:
            start = today - timedelta(days=rng.between(60, 3000))
            return [job(0, start, today + timedelta(days=rng.between(2, 60)), True, position)]
        if status == UPCOMING_STAFF:
            return [job(0, today + timedelta(days=rng.between(1, 60)), None, True, position)]
        if status == RETURNING_STAFF:
            old_start = today - timedelta(days=rng.between(800, 3000))
            old_end = old_start + timedelta(days=rng.between(100, 700))
            return [
                job(0, old_start, old_end, False, position),
                job(1, today + timedelta(days=rng.between(1, 60)), None, True, position),
            ]
        # Past staff: left between a week and three years ago.
        end = today - timedelta(days=rng.between(7, 1100))
        return [job(0, end - timedelta(days=rng.between(90, 2500)), end, True, position)]
