from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from hrsync.domain.display import (
    DELETED_NAME,
    NO_NAME,
    display_name,
    field_label,
    field_text,
    given_name,
    member_name,
    name_of,
    shown_date_format,
    sort_name,
    source_name,
)

parts = st.one_of(st.none(), st.just(""), st.text(max_size=12).filter(lambda t: "None" not in t))


def test_missing_parts_are_left_out_never_none() -> None:
    assert display_name("Élodie", None) == "Élodie"
    assert display_name(None, "Williams") == "Williams"
    assert display_name("Élodie", "Martin", "Lo") == "Lo Martin"
    assert sort_name("Élodie", "Martin") == "Martin, Élodie"
    assert sort_name(None, "Williams") == "Williams"
    assert display_name() == sort_name() == ""


@given(parts, parts, parts)
def test_no_name_ever_reads_none(first: str | None, last: str | None, preferred: str | None) -> None:
    for name in (display_name(first, last, preferred), sort_name(first, last, preferred)):
        assert "None" not in name
        assert name == name.strip()


def test_labels_are_human() -> None:
    assert field_label("start_date") == "Start date"
    assert field_label("custom.costcentre") == "Costcentre"
    assert field_label("custom.cost_centre") == "Cost centre"


def test_intellihr_api_names_and_record_fields_read_as_words() -> None:
    assert field_label("custom.costCentre") == "Cost centre"
    assert field_label("custom.job_shiftPattern") == "Job shift pattern"
    assert field_label("custom.payrollID") == "Payroll ID"
    assert field_label("employment_status") == "Employment status"
    assert field_label("access_until") == "Access until"


def test_dates_show_in_the_chosen_format_and_nothing_is_blank_text() -> None:
    assert field_text("date_of_birth", "1990-03-06", "DD/MM/YYYY") == "06/03/1990"
    assert field_text("start_date", date(2024, 1, 2), "MM/DD/YYYY") == "01/02/2024"
    assert field_text("access_until", date(2024, 1, 2), "DD/MM/YYYY") == "02/01/2024"
    assert field_text("custom.costCentre", "1990-03-06", "DD/MM/YYYY") == "1990-03-06"  # text, not a date field
    assert field_text("date_of_birth", "not a date", "DD/MM/YYYY") == "not a date"
    assert field_text("department", None, "DD/MM/YYYY") == ""


def test_the_programmes_date_format_is_the_one_its_integrations_agree_on() -> None:
    assert shown_date_format("DD/MM/YYYY", ["MM/DD/YYYY", "MM/DD/YYYY"]) == "MM/DD/YYYY"
    assert shown_date_format("DD/MM/YYYY", ["MM/DD/YYYY", "YYYY-MM-DD"]) == "DD/MM/YYYY"
    assert shown_date_format("YYYY-MM-DD", []) == "YYYY-MM-DD"
    assert shown_date_format(None) == "DD/MM/YYYY"


def test_names_from_a_source_record_a_draft_and_a_stored_member() -> None:
    mapping = {"employee_id": "employeeNumber", "first_name": "firstName", "last_name": "lastName"}
    assert source_name({"firstName": " Élodie ", "lastName": None}, mapping) == "Élodie"
    assert source_name({"firstName": "Élodie"}, {"employee_id": "employeeNumber"}) == ""
    assert name_of({"first_name": "William", "last_name": "Williams", "preferred_name": "Bill"}) == "Bill Williams"
    assert member_name(None, "Williams", {}, sort=True) == "Williams"
    assert member_name("Élodie", "Martin", {"preferred_name": "Lo"}, sort=True) == "Martin, Lo"
    assert member_name(None, None, None) == NO_NAME
    assert member_name("Élodie", None, None, deleted=True) == DELETED_NAME
    assert given_name("Élodie", "Lo") == "Lo" and given_name(None, "") == ""
