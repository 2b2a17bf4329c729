"""One person → one member draft: the membership rules of domain.md §4."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrsync.domain.fields import DEFAULT_MAPPING
from hrsync.domain.records import MemberDraft, RecordIssue, Severity, ValuePool, build_draft, compile_mapping
from hrsync.sources.base import Lifecycle

from .domain_builders import person

FULL = {
    **DEFAULT_MAPPING,
    "preferred_name": "preferredName",
    "gender": "gender",
    "date_of_birth": "dateOfBirth",
    "phone": "primaryPhoneNumber",
    "job_title": "job.positionTitle",
    "postcode": "address.postcode",
    "address": "address.fullAddress",
    "custom.tshirt": "custom.tShirtSize",
}


def draft_of(**values: str | None) -> tuple[MemberDraft | None, list[RecordIssue]]:
    """A person with one or more extra source values, drafted with the full mapping."""
    return build_draft(person("E1", "ada@example.com", **values), FULL)


def value_of(field: str, source_key: str, raw: str | None) -> tuple[str | None, list[RecordIssue]]:
    p = person("E1", "ada@example.com")
    p = type(p)(p.source_id, p.employment_status, p.lifecycle, {**p.values, source_key: raw})
    draft, issues = build_draft(p, FULL)
    assert draft is not None
    return draft.values.get(field, "<absent>"), issues


# -- the keys: Employee ID and Email -------------------------------------------------------------


def test_a_valid_person_becomes_a_draft_without_issues() -> None:
    draft, issues = build_draft(person("E1", "Ada.Lovelace@Example.com", source_id="uuid-1"), DEFAULT_MAPPING)
    assert issues == []
    assert draft == MemberDraft(
        source_id="uuid-1",
        employee_id="E1",
        email="Ada.Lovelace@Example.com",
        lifecycle=Lifecycle.ACTIVE,
        employment_status="Current Staff",
        values={"first_name": "Ada", "last_name": "Lovelace"},
    )


def test_email_is_stored_as_given_and_compared_lower_cased() -> None:
    draft, _ = build_draft(person("E1", " Ada@Example.COM "), DEFAULT_MAPPING)
    assert draft is not None
    assert draft.email == "Ada@Example.COM"
    assert draft.email_key == "ada@example.com"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_employee_id_is_an_error_and_the_person_is_skipped(blank: str | None) -> None:
    draft, issues = build_draft(person(blank, "ada@example.com", source_id="uuid-9"), DEFAULT_MAPPING)
    assert draft is None
    assert [(i.severity, i.code, i.field, i.source_id) for i in issues] == [
        (Severity.ERROR, "missing_employee_id", "employee_id", "uuid-9")
    ]


def test_blank_email_is_an_error_and_the_person_is_skipped() -> None:
    draft, issues = build_draft(person("E1", None), DEFAULT_MAPPING)
    assert draft is None
    assert [(i.severity, i.code, i.employee_id) for i in issues] == [(Severity.ERROR, "missing_email", "E1")]


def test_an_email_the_source_does_not_deliver_is_blank() -> None:
    p = person("E1", "x@example.com")
    p = type(p)(p.source_id, p.employment_status, p.lifecycle, {"employeeNumber": "E1"})
    draft, issues = build_draft(p, DEFAULT_MAPPING)
    assert draft is None and issues[0].code == "missing_email"


@pytest.mark.parametrize(
    "bad",
    [
        "plain",
        "a@b",
        "a@@b.com",
        "a b@c.com",
        "a@b.c",
        ".a@b.com",
        "a.@b.com",
        "a..b@c.com",
        "a@-b.com",
        "a@b_c.com",
        "a@b.123",
        "a@b..com",
        "ada@example.com.",
        '"a"@b.com',
        "a" * 65 + "@example.com",
    ],
)
def test_invalid_emails_are_errors(bad: str) -> None:
    draft, issues = build_draft(person("E1", bad), DEFAULT_MAPPING)
    assert draft is None
    assert [(i.severity, i.code, i.field) for i in issues] == [(Severity.ERROR, "invalid_email", "email")]


def test_email_with_angle_brackets_is_an_error_for_illegal_characters() -> None:
    draft, issues = build_draft(person("E1", "<ada@example.com>"), DEFAULT_MAPPING)
    assert draft is None
    assert [(i.code, i.field) for i in issues] == [("illegal_characters", "email")]


@pytest.mark.parametrize(
    "good",
    [
        "a@b.co",
        "first.last+tag@sub.example.com",
        "o'brien@example.ie",
        "x_y-z@example-mail.com.au",
        "user@xn--bcher-kva.example",
        "josé@exämple.de",
        "用户@例子.广告",
    ],
)
def test_valid_emails_are_accepted(good: str) -> None:
    draft, issues = build_draft(person("E1", good), DEFAULT_MAPPING)
    assert issues == [] and draft is not None and draft.email == good


def test_email_of_exactly_200_characters_is_accepted_and_201_refused() -> None:
    domain = "@" + "d" * 60 + "." + "e" * 60 + "." + "f" * 14 + ".com"
    local = "a" * (200 - len(domain))
    assert len(local) <= 64
    ok, _ = build_draft(person("E1", local + domain), DEFAULT_MAPPING)
    assert ok is not None
    draft, issues = build_draft(person("E1", "a" + local + domain), DEFAULT_MAPPING)
    assert draft is None
    assert [i.code for i in issues] == ["too_long"]


def test_employee_id_with_markup_is_an_error() -> None:
    draft, issues = build_draft(person("<E1>", "ada@example.com"), DEFAULT_MAPPING)
    assert draft is None and [i.code for i in issues] == ["illegal_characters"]


def test_both_keys_broken_reports_both_errors_at_once() -> None:
    draft, issues = build_draft(person(None, "not-an-email"), DEFAULT_MAPPING)
    assert draft is None
    assert [(i.severity, i.code) for i in issues] == [
        (Severity.ERROR, "missing_employee_id"),
        (Severity.ERROR, "invalid_email"),
    ]


def test_employee_id_is_trimmed_and_keeps_its_case() -> None:
    draft, _ = build_draft(person("  e-001 ", "ada@example.com"), DEFAULT_MAPPING)
    assert draft is not None and draft.employee_id == "e-001"


# -- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Anne-Marie",
        "O'Brien",
        "O’Brien",
        "J. R. R.",
        "José",
        "Zoë",
        "Nguyễn",
        "Søren",
        "Σωκράτης",
        "Владимир",
        "山田",
        "김민준",
        "محمد",
        "אברהם",
        "अनिल",  # Devanagari with a vowel sign (a combining mark)
        "สมชาย",  # Thai with combining vowels
        "محمد\u200cرضا",  # Persian with a zero-width non-joiner
        "Ngũgĩ wa Thiong’o",
    ],
)
def test_names_in_any_script_with_spaces_hyphens_dots_and_apostrophes_are_accepted(name: str) -> None:
    draft, issues = build_draft(person("E1", "ada@example.com", first=name, last=name), DEFAULT_MAPPING)
    assert issues == []
    assert draft is not None
    assert draft.values == {"first_name": name, "last_name": name}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("John3", "invalid_name"),
        ("Bob_", "invalid_name"),
        ("-", "invalid_name"),
        ("...", "invalid_name"),
        ("Ada 😀", "invalid_name"),
        ("<b>Ada</b>", "invalid_name"),
        ("Ada\x00", "invalid_name"),
        ("Ada & Co", "invalid_name"),
        ("x" * 51, "too_long"),
    ],
)
def test_invalid_names_are_warnings_and_the_person_is_imported_without_them(name: str, code: str) -> None:
    draft, issues = build_draft(person("E1", "ada@example.com", first=name), DEFAULT_MAPPING)
    assert draft is not None
    assert "first_name" not in draft.values  # absent, not blank
    assert draft.values["last_name"] == "Lovelace"
    assert [(i.severity, i.code, i.field, i.employee_id) for i in issues] == [
        (Severity.WARNING, code, "first_name", "E1")
    ]
    assert "imported without it" in issues[0].message


def test_names_of_exactly_50_characters_are_accepted() -> None:
    draft, issues = build_draft(person("E1", "ada@example.com", first="x" * 50), DEFAULT_MAPPING)
    assert issues == [] and draft is not None and draft.values["first_name"] == "x" * 50


def test_names_are_normalised_nfc_and_whitespace_collapsed() -> None:
    decomposed = unicodedata.normalize("NFD", "José")
    assert decomposed != "José"
    draft, issues = build_draft(
        person("E1", "ada@example.com", first=decomposed, last="  Van\u00a0 der\tBerg "), DEFAULT_MAPPING
    )
    assert issues == [] and draft is not None
    assert draft.values == {"first_name": "José", "last_name": "Van der Berg"}


def test_a_long_invalid_value_is_shortened_in_the_message() -> None:
    _, issues = build_draft(person("E1", "ada@example.com", first="y" * 500), DEFAULT_MAPPING)
    assert len(issues[0].message) < 200


# -- other values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Male", "Male"),
        ("female", "Female"),
        ("Non-binary", "Non-binary"),
        ("Not specified", "Not specified"),
        ("Other", "Not specified"),
        ("Undisclosed", "Not specified"),
    ],
)
def test_genders_map_to_the_platforms_four_values(raw: str, stored: str) -> None:
    assert value_of("gender", "gender", raw) == (stored, [])


def test_an_unknown_gender_is_a_warning() -> None:
    value, issues = value_of("gender", "gender", "Alien")
    assert value == "<absent>"
    assert [(i.severity, i.code) for i in issues] == [(Severity.WARNING, "invalid_gender")]


def test_dates_stay_iso_text() -> None:
    assert value_of("date_of_birth", "dateOfBirth", "1990-07-14") == ("1990-07-14", [])


@pytest.mark.parametrize("raw", ["14/07/1990", "1990-02-30", "1850-01-01"])
def test_invalid_dates_are_warnings(raw: str) -> None:
    value, issues = value_of("date_of_birth", "dateOfBirth", raw)
    assert value == "<absent>" and [i.code for i in issues] == ["invalid_date"]


@pytest.mark.parametrize("raw", ["+61 400 000 000", "(07) 3000-1234", "0400.000.000", "555-1234 ext. 12"])
def test_phone_numbers_are_accepted(raw: str) -> None:
    assert value_of("phone", "primaryPhoneNumber", raw) == (raw, [])


@pytest.mark.parametrize("raw", ["call me", "12", "+61 400 <b>", "1" * 31])
def test_invalid_phone_numbers_are_warnings(raw: str) -> None:
    value, issues = value_of("phone", "primaryPhoneNumber", raw)
    assert value == "<absent>" and len(issues) == 1 and issues[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("<script>x</script>", "illegal_characters"),
        ("Dev\x07Ops", "illegal_characters"),
        ("x" * 101, "too_long"),
    ],
)
def test_text_with_markup_control_characters_or_too_long_is_a_warning(raw: str, code: str) -> None:
    value, issues = value_of("job_title", "job.positionTitle", raw)
    assert value == "<absent>"
    assert [(i.severity, i.code, i.field) for i in issues] == [(Severity.WARNING, code, "job_title")]


def test_text_whitespace_is_collapsed_to_one_line() -> None:
    assert value_of("address", "address.fullAddress", " 1 George St\n Brisbane\tQLD ") == (
        "1 George St Brisbane QLD",
        [],
    )


def test_extra_attributes_are_bounded_text() -> None:
    assert value_of("custom.tshirt", "custom.tShirtSize", "XL") == ("XL", [])
    value, issues = value_of("custom.tshirt", "custom.tShirtSize", "x" * 256)
    assert value == "<absent>" and issues[0].code == "too_long"


# -- blank versus absent --------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [None, "", " \t "])
def test_blank_optional_values_are_none(blank: str | None) -> None:
    assert value_of("postcode", "address.postcode", blank) == (None, [])


def test_values_the_source_does_not_deliver_are_absent_not_blank() -> None:
    draft, _ = build_draft(person("E1", "ada@example.com"), FULL)
    assert draft is not None
    assert "job_title" not in draft.values
    assert set(draft.values) == {"first_name", "last_name"}


# -- dates from the job ---------------------------------------------------------------------------


def test_leaving_date_is_the_day_before_the_exclusive_job_end() -> None:
    draft, _ = build_draft(
        person(
            "E1",
            "a@example.com",
            lifecycle=Lifecycle.INACTIVE,
            job_start=date(2020, 1, 6),
            job_end=date(2025, 4, 24),
        ),
        DEFAULT_MAPPING,
    )
    assert draft is not None
    assert draft.start_date == date(2020, 1, 6)
    assert draft.leaving_date == date(2025, 4, 23)


def test_start_date_falls_back_to_a_mapped_start_date() -> None:
    draft, _ = build_draft(
        person("E1", "a@example.com", job__startDate="2024-09-02"),
        {**DEFAULT_MAPPING, "start_date": "job.startDate"},
    )
    assert draft is not None and draft.start_date == date(2024, 9, 2) and draft.leaving_date is None


# -- the mapping itself ---------------------------------------------------------------------------


def test_a_mapping_without_email_is_a_configuration_error_not_a_record_error() -> None:
    with pytest.raises(ValueError, match="Email is not mapped"):
        build_draft(person("E1", "a@example.com"), {"employee_id": "employeeNumber"})
    with pytest.raises(ValueError, match="not a member field"):
        compile_mapping({**DEFAULT_MAPPING, "nickname": "firstName"})


def test_a_compiled_mapping_drafts_the_same_as_the_plain_one() -> None:
    p = person("E1", "a@example.com", gender="Female", dateOfBirth="1990-01-01")
    assert build_draft(p, compile_mapping(FULL)) == build_draft(p, FULL)


def test_any_source_field_can_feed_a_member_field() -> None:
    mapping = {"employee_id": "custom.payrollId", "email": "primaryEmailAddress", "department": "custom.cc"}
    draft, issues = build_draft(person(None, "a@example.com", custom__payrollId="P-7", custom__cc="Sales"), mapping)
    assert issues == [] and draft is not None
    assert (draft.employee_id, draft.values) == ("P-7", {"department": "Sales"})


# -- one copy of each repeated value (issue 27) ----------------------------------------------------


def _copy(text: str) -> str:
    """An equal string that is a different object, as each decoded page makes its own."""
    return "".join(list(text))


def test_drafts_drafted_with_a_pool_share_their_repeated_values() -> None:
    pool = ValuePool()
    drafts = []
    for i, family in enumerate(["Hoàng", "Trần", "Hoàng"]):
        p = person(f"E{i}", f"p{i}@example.com", first=_copy("Ngọc"), last=_copy(family),
                   job_start=date(2021, 12, 4), jobTitle=_copy("Engineer"))
        p = type(p)(p.source_id, _copy(p.employment_status), p.lifecycle, p.values, date(2021, 12, 4))
        draft, _ = build_draft(p, {**DEFAULT_MAPPING, "job_title": "jobTitle"}, pool=pool)
        assert draft is not None
        drafts.append(draft)
    first, second, third = drafts
    assert first.values["first_name"] is second.values["first_name"] is third.values["first_name"]
    assert first.values["job_title"] is third.values["job_title"]
    assert first.employment_status is third.employment_status
    assert first.start_date is third.start_date
    assert first.values["last_name"] is third.values["last_name"] == "Hoàng"
    assert second.values["last_name"] == "Trần"
    alone, _ = build_draft(person("E9", "p9@example.com", first=_copy("Ngọc")), DEFAULT_MAPPING)
    assert alone is not None and alone.values["first_name"] is not first.values["first_name"]


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.one_of(st.text(max_size=3), st.dates(),
                                                                    st.integers(0, 3), st.booleans())),
                max_size=40))
def test_the_pool_gives_back_an_equal_value_of_the_same_type(values: list[tuple[str, object]]) -> None:
    pool = ValuePool()
    for field, value in values:
        kept = pool.share(field, value)
        assert kept == value and type(kept) is type(value)  # True is never handed out for 1


def test_the_pool_stops_remembering_a_field_of_distinct_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ValuePool, "LIMIT", 4)
    pool = ValuePool()
    phones = [pool.share("phone", _copy(f"+61 4{i:08d}")) for i in range(10)]
    again = [pool.share("phone", _copy(p)) for p in phones]
    assert [a is p for a, p in zip(again, phones, strict=True)] == [True] * 4 + [False] * 6
    assert pool.share("title", "Engineer") == "Engineer"  # another field has its own table
