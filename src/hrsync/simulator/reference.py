"""Reference data of the simulated tenant: business units, entities, locations, position titles,
custom field definitions.

Kept small and fixed (only the ids depend on the seed) so tests can name them; the people generator
picks from these lists by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hrsync.simulator.ids import REFERENCE, IdCodec


@dataclass(frozen=True, slots=True)
class BusinessUnit:
    id: str
    identifier: str
    name: str
    code: str
    notes: str
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class BusinessEntity:
    id: str
    name: str
    code: str


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str
    code: str
    address: str
    country: str
    state: str
    suburb: str
    postcode: str
    phone_prefix: str


@dataclass(frozen=True, slots=True)
class PositionTitle:
    id: str
    name: str
    code: str | None
    business_unit: int  # index into business units


@dataclass(frozen=True, slots=True)
class CustomFieldDefinition:
    id: str
    api_name: str
    name: str
    type: str  # TEXT | NUMBER | SINGLE_SELECT | MULTI_SELECT | PEOPLE_DROPDOWN, or a future type
    options: tuple[str, ...] = ()
    option_ids: tuple[str, ...] = ()
    model_type: str = "PERSON"  # PERSON | JOB
    enabled: bool = True
    sensitive: bool = False
    description: str = ""

    def option_id(self, label: str) -> str:
        return self.option_ids[self.options.index(label)]


_BUSINESS_UNITS = (
    ("executive", "Executive", "EXE", "Leadership team"),
    ("engineering", "Engineering", "ENG", "Product engineering"),
    ("sales", "Sales", "SAL", "New business and accounts"),
    ("customer-success", "Customer Success", "CUS", "Support and onboarding"),
    ("finance", "Finance", "FIN", "Finance and payroll"),
    ("people", "People & Culture", "PPL", "HR"),
    ("operations", "Operations", "OPS", "Facilities and logistics"),
    ("marketing", "Marketing", "MKT", "Brand and growth"),
)

_ENTITIES = (
    ("Acme Holdings Pty Ltd", "AHP"),
    ("Acme New Zealand Limited", "ANZ"),
    ("Acme Europe S.L.", "AEU"),
)

_LOCATIONS = (
    (
        "Brisbane Office",
        "BNE",
        "1 Queen Street, Brisbane City QLD 4000",
        "Australia",
        "Queensland",
        "Brisbane City",
        "4000",
        "+61",
    ),
    (
        "Sydney Office",
        "SYD",
        "200 George Street, Sydney NSW 2000",
        "Australia",
        "New South Wales",
        "Sydney",
        "2000",
        "+61",
    ),
    (
        "Melbourne Office",
        "MEL",
        "30 Collins Street, Melbourne VIC 3000",
        "Australia",
        "Victoria",
        "Melbourne",
        "3000",
        "+61",
    ),
    (
        "Auckland Office",
        "AKL",
        "12 Queen Street, Auckland 1010",
        "New Zealand",
        "Auckland",
        "Auckland Central",
        "1010",
        "+64",
    ),
    (
        "Wellington Office",
        "WLG",
        "5 Lambton Quay, Wellington 6011",
        "New Zealand",
        "Wellington",
        "Wellington Central",
        "6011",
        "+64",
    ),
    (
        "Madrid Office",
        "MAD",
        "Calle de Alcalá 50, 28014 Madrid",
        "Spain",
        "Comunidad de Madrid",
        "Centro",
        "28014",
        "+34",
    ),
    ("Remote", "REM", "Remote", "Australia", "Queensland", "Brisbane City", "4000", "+61"),
)

_POSITIONS = (
    ("Chief Executive Officer", "CEO", 0),
    ("Chief Financial Officer", "CFO", 0),
    ("Software Engineer", "SE1", 1),
    ("Senior Software Engineer", "SE2", 1),
    ("Engineering Manager", None, 1),
    ("QA Analyst", "QA1", 1),
    ("Site Reliability Engineer", "SRE", 1),
    ("Account Executive", "AE1", 2),
    ("Sales Development Representative", "SDR", 2),
    ("Sales Manager", None, 2),
    ("Customer Success Manager", "CSM", 3),
    ("Support Specialist", "SUP", 3),
    ("Accountant", "ACC", 4),
    ("Payroll Officer", "PAY", 4),
    ("HR Business Partner", "HRBP", 5),
    ("Recruiter", "REC", 5),
    ("Office Manager", "OFM", 6),
    ("Warehouse Operator", "WHO", 6),
    ("Marketing Coordinator", "MKC", 7),
    ("Content Writer", None, 7),
)

_CUSTOM_FIELDS = (
    ("costCentre", "Cost centre", "TEXT", ()),
    ("badgeNumber", "Badge number", "NUMBER", ()),
    ("tshirtSize", "T-shirt size", "SINGLE_SELECT", ("XS", "S", "M", "L", "XL", "XXL")),
    (
        "languagesSpoken",
        "Languages spoken",
        "MULTI_SELECT",
        ("English", "Spanish", "Vietnamese", "Mandarin", "Arabic", "Greek", "Te Reo Māori", "French"),
    ),
    ("mentor", "Mentor", "PEOPLE_DROPDOWN", ()),
)
# (api name, name, type, options, model type, enabled, sensitive): disabled fields and job fields are
# listed by ``/custom-field-definitions``; only enabled ones are carried by records.
_MORE_CUSTOM_FIELDS = (
    ("legacyPayrollCode", "Legacy payroll code", "TEXT", (), "PERSON", False, True),
    ("shiftPattern", "Shift pattern", "SINGLE_SELECT", ("Day", "Night", "Rotating"), "JOB", True, False),
    ("jobCostCode", "Job cost code", "TEXT", (), "JOB", True, False),
    ("oldGrade", "Old grade", "NUMBER", (), "JOB", False, False),
)
#: A type the published spec does not know (``Simulator(future_types=True)``): the connector must cope.
FUTURE_CUSTOM_FIELD = ("wellbeingRating", "Wellbeing rating", "RATING", (), "PERSON", True, False)

WORK_TYPES = (
    "Permanent",
    "Permanent",
    "Permanent",
    "Fixed Contract",
    "Temporary/Casual",
    "Independent Contract",
)
WORK_CLASSES = {
    "Permanent": ("Full-Time", "Part-Time"),
    "Fixed Contract": ("Full-Time",),
    "Temporary/Casual": ("Casual",),
    "Independent Contract": ("Contractor",),
    "Unpaid": ("Volunteer",),
}


class Reference:
    """All reference records for one seed."""

    def __init__(self, codec: IdCodec, future_types: bool = False) -> None:
        def rid(n: int) -> str:
            return codec.encode(REFERENCE, n)

        self.business_units = tuple(
            BusinessUnit(rid(1000 + i), ident, name, code, notes, None if i == 0 else rid(1000))
            for i, (ident, name, code, notes) in enumerate(_BUSINESS_UNITS)
        )
        self.business_entities = tuple(
            BusinessEntity(rid(2000 + i), name, code) for i, (name, code) in enumerate(_ENTITIES)
        )
        self.locations = tuple(Location(rid(3000 + i), *row) for i, row in enumerate(_LOCATIONS))
        self.position_titles = tuple(
            PositionTitle(rid(4000 + i), name, code, bu) for i, (name, code, bu) in enumerate(_POSITIONS)
        )
        rows = [(*row, "PERSON", True, row[0] == "badgeNumber") for row in _CUSTOM_FIELDS]
        rows += _MORE_CUSTOM_FIELDS
        if future_types:
            rows.append(FUTURE_CUSTOM_FIELD)
        #: Every definition, as ``/custom-field-definitions`` lists them.
        self.custom_definitions = tuple(
            CustomFieldDefinition(
                rid(5000 + i), api, name, kind, opts, tuple(rid(5500 + 20 * i + k) for k in range(len(opts))),
                model, enabled, sensitive, f"{name} ({kind.lower().replace('_', ' ')})",
            )
            for i, (api, name, kind, opts, model, enabled, sensitive) in enumerate(rows)
        )
        #: The enabled person fields every person carries; ``job_custom_fields`` likewise for jobs.
        self.custom_fields = tuple(d for d in self.custom_definitions if d.model_type == "PERSON" and d.enabled)
        self.job_custom_fields = tuple(d for d in self.custom_definitions if d.model_type == "JOB" and d.enabled)
        self.custom_by_api = {d.api_name: d for d in self.custom_fields}
        self.pay_grade_id = rid(6000)
        self.establishment_id = rid(7000)
        self.employment_condition_id = rid(8000)
        self.job_change_reason_id = rid(9000)

    # --- API shapes -------------------------------------------------------------------------------

    def business_unit_json(self, unit: BusinessUnit) -> dict[str, Any]:
        return {
            "id": unit.id,
            "identifier": unit.identifier,
            "name": unit.name,
            "code": unit.code,
            "notes": unit.notes,
            "parentId": unit.parent_id,
            "isEnabled": True,
            "customFields": {},
        }

    def location_json(self, loc: Location) -> dict[str, Any]:
        return {
            "id": loc.id,
            "parentId": None,
            "name": loc.name,
            "code": loc.code,
            "address": loc.address,
            "isEnabled": True,
            "representatives": [],
            "customFields": {},
        }

    def custom_definition_json(self, d: CustomFieldDefinition) -> dict[str, Any]:
        definitions: dict[str, Any] = {}
        if d.options:
            definitions = {"options": [{"id": i, "label": o} for i, o in zip(d.option_ids, d.options, strict=True)]}
        return {
            "id": d.id,
            "name": d.name,
            "apiName": d.api_name,
            "isEnabled": d.enabled,
            "isSensitive": d.sensitive,
            "modelType": d.model_type,
            "type": d.type,
            "description": d.description,
            "definitions": definitions,
        }

    def position_title_json(self, pos: PositionTitle) -> dict[str, Any]:
        return {"id": pos.id, "name": pos.name, "isEnabled": True, "code": pos.code}
