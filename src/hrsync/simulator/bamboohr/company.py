"""The simulated BambooHR company: its employees, generated from a seed, and the changes made to them.

An employee's ``status`` is BambooHR's account status, ``Active`` or ``Inactive``: terminating someone
with a date today or earlier makes them Inactive at once; a termination dated in the future is a
future-dated row of the employment-status history, so the person stays Active and their
``terminationDate`` is shown only to callers who ask for future-dated values (``onlyCurrent=false``)
until the date arrives. Rehiring makes the person Active again with a new hire date and keeps the
original hire date. Every change stamps ``lastChanged``, which feeds ``GET /v1/employees/changed``;
deleting an employee leaves a ``Deleted`` entry there.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hrsync.simulator import names
from hrsync.simulator.bamboohr.fields import ALL_FIELDS, FieldDef, resolve

FIRST_ID = 101  # BambooHR employee IDs are integers, immutable and unique within one company

DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "People & Culture", "Operations", "Support")
DIVISIONS = ("North America", "Europe", "Asia Pacific")
JOB_TITLES = ("Software Engineer", "Account Executive", "Marketing Manager", "Accountant", "HR Business Partner",
              "Operations Analyst", "Support Specialist", "Team Lead", "Director")
LOCATIONS = (("Salt Lake City", "United States"), ("London", "United Kingdom"), ("Sydney", "Australia"),
             ("Auckland", "New Zealand"), ("Toronto", "Canada"))
EMPLOYMENT = ("Full-Time", "Full-Time", "Full-Time", "Part-Time", "Contractor")
SHIRT_SIZES = ("XS", "S", "M", "L", "XL")

#: Bad records the generator plants (index → kind), so an importer's per-record checks have work to do.
BAD_RECORDS = {7: "missing_email", 11: "duplicate_email", 13: "missing_employee_number",
               17: "duplicate_employee_number"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(slots=True)
class Employee:
    id: int
    first_name: str
    last_name: str
    work_email: str | None
    employee_number: str | None
    hire_date: date
    created: datetime
    last_changed: datetime
    middle_name: str | None = None
    preferred_name: str | None = None
    home_email: str | None = None
    original_hire_date: date | None = None
    termination_date: date | None = None
    employment_status: str = "Full-Time"
    department: str | None = None
    division: str | None = None
    job_title: str | None = None
    location: str | None = None
    country: str | None = None
    supervisor_id: int | None = None
    mobile_phone: str | None = None
    work_phone: str | None = None
    gender: str | None = None
    date_of_birth: date | None = None
    custom: dict[str, Any] = field(default_factory=dict)

    def status(self, today: date) -> str:
        """Inactive from the termination date on; a termination older than the hire date belongs to an
        earlier employment (the back door can set one to show it) and leaves the person Active."""
        ends = self.termination_date
        return "Inactive" if ends is not None and self.hire_date <= ends <= today else "Active"

    def display_name(self) -> str:
        return f"{self.preferred_name or self.first_name} {self.last_name}"


class Company:
    """All employees of one simulated account, behind one lock."""

    def __init__(self, people: int, seed: int, domain: str, *, today: date | None = None,
                 employee_numbers: bool = True) -> None:
        self.domain = domain
        self._today = today
        self.lock = threading.RLock()
        self.employees: dict[int, Employee] = {}
        self.deleted: dict[int, datetime] = {}
        self._next_id = FIRST_ID
        self._email_domain = f"{domain}.example.com"
        self.employee_numbers = employee_numbers
        self._generate(people, random.Random(seed))

    @property
    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    @property
    def total(self) -> int:
        return len(self.employees)

    # --- generation -------------------------------------------------------------------------------

    def _generate(self, people: int, rng: random.Random) -> None:
        cultures = [c for c in names.CULTURES for _ in range(c.weight)]
        origin = datetime.combine(self.today - timedelta(days=3650), datetime.min.time(), tzinfo=UTC)
        step = (3650 - 2) * 86400 / max(people, 1)
        for i in range(people):
            culture = rng.choice(cultures)
            female = rng.random() < 0.5
            first = rng.choice(culture.female if female else culture.male)
            last = rng.choice(culture.family)
            created = origin + timedelta(seconds=int(i * step))
            city, country = rng.choice(LOCATIONS)
            emp = Employee(
                id=self._take_id(),
                first_name=first[0],
                last_name=last[0],
                work_email=f"{first[1]}.{last[1]}.{1000 + i}@{self._email_domain}".replace(" ", ""),
                employee_number=f"{i + 1:05d}",
                hire_date=created.date(),
                created=created,
                last_changed=created + timedelta(seconds=rng.randrange(0, 86400 * 30)),
                preferred_name=rng.choice(culture.female if female else culture.male)[0] if rng.random() < 0.08
                else None,
                employment_status=rng.choice(EMPLOYMENT),
                department=rng.choice(DEPARTMENTS),
                division=rng.choice(DIVISIONS),
                job_title=rng.choice(JOB_TITLES),
                location=city,
                country=country,
                supervisor_id=None if i < 5 else FIRST_ID + rng.randrange(0, min(i, 50)),
                mobile_phone=f"+1 801 555 {rng.randrange(0, 10000):04d}" if rng.random() < 0.8 else None,
                gender="Female" if female else "Male",
                date_of_birth=date(1960 + rng.randrange(0, 42), rng.randrange(1, 13), rng.randrange(1, 29)),
                custom={"customShirtSize": rng.choice(SHIRT_SIZES), "customCostCentre": f"CC-{rng.randrange(100, 999)}",
                        "4003": rng.choice(("Yes", "No"))},
            )
            emp.original_hire_date = emp.hire_date
            self._plant(i, emp, rng)
            self.employees[emp.id] = emp
        last_changed = datetime.combine(self.today, datetime.min.time(), tzinfo=UTC) - timedelta(days=2)
        for emp in self.employees.values():
            emp.last_changed = min(emp.last_changed, last_changed)

    def _plant(self, i: int, emp: Employee, rng: random.Random) -> None:
        """Leavers, future leavers, future starters and the bad records, by index."""
        bad = BAD_RECORDS.get(i)
        previous = self.employees.get(emp.id - 1)
        if bad == "missing_email":
            emp.work_email = None
        elif bad == "duplicate_email" and previous is not None and previous.work_email:
            emp.work_email = previous.work_email.upper()
        elif bad == "missing_employee_number":
            emp.employee_number = None
        elif bad == "duplicate_employee_number" and previous is not None:
            emp.employee_number = previous.employee_number
        if not self.employee_numbers:
            emp.employee_number = None
        if bad is not None or i < 20:
            return
        roll = rng.random()
        if roll < 0.08:  # left: terminated in the past, Inactive
            emp.termination_date = self.today - timedelta(days=rng.randrange(1, 700))
            emp.termination_date = max(emp.termination_date, emp.hire_date + timedelta(days=1))
            emp.employment_status = "Terminated"
        elif roll < 0.09:  # leaving: a termination dated in the next 60 days
            emp.termination_date = self.today + timedelta(days=rng.randrange(1, 60))
        elif roll < 0.10:  # starting: hired with a date in the next 30 days
            emp.hire_date = emp.original_hire_date = self.today + timedelta(days=rng.randrange(1, 30))

    def _take_id(self) -> int:
        ident = self._next_id
        self._next_id += 1
        return ident

    # --- reading ----------------------------------------------------------------------------------

    def get(self, ident: int | str) -> Employee:
        try:
            return self.employees[int(ident)]
        except (TypeError, ValueError):
            raise KeyError(ident) from None

    def value(self, emp: Employee, f: FieldDef, *, only_current: bool = True) -> Any:
        """The value of field ``f`` for ``emp`` as the API shows it (None when empty)."""
        today = self.today
        if f.custom:
            return emp.custom.get(f.key)
        key = f.alias
        if key == "terminationDate":
            td = emp.termination_date
            if td is None or (only_current and td > today):
                return None
            return td.isoformat()
        if key == "status":
            return emp.status(today)
        if key == "employmentHistoryStatus":
            if emp.termination_date is not None and (emp.termination_date <= today or not only_current):
                return "Terminated"
            return emp.employment_status
        if key == "supervisor":
            boss = self.employees.get(emp.supervisor_id) if emp.supervisor_id else None
            return f"{boss.first_name} {boss.last_name}" if boss else None
        if key == "supervisorEId":
            return str(emp.supervisor_id) if emp.supervisor_id else None
        if key == "displayName":
            return emp.display_name()
        if key == "lastChanged":
            return stamp(emp.last_changed)
        attr = _SETTABLE[key or ""]
        raw = getattr(emp, attr)
        return raw.isoformat() if isinstance(raw, date) else raw

    def changed_since(self, since: datetime) -> list[tuple[int, str, datetime]]:
        """(id, action, lastChanged) of employees inserted, updated or deleted at or after ``since``."""
        with self.lock:
            out = [(e.id, "Inserted" if e.created >= since else "Updated", e.last_changed)
                   for e in self.employees.values() if e.last_changed >= since]
            out += [(ident, "Deleted", when) for ident, when in self.deleted.items() if when >= since]
        return sorted(out)

    # --- changing (the simulator's back door) ------------------------------------------------------

    def _touch(self, emp: Employee) -> Employee:
        emp.last_changed = datetime.now(UTC)
        return emp

    def hire(self, first_name: str, last_name: str, email: str | None = None, employee_number: str | None = None,
             hire_date: str | None = None, department: str | None = None, job_title: str | None = None,
             location: str | None = None, supervisor_id: int | None = None,
             custom: dict[str, Any] | None = None) -> Employee:
        with self.lock:
            now = datetime.now(UTC)
            ident = self._take_id()
            emp = Employee(
                id=ident, first_name=first_name, last_name=last_name, work_email=email,
                employee_number=employee_number if employee_number is not None else f"{ident - FIRST_ID + 1:05d}",
                hire_date=date.fromisoformat(hire_date) if hire_date else self.today, created=now, last_changed=now,
                department=department or DEPARTMENTS[0], job_title=job_title or JOB_TITLES[0],
                location=location or LOCATIONS[0][0], supervisor_id=supervisor_id, custom=dict(custom or {}),
            )
            emp.original_hire_date = emp.hire_date
            self.employees[ident] = emp
            return emp

    def change(self, ident: int | str, **changes: Any) -> Employee:
        """Set fields by their API alias (``workEmail``, ``jobTitle``, ``customShirtSize``, ``4003`` …)."""
        with self.lock:
            emp = self.get(ident)
            for name, value in changes.items():
                f = resolve(name)
                if f is None or f.alias in ("status", "displayName", "lastChanged", "supervisor",
                                            "employmentHistoryStatus"):
                    raise ValueError(f"{name} is not a field the back door can set")
                if f.custom:
                    emp.custom[f.key] = value
                    continue
                if f.alias == "supervisorEId":
                    emp.supervisor_id = int(value) if value else None
                    continue
                attr = _SETTABLE[f.alias or ""]
                if f.type == "date" and value is not None:
                    value = date.fromisoformat(str(value))
                setattr(emp, attr, value)
            return self._touch(emp)

    def terminate(self, ident: int | str, termination_date: str | None = None) -> Employee:
        with self.lock:
            emp = self.get(ident)
            emp.termination_date = date.fromisoformat(termination_date) if termination_date else self.today
            return self._touch(emp)

    def rehire(self, ident: int | str, hire_date: str | None = None) -> Employee:
        with self.lock:
            emp = self.get(ident)
            emp.termination_date = None
            emp.hire_date = date.fromisoformat(hire_date) if hire_date else self.today
            if emp.employment_status == "Terminated":
                emp.employment_status = "Full-Time"
            return self._touch(emp)

    def remove(self, ident: int | str) -> None:
        with self.lock:
            emp = self.get(ident)
            del self.employees[emp.id]
            self.deleted[emp.id] = datetime.now(UTC)

    def bad_records(self) -> dict[str, list[str]]:
        """Employee IDs by bad kind; a duplicate kind lists the original and its copy, as both are in conflict."""
        out: dict[str, list[str]] = {}
        for index, kind in BAD_RECORDS.items():
            ident = FIRST_ID + index
            if ident in self.employees:
                both = kind.startswith("duplicate_") and ident - 1 in self.employees
                out.setdefault(kind, []).extend([str(ident - 1), str(ident)] if both else [str(ident)])
        return out

    def to_json(self, emp: Employee) -> dict[str, Any]:
        """Every field of one employee, current and future-dated, keyed by alias (the back door's view)."""
        return {"id": str(emp.id), **{f.key: self.value(emp, f, only_current=False) for f in ALL_FIELDS}}


_SETTABLE = {"firstName": "first_name", "lastName": "last_name", "middleName": "middle_name",
             "preferredName": "preferred_name", "employeeNumber": "employee_number", "workEmail": "work_email",
             "homeEmail": "home_email", "hireDate": "hire_date", "originalHireDate": "original_hire_date",
             "terminationDate": "termination_date", "department": "department", "division": "division",
             "jobTitle": "job_title", "location": "location", "mobilePhone": "mobile_phone",
             "workPhone": "work_phone", "gender": "gender", "dateOfBirth": "date_of_birth", "country": "country"}
