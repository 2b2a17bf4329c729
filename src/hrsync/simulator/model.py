"""The simulator's internal records and how they become API-shaped JSON.

Statuses are never stored: a job's status follows from its dates and "today", and a person's
employment status follows from their primary job, as in intelliHR. Storing dates only means that
``terminate``/``rehire`` cannot leave a person in a contradictory state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

CURRENT_STAFF = "Current Staff"
EXITING_STAFF = "Exiting Staff"
UPCOMING_STAFF = "Upcoming Staff"
RETURNING_STAFF = "Returning Staff"
PAST_STAFF = "Past Staff"
NO_JOB_RECORDS = "No Job Records"
EMPLOYMENT_STATUSES = (
    CURRENT_STAFF,
    EXITING_STAFF,
    UPCOMING_STAFF,
    RETURNING_STAFF,
    PAST_STAFF,
    NO_JOB_RECORDS,
)

PAST_JOB = "Past Job"
FUTURE_JOB = "Future Job"
ENDING_JOB = "Ending Job"
CURRENT_JOB = "Current Job"

GENDERS = ("Female", "Male", "Non-binary", "Other", "Undisclosed")


def utc_now() -> datetime:
    """The simulator's clock: now in UTC, to the second (as intelliHR stores timestamps)."""
    return datetime.now(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    """UTC timestamps as intelliHR writes them (``2024-05-01T09:30:00+00:00``)."""
    return moment.replace(microsecond=0).isoformat()


def midnight_utc(day: date) -> str:
    """Job dates are RFC 3339 date-times at the start of the day in UTC (see the spec's Job schema)."""
    return f"{day.isoformat()}T00:00:00+00:00"


@dataclass(slots=True)
class JobState:
    """One job. ``end`` is EXCLUSIVE (the first day no longer employed), as intelliHR stores it."""

    id: str
    seq: int
    position: int  # index into reference position titles
    business_unit: int
    business_entity: int
    location: int
    supervisor: int | None  # person index of the supervisor
    work_type: str
    work_class: str
    start: date
    end: date | None
    is_primary: bool
    on_extended_leave: bool
    salary: int
    created_at: datetime
    updated_at: datetime

    def status(self, today: date) -> str:
        if self.start > today:
            return FUTURE_JOB
        if self.end is not None:
            return PAST_JOB if self.end <= today else ENDING_JOB
        return CURRENT_JOB


@dataclass(slots=True)
class PersonState:
    """Everything the simulator knows about one person (not API-shaped)."""

    index: int
    id: str
    title: str | None
    first_name: str | None
    middle_name: str | None
    preferred_name: str | None
    last_name: str
    date_of_birth: date | None
    gender: str
    employee_number: str | None
    email: str | None
    email_is_personal: bool
    personal_email: str | None
    phone: tuple[str, str] | None  # (number, fullNumber)
    address: dict[str, Any] | None
    emergency_contact: dict[str, Any]
    work_rights: dict[str, Any]
    medical_conditions: list[dict[str, Any]]
    user_account: dict[str, Any] | None
    custom: dict[str, Any]  # api name -> value
    is_supervisor: bool
    created_at: datetime
    updated_at: datetime
    jobs: list[JobState] = field(default_factory=list)

    @property
    def auto_id(self) -> int:
        return 1000 + self.index

    @property
    def display_name(self) -> str:
        first = self.first_name or ""
        if self.preferred_name:
            return f"{self.preferred_name} ({first}) {self.last_name}".replace("()", "").replace("  ", " ").strip()
        return f"{first} {self.last_name}".strip()

    def primary_job(self) -> JobState | None:
        for job in self.jobs:
            if job.is_primary:
                return job
        return self.jobs[-1] if self.jobs else None

    def employment_status(self, today: date) -> str:
        primary = self.primary_job()
        if primary is None:
            return NO_JOB_RECORDS
        status = primary.status(today)
        if status == CURRENT_JOB:
            return CURRENT_STAFF
        if status == ENDING_JOB:
            return EXITING_STAFF
        if status == PAST_JOB:
            return PAST_STAFF
        others_past = any(j is not primary and j.status(today) == PAST_JOB for j in self.jobs)
        return RETURNING_STAFF if others_past else UPCOMING_STAFF

    def on_extended_leave(self, today: date) -> bool:
        primary = self.primary_job()
        return primary is not None and primary.on_extended_leave

    def matches_name(self, wanted: str) -> bool:
        """intelliHR's ``name`` filter: an exact, case-insensitive match with any part of the name,
        regardless of order."""
        wanted = " ".join(wanted.split()).casefold()
        first, last = self.first_name or "", self.last_name
        parts = [
            first,
            last,
            self.middle_name or "",
            self.preferred_name or "",
            self.display_name,
            f"{first} {last}",
            f"{last} {first}",
            f"{first} {self.middle_name or ''} {last}",
            f"{self.preferred_name or ''} {last}",
        ]
        return any(" ".join(p.split()).casefold() == wanted for p in parts if p.strip())


class Serializer:
    """Turns states into the documented JSON shapes; ``base`` is the ``.../v1`` URL links point to."""

    def __init__(self, reference: Any, base: str) -> None:
        self.ref = reference
        self.base = base

    def person(self, p: PersonState, today: date) -> dict[str, Any]:
        ref = self.ref
        jobs = sorted(p.jobs, key=lambda j: (j.start, j.seq), reverse=True)  # newest first
        email_addresses: list[dict[str, Any]] = []
        if p.email is not None:
            email_addresses.append(
                {"email": p.email, "isPrimary": True, "isPersonal": p.email_is_personal, "customFields": {}}
            )
        if p.personal_email is not None:
            email_addresses.append(
                {"email": p.personal_email, "isPrimary": False, "isPersonal": True, "customFields": {}}
            )
        phone_numbers: list[dict[str, Any]] = []
        primary_phone = None
        if p.phone is not None:
            primary_phone = {"number": p.phone[0], "fullNumber": p.phone[1], "isPersonal": False}
            phone_numbers.append(
                {
                    "number": p.phone[0],
                    "fullNumber": p.phone[1],
                    "isPrimary": True,
                    "isPersonal": False,
                    "customFields": {},
                }
            )
        custom = {
            d.api_name: {
                "definitionId": d.id,
                "name": d.name,
                "type": d.type,
                "value": custom_value(d, p.custom.get(d.api_name)),
            }
            for d in ref.custom_fields
        }
        return {
            "id": p.id,
            "title": p.title,
            "displayName": p.display_name,
            "firstName": p.first_name,
            "middleName": p.middle_name,
            "preferredName": p.preferred_name,
            "lastName": p.last_name,
            "dateOfBirth": p.date_of_birth.isoformat() if p.date_of_birth else None,
            "gender": p.gender,
            "isSupervisor": p.is_supervisor,
            "employeeNumber": p.employee_number,
            "autoIncrementIntellihrId": p.auto_id,
            "employmentStatus": p.employment_status(today),
            "primaryEmailAddress": (
                {"email": p.email, "isPersonal": p.email_is_personal} if p.email is not None else None
            ),
            "primaryPhoneNumber": primary_phone,
            "emailAddresses": email_addresses,
            "phoneNumbers": phone_numbers,
            "addresses": [p.address] if p.address is not None else [],
            "emergencyContact": p.emergency_contact,
            "workRights": p.work_rights,
            "medicalConditions": p.medical_conditions,
            "jobs": [
                {
                    "id": j.id,
                    "name": ref.position_titles[j.position].name,
                    "startDate": j.start.isoformat(),
                    "endDate": j.end.isoformat() if j.end else None,
                    "jobStatus": j.status(today),
                    "isOnExtendedLeave": j.on_extended_leave,
                    "isPrimaryJob": j.is_primary,
                    "link": f"{self.base}/jobs/{j.id}",
                }
                for j in jobs
            ],
            "userAccount": p.user_account,
            "customFields": custom,
            "createdAt": rfc3339(p.created_at),
            "updatedAt": rfc3339(p.updated_at),
        }

    def job_custom(self, j: JobState) -> dict[str, Any]:
        """The job's custom fields, by arithmetic on the job (jobs store no custom values)."""
        out: dict[str, Any] = {}
        for d in self.ref.job_custom_fields:
            value: Any = None
            if d.type == "SINGLE_SELECT":
                value = d.options[(j.salary // 1000 + j.seq) % len(d.options)]
            elif j.salary % 3000 != 0:  # some jobs leave it unset
                value = f"JC-{j.business_unit:02d}{j.position:03d}"
            out[d.api_name] = {"definitionId": d.id, "name": d.name, "type": d.type, "value": custom_value(d, value)}
        return out

    def person_link(self, p: PersonState) -> dict[str, Any]:
        return {
            "id": p.id,
            "displayName": p.display_name,
            "employeeNumber": p.employee_number,
            "autoIncrementIntellihrId": p.auto_id,
            "link": f"{self.base}/people/{p.id}",
        }

    def job(self, p: PersonState, j: JobState, today: date, supervisor: PersonState | None) -> dict[str, Any]:
        ref = self.ref
        pos = ref.position_titles[j.position]
        unit = ref.business_units[j.business_unit]
        entity = ref.business_entities[j.business_entity]
        loc = ref.locations[j.location]
        hourly = round(j.salary / (38 * 52), 2)
        supervisor_job = supervisor.primary_job() if supervisor is not None else None
        return {
            "id": j.id,
            "person": self.person_link(p),
            "recruitment": {"cost": None, "currency": "AUD", "source": None},
            "extendedLeave": (
                {"startDate": midnight_utc(j.start), "endDate": None, "type": "Parental Leave"}
                if j.on_extended_leave
                else None
            ),
            "location": {
                "id": loc.id,
                "name": loc.name,
                "address": loc.address,
                "code": loc.code,
                "customFields": {},
                "link": f"{self.base}/locations/{loc.id}",
            },
            "payGrade": {
                "id": ref.pay_grade_id,
                "name": "Standard",
                "code": "L1",
                "payStep": None,
                "link": f"{self.base}/pay-grades/{ref.pay_grade_id}",
            },
            "businessUnit": {
                "id": unit.id,
                "name": unit.name,
                "code": unit.code,
                "link": f"{self.base}/business-units/{unit.id}",
                "customFields": {},
            },
            "businessEntity": {
                "id": entity.id,
                "name": entity.name,
                "code": entity.code,
                "link": f"{self.base}/business-entities/{entity.id}",
                "customFields": {},
            },
            "establishment": {
                "id": ref.establishment_id,
                "name": "Head Office Establishment",
                "link": f"{self.base}/establishments/{ref.establishment_id}",
            },
            "supervisorJob": (
                {
                    "id": supervisor_job.id,
                    "name": ref.position_titles[supervisor_job.position].name,
                    "link": f"{self.base}/jobs/{supervisor_job.id}",
                }
                if supervisor_job is not None
                else None
            ),
            "supervisorPerson": self.person_link(supervisor) if supervisor is not None else None,
            "employmentCondition": None,
            "remunerationSchedule": {
                "type": "Annual Salary" if j.work_type != "Temporary/Casual" else "Hourly Rate",
                "baseAnnualSalary": j.salary,
                "baseHourlyRate": hourly,
                "currency": "AUD",
                "hoursPerCycle": 76,
                "payCycle": "Fortnightly",
                "annualPackage": round(j.salary * 1.115, 2),
                "hourlyPackage": round(hourly * 1.115, 2),
                "currencyConversionOccurred": False,
                "employmentCondition": {
                    "id": ref.employment_condition_id,
                    "name": "Enterprise Agreement 2024",
                    "awardName": None,
                    "link": f"{self.base}/employment-conditions/{ref.employment_condition_id}",
                },
                "additions": [{"name": "Superannuation", "type": "MultipleOfBase", "value": 11.5, "currency": "AUD"}],
                "deductions": [],
                "additionsToTotal": [],
                "breakdowns": [],
                "customFields": {},
            },
            "name": pos.name,
            "positionTitle": {"id": pos.id, "name": pos.name, "code": pos.code},
            "fte": 1 if j.work_class == "Full-Time" else 0.6,
            "comments": [],
            "lastestJobChangeComment": None,
            "workClass": j.work_class,
            "workType": j.work_type,
            "isPrimaryJob": j.is_primary,
            "jobStatus": j.status(today),
            "createdBy": None,
            "updatedBy": None,
            "positionStartDate": midnight_utc(j.start),
            "companyStartDate": midnight_utc(j.start),
            "companyEndDate": midnight_utc(j.end) if j.end else None,
            "isEndDateConfirmed": j.end is not None,
            "turnoverType": ("Voluntary" if j.end is not None else None),
            "turnoverReason": ("Resignation" if j.end is not None else None),
            "customFields": self.job_custom(j),
            "createdAt": rfc3339(j.created_at),
        }


def custom_value(d: Any, value: Any) -> Any:
    """A stored custom value in the published shape for its definition's type.

    Stored values are plain (a label, a list of labels, a number); an object is passed on as given,
    so callers can set a PEOPLE_DROPDOWN value or a future type's value exactly as the API sends it.
    """
    if value is None or isinstance(value, dict):
        return value
    if d.type == "SINGLE_SELECT":
        return {"id": d.option_id(value), "label": value}
    if d.type == "MULTI_SELECT":
        labels = list(value) if isinstance(value, (list, tuple)) else [value]
        return {"ids": [d.option_id(label) for label in labels], "labels": labels} if labels else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # TEXT, NUMBER ("50"), DATE and the other scalar types travel as strings


def day_after(day: date) -> date:
    return day + timedelta(days=1)
