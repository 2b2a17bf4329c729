"""A field the source could not read becomes a warning naming it, for mapped fields only."""

from __future__ import annotations

from hrsync.domain.records import UNREADABLE_VALUE, Severity, build_draft
from hrsync.sources.base import Lifecycle, SourcePerson

MAPPING = {"employee_id": "employeeNumber", "email": "primaryEmailAddress", "custom.rating": "custom.wellbeing"}


def person(problems: dict[str, str]) -> SourcePerson:
    values = {"employeeNumber": "E1", "primaryEmailAddress": "a@example.com"}
    return SourcePerson("p1", "Current Staff", Lifecycle.ACTIVE, values, field_problems=problems)


def test_a_mapped_unreadable_field_is_a_warning_naming_it_and_the_person_is_imported() -> None:
    draft, issues = build_draft(person({"custom.wellbeing": "intelliHR sent the custom field 'Wellbeing'"}), MAPPING)
    assert draft is not None and "custom.rating" not in draft.values  # left out, not blanked
    assert [(i.severity, i.code, i.field) for i in issues] == [(Severity.WARNING, UNREADABLE_VALUE, "custom.rating")]
    assert "'Wellbeing'" in issues[0].message and issues[0].employee_id == "E1"


def test_unmapped_unreadable_fields_and_clean_people_give_no_warning() -> None:
    assert build_draft(person({"custom.other": "x"}), MAPPING)[1] == []
    assert build_draft(person({}), MAPPING)[1] == []
