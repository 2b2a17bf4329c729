"""The one rule of what a trace may show of a value (:mod:`hrsync.domain.masking`), case by case.

The routes that use it are proved end to end in ``tests/web/test_trace_masking.py``; here each reason
to hide a value, and the order they are given in, is pinned down."""

from __future__ import annotations

import pytest

from hrsync.domain.masking import BLANK, INVALID, PRESENT, Masking

MAPPING = {"employee_id": "employeeNumber", "email": "primaryEmailAddress", "first_name": "firstName",
           "phone": "custom.mobile", "custom.badge": "custom.badgeNumber", "custom.tshirt": "custom.tshirtSize",
           "country": "address.country", "job_title": "job.positionTitle"}
MARKS = {"sensitive": frozenset({"custom.badgeNumber", "employeeNumber"}),
         "personal": frozenset({"address.country", "dateOfBirth"})}


@pytest.mark.parametrize(("member", "target", "source", "why"), [
    (True, "employee_id", None, ""),  # the key is always shown, even if the source marks it sensitive
    (False, "email", None, ""),
    (False, "first_name", None, ""),  # names explain anyone's outcome
    (True, "custom.tshirt", None, ""),  # a member's plain mapped value: the member page shows it
    (False, "custom.tshirt", None, "not a member"),
    (False, "job_title", None, "not a member"),
    (True, "custom.badge", None, "sensitive in the HR system"),  # by the source's own flag
    (True, None, "custom.badgeNumber", "sensitive in the HR system"),
    (True, "phone", None, "personal"),  # a personal member field, whatever the source calls it
    (True, None, "custom.mobile", "personal"),
    (True, "country", None, "personal"),  # a source field the source marks personal
    (True, None, "dateOfBirth", "personal"),  # personal before "not mapped"
    (True, None, "custom.costCentre", "not mapped"),
    (True, None, "employeeNumber", ""),  # the source of the key
])
def test_each_reason_to_hide_a_value(member: bool, target: str | None, source: str | None, why: str) -> None:
    assert Masking(MAPPING, member=member, **MARKS).hidden_because(target, source) == why


def test_a_hidden_value_says_present_blank_or_invalid_and_a_shown_one_is_itself() -> None:
    rule = Masking(MAPPING, member=True, **MARKS)
    assert rule.show("0491 570 159", "phone") == PRESENT
    assert rule.show("  ", "phone") == BLANK and rule.show(None, "custom.tshirt") == BLANK
    assert rule.show("oops", "phone", invalid=True) == INVALID
    assert rule.show("XL", "custom.tshirt") == "XL"
    assert rule.row("XL", "custom.tshirt") == ("XL", "info", "")
    assert rule.row("0491", "phone") == (PRESENT, "masked", "personal")


def test_changes_and_messages_lose_hidden_values_only() -> None:
    rule = Masking(MAPPING, member=True, **MARKS)
    changes = {"phone": ("0400 000 000", "0491 570 159"), "custom.tshirt": (None, "XL"),
               "status": ("invited", "leaver")}
    assert rule.changes(changes) == {"phone": (PRESENT, PRESENT), "custom.tshirt": (None, "XL"),
                                     "status": ("invited", "leaver")}
    quoted = "Phone '0491 570 159x' is not a valid phone number; the person was imported without it."
    assert "0491" not in rule.says("phone", quoted)
    assert rule.says("custom.tshirt", "T-shirt 'XXXL' is not one of the options.") == \
        "T-shirt 'XXXL' is not one of the options."
