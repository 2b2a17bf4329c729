"""The member fields and the mapping rules."""

from __future__ import annotations

from hrsync.domain.fields import (
    DEFAULT_MAPPING,
    MEMBER_FIELDS,
    FieldKind,
    is_extra_attribute,
    mapping_needs_job_details,
    member_field,
    validate_mapping,
)

EXPECTED_FIELDS = {
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "preferred_name",
    "gender",
    "date_of_birth",
    "start_date",
    "job_title",
    "department",
    "location",
    "manager",
    "phone",
    "address",
    "postcode",
    "country",
}


def test_member_fields_are_the_documented_set_each_with_a_label_and_a_bound() -> None:
    assert set(MEMBER_FIELDS) == EXPECTED_FIELDS
    for key, rule in MEMBER_FIELDS.items():
        assert rule.key == key
        assert rule.label and rule.max_length > 0
        assert isinstance(rule.kind, FieldKind)


def test_only_employee_id_and_email_are_required() -> None:
    assert {k for k, f in MEMBER_FIELDS.items() if f.required} == {"employee_id", "email"}


def test_email_and_names_have_the_membership_rule_lengths() -> None:
    assert MEMBER_FIELDS["email"].max_length == 200
    assert MEMBER_FIELDS["first_name"].max_length == 50
    assert MEMBER_FIELDS["last_name"].max_length == 50


def test_default_mapping_is_valid_and_maps_the_documented_fields() -> None:
    assert DEFAULT_MAPPING == {
        "employee_id": "employeeNumber",
        "email": "primaryEmailAddress",
        "first_name": "firstName",
        "last_name": "lastName",
    }
    assert validate_mapping(DEFAULT_MAPPING) == []


def test_mapping_without_email_is_refused_in_words() -> None:
    problems = validate_mapping({"employee_id": "employeeNumber", "first_name": "firstName"})
    assert len(problems) == 1
    assert problems[0].startswith("Email must be mapped")


def test_mapping_without_employee_id_is_refused() -> None:
    problems = validate_mapping({"email": "primaryEmailAddress", "employee_id": " "})
    assert len(problems) == 1
    assert "Employee ID must be mapped" in problems[0]


def test_unknown_target_is_refused_so_typos_do_not_become_attributes() -> None:
    problems = validate_mapping({**DEFAULT_MAPPING, "frist_name": "firstName"})
    assert len(problems) == 1
    assert "'frist_name' is not a member field" in problems[0]


def test_custom_targets_are_extra_attributes() -> None:
    assert validate_mapping({**DEFAULT_MAPPING, "custom.tshirt_size": "custom.tShirtSize"}) == []
    assert is_extra_attribute("custom.tshirt_size")
    rule = member_field("custom.tshirt_size")
    assert rule.kind is FieldKind.TEXT and rule.max_length == 255


def test_malformed_custom_targets_are_refused() -> None:
    for target in ("custom.", "custom.1abc", "custom.a-b", "custom.a.b"):
        assert not is_extra_attribute(target)
        assert validate_mapping({**DEFAULT_MAPPING, target: "firstName"}), target


def test_any_member_field_can_take_any_source_field_including_custom_fields() -> None:
    mapping = {
        **DEFAULT_MAPPING,
        "department": "custom.costCentre",
        "location": "job.location",
        "preferred_name": "firstName",
    }
    assert (
        validate_mapping(
            mapping,
            [
                "employeeNumber",
                "primaryEmailAddress",
                "firstName",
                "lastName",
                "custom.costCentre",
                "job.location",
            ],
        )
        == []
    )


def test_source_fields_the_hr_system_does_not_offer_are_refused() -> None:
    problems = validate_mapping(
        {**DEFAULT_MAPPING, "gender": "sex"},
        ["employeeNumber", "primaryEmailAddress", "firstName", "lastName", "gender"],
    )
    assert problems == ["Gender is mapped from 'sex', which the HR system does not offer."]


def test_a_target_with_a_blank_source_is_refused() -> None:
    assert validate_mapping({**DEFAULT_MAPPING, "gender": ""}) == [
        "Gender has no source field; choose one or remove the line."
    ]


def test_job_details_are_needed_only_for_fields_that_live_on_jobs() -> None:
    assert not mapping_needs_job_details(DEFAULT_MAPPING)
    assert not mapping_needs_job_details({**DEFAULT_MAPPING, "start_date": "job.startDate"})
    assert not mapping_needs_job_details({**DEFAULT_MAPPING, "job_title": "job.name"})
    assert mapping_needs_job_details({**DEFAULT_MAPPING, "job_title": "job.positionTitle"})
    assert mapping_needs_job_details({**DEFAULT_MAPPING, "manager": "job.manager"})
