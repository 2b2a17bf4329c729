"""The planner: each outcome of an import, its conflicts and its safeguards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hrsync.domain.plan_types import ChangeKind, CurrentMember, PlanOptions
from hrsync.domain.planner import plan_sync
from hrsync.domain.records import RecordIssue, Severity
from hrsync.domain.vocabulary import MemberStatus
from hrsync.sources.base import Lifecycle

from .domain_builders import TODAY, codes, member, only_change, person, plan

ACTIVE, PENDING, INACTIVE = Lifecycle.ACTIVE, Lifecycle.PENDING, Lifecycle.INACTIVE
M = MemberStatus

COUNT_KEYS = {"created", "updated", "unchanged", "leavers", "reinstated", "pending", "errors", "warnings"}


# -- new people -----------------------------------------------------------------------------------


def test_a_new_active_person_is_created_invited_when_welcome_emails_are_on() -> None:
    result = plan([], [person("E1", "Ada@Example.com")])
    change = only_change(result)
    assert (change.kind, change.employee_id, change.member_id, change.new_status) == (
        ChangeKind.CREATE,
        "E1",
        None,
        M.INVITED,
    )
    assert change.draft is not None and change.draft.email == "Ada@Example.com"
    assert change.changes == {"status": (None, "invited")}
    assert change.draft.values == {"first_name": "Ada", "last_name": "Lovelace"}
    assert result.counts()["created"] == 1


def test_a_new_active_person_is_created_active_when_welcome_emails_are_off() -> None:
    change = only_change(plan([], [person("E1", "a@example.com")], welcome_email=False))
    assert (change.kind, change.new_status) == (ChangeKind.CREATE, M.ACTIVE)


def test_a_pre_hire_is_created_pending_with_its_start_date() -> None:
    result = plan([], [person("E1", "a@example.com", lifecycle=PENDING, job_start=date(2025, 8, 1))])
    change = only_change(result)
    assert (change.kind, change.new_status) == (ChangeKind.PENDING, M.PENDING)
    assert change.draft is not None and change.draft.start_date == date(2025, 8, 1)
    assert result.counts()["pending"] == 1 and result.counts()["created"] == 0


def test_an_inactive_stranger_is_ignored_but_counted() -> None:
    result = plan([], [person("E1", "a@example.com", lifecycle=INACTIVE)])
    assert result.changes == [] and result.issues == []
    assert result.ignored_count == 1
    assert result.source_count == 1


# -- existing members -----------------------------------------------------------------------------


def test_an_unchanged_member_is_only_counted() -> None:
    result = plan([member(7, "E1", "a@example.com")], [person("E1", "a@example.com")])
    assert result.changes == []
    assert (result.unchanged_count, result.unchanged_member_ids) == (1, [7])
    assert result.counts()["unchanged"] == 1


def test_a_changed_field_is_an_update_with_field_level_changes() -> None:
    result = plan([member(7, "E1", "a@example.com")], [person("E1", "a@example.com", last="Byron")])
    change = only_change(result)
    assert (change.kind, change.member_id, change.new_status) == (ChangeKind.UPDATE, 7, None)
    assert change.changes == {"last_name": ("Lovelace", "Byron")}


def test_an_email_change_under_the_same_employee_id_updates_and_never_duplicates() -> None:
    result = plan([member(7, "E1", "old@example.com")], [person("E1", "new@example.com")])
    change = only_change(result)
    assert (change.kind, change.member_id) == (ChangeKind.UPDATE, 7)
    assert change.changes == {"email": ("old@example.com", "new@example.com")}
    assert result.issues == []


def test_a_case_only_email_change_updates_the_spelling_without_conflict() -> None:
    change = only_change(plan([member(7, "E1", "ada@example.com")], [person("E1", "Ada@Example.com")]))
    assert change.changes == {"email": ("ada@example.com", "Ada@Example.com")}


def test_a_new_source_record_relinks_the_member() -> None:
    change = only_change(
        plan(
            [member(7, "E1", "a@example.com", source_id=None)],
            [person("E1", "a@example.com", source_id="uuid-1")],
        )
    )
    assert change.changes == {"source_id": (None, "uuid-1")}


def test_blank_source_values_do_not_wipe_stored_values() -> None:
    result = plan([member(7, "E1", "a@example.com")], [person("E1", "a@example.com", last=None)])
    assert result.changes == [] and result.unchanged_count == 1


def test_blank_source_values_clear_stored_values_when_the_integration_says_so() -> None:
    result = plan(
        [member(7, "E1", "a@example.com")],
        [person("E1", "a@example.com", last="  ")],
        blanks_clear_values=True,
    )
    assert only_change(result).changes == {"last_name": ("Lovelace", None)}


def test_an_invalid_value_never_clears_even_when_blanks_clear() -> None:
    result = plan(
        [member(7, "E1", "a@example.com")],
        [person("E1", "a@example.com", last="L0velace")],
        blanks_clear_values=True,
    )
    assert result.changes == [] and result.unchanged_count == 1
    assert codes(result) == [("warning", "invalid_name", "E1")]


def test_a_pending_member_whose_person_starts_is_invited() -> None:
    change = only_change(plan([member(7, "E1", "a@example.com", M.PENDING)], [person("E1", "a@example.com")]))
    assert (change.kind, change.new_status) == (ChangeKind.UPDATE, M.INVITED)
    assert change.changes == {"status": ("pending", "invited")}


def test_a_pending_member_whose_person_starts_is_activated_without_welcome_emails() -> None:
    change = only_change(
        plan(
            [member(7, "E1", "a@example.com", M.PENDING)],
            [person("E1", "a@example.com")],
            welcome_email=False,
        )
    )
    assert (change.kind, change.new_status) == (ChangeKind.UPDATE, M.ACTIVE)


def test_a_pending_member_still_pending_is_unchanged() -> None:
    result = plan([member(7, "E1", "a@example.com", M.PENDING)], [person("E1", "a@example.com", lifecycle=PENDING)])
    assert result.changes == [] and result.unchanged_count == 1


def test_a_member_whose_hr_status_turns_pending_keeps_access_and_gets_updates() -> None:
    change = only_change(
        plan(
            [member(7, "E1", "a@example.com")],
            [person("E1", "a@example.com", lifecycle=PENDING, last="Byron")],
        )
    )
    assert (change.kind, change.new_status) == (ChangeKind.UPDATE, None)
    assert "status" not in change.changes


# -- leavers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [M.ACTIVE, M.INVITED, M.PENDING])
def test_an_inactive_person_makes_the_member_a_leaver_on_the_last_day_of_the_job(
    status: MemberStatus,
) -> None:
    result = plan(
        [member(7, "E1", "a@example.com", status)],
        [person("E1", "a@example.com", lifecycle=INACTIVE, job_end=date(2025, 4, 24), last="X")],
    )
    change = only_change(result)
    assert (change.kind, change.member_id, change.new_status) == (ChangeKind.LEAVER, 7, M.LEAVER)
    assert change.leaving_date == date(2025, 4, 23)
    assert change.changes == {"status": (status.value, "leaver")}  # other fields are not touched
    assert result.counts()["leavers"] == 1


def test_a_leaver_without_a_job_end_date_leaves_today() -> None:
    change = only_change(plan([member(7, "E1", "a@example.com")], [person("E1", "a@example.com", lifecycle=INACTIVE)]))
    assert change.leaving_date == TODAY


def test_a_leaver_still_inactive_is_unchanged() -> None:
    result = plan(
        [member(7, "E1", "a@example.com", M.LEAVER, leaver_since=TODAY - timedelta(days=3))],
        [person("E1", "a@example.com", lifecycle=INACTIVE)],
    )
    assert result.changes == [] and result.unchanged_count == 1


# -- reinstatement --------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, 1, 59, 60])
def test_a_leaver_active_again_within_the_window_is_reinstated(days: int) -> None:
    result = plan(
        [member(7, "E1", "a@example.com", M.LEAVER, leaver_since=TODAY - timedelta(days=days))],
        [person("E1", "a@example.com")],
    )
    change = only_change(result)
    assert (change.kind, change.member_id, change.new_status) == (ChangeKind.REINSTATE, 7, M.ACTIVE)
    assert change.changes == {"status": ("leaver", "active")}
    assert result.issues == []
    assert result.counts()["reinstated"] == 1


def test_a_leaver_active_after_the_window_but_not_deleted_is_reinstated_with_a_warning() -> None:
    result = plan(
        [member(7, "E1", "a@example.com", M.LEAVER, leaver_since=TODAY - timedelta(days=61))],
        [person("E1", "a@example.com")],
    )
    assert only_change(result).kind is ChangeKind.REINSTATE
    assert codes(result) == [("warning", "reinstated_after_window", "E1")]


def test_the_window_length_is_an_option() -> None:
    result = plan(
        [member(7, "E1", "a@example.com", M.LEAVER, leaver_since=TODAY - timedelta(days=11))],
        [person("E1", "a@example.com")],
        leaver_window_days=10,
    )
    assert codes(result) == [("warning", "reinstated_after_window", "E1")]


def test_a_reinstated_member_gets_field_changes_too() -> None:
    change = only_change(
        plan([member(7, "E1", "a@example.com", M.LEAVER)], [person("E1", "b@example.com", last="Byron")])
    )
    assert change.changes == {
        "email": ("a@example.com", "b@example.com"),
        "last_name": ("Lovelace", "Byron"),
        "status": ("leaver", "active"),
    }


def test_a_leaver_rehired_with_a_future_start_is_reinstated_as_pending() -> None:
    change = only_change(
        plan(
            [member(7, "E1", "a@example.com", M.LEAVER, leaver_since=TODAY)],
            [person("E1", "a@example.com", lifecycle=PENDING)],
        )
    )
    assert (change.kind, change.new_status) == (ChangeKind.REINSTATE, M.PENDING)


# -- vanished members -----------------------------------------------------------------------------


def test_a_member_missing_from_the_directory_is_a_warning_not_a_leaver() -> None:
    result = plan([member(7, "E1", "a@example.com"), member(8, "E2", "b@example.com")], [person("E1", "a@example.com")])
    assert result.changes == []
    assert codes(result) == [("warning", "vanished", "E2")]
    assert result.counts()["leavers"] == 0 and result.counts()["warnings"] == 1


def test_vanished_members_become_leavers_today_when_the_integration_says_so() -> None:
    result = plan([member(8, "E2", "b@example.com", M.INVITED)], [], vanished_are_leavers=True)
    change = only_change(result)
    assert (change.kind, change.member_id, change.employee_id, change.draft) == (
        ChangeKind.LEAVER,
        8,
        "E2",
        None,
    )
    assert change.leaving_date == TODAY
    assert result.issues == []


def test_a_vanished_leaver_is_expected_and_says_nothing() -> None:
    result = plan([member(8, "E2", "b@example.com", M.LEAVER)], [], vanished_are_leavers=True)
    assert result.changes == [] and result.issues == []


def test_deleted_members_passed_in_by_mistake_are_treated_as_gone() -> None:
    result = plan([member(8, "E1", "a@example.com", M.DELETED)], [person("E1", "a@example.com")])
    assert only_change(result).kind is ChangeKind.CREATE


# -- conflicts ------------------------------------------------------------------------------------


def test_duplicate_employee_ids_in_the_import_skip_every_copy_and_spare_the_member() -> None:
    result = plan(
        [member(7, "E1", "a@example.com")],
        [
            person("E1", "a@example.com", source_id="s1"),
            person("E1", "b@example.com", source_id="s2", lifecycle=INACTIVE),
        ],
    )
    assert result.changes == [] and result.unchanged_count == 0
    assert codes(result) == [("error", "duplicate_employee_id", "E1")] * 2
    assert "used by 2 people" in result.issues[0].message
    assert result.counts()["errors"] == 2


def test_strangers_the_scoping_rules_left_out_are_counted_as_excluded_not_as_inactive() -> None:
    from .domain_builders import drafts_of

    people = [person("E1", "a@example.com", lifecycle=INACTIVE), person("E2", "b@example.com", lifecycle=INACTIVE),
              person("E3", "c@example.com", lifecycle=INACTIVE), person("E4", "d@example.com", lifecycle=INACTIVE)]
    drafts, issues = drafts_of(people)
    current = [member(1, "E3", "c@example.com")]  # a member left out by the rules becomes a leaver
    result = plan_sync(current, drafts, issues, PlanOptions(today=TODAY), out_of_scope={"src-E2", "src-E3", "src-E4"})
    assert (result.ignored_count, result.excluded_count) == (1, 2)
    assert [(c.kind, c.employee_id) for c in result.changes] == [(ChangeKind.LEAVER, "E3")]
    assert type(result).from_json(result.to_json()).excluded_count == 2  # a held plan keeps it
    assert plan_sync([], drafts, issues, PlanOptions(today=TODAY)).ignored_count == 4  # without rules: inactive


def test_duplicate_ids_of_inactive_strangers_are_ignored_quietly() -> None:
    result = plan(
        [],
        [
            person("E1", "a@example.com", source_id="s1", lifecycle=INACTIVE),
            person("E1", "a@example.com", source_id="s2", lifecycle=INACTIVE),
        ],
    )
    assert result.changes == [] and result.issues == [] and result.ignored_count == 2


def test_a_copy_skipped_for_a_record_error_still_makes_the_id_a_duplicate() -> None:
    result = plan([], [person("E1", "a@example.com", source_id="s1"), person("E1", "bad", source_id="s2")])
    assert result.changes == []
    assert codes(result) == [("error", "invalid_email", "E1"), ("error", "duplicate_employee_id", "E1")]


def test_duplicate_emails_in_the_import_compared_without_case_skip_every_copy() -> None:
    result = plan([], [person("E1", "Ada@Example.com"), person("E2", "ada@example.COM"), person("E3", "c@x.org")])
    assert [c.employee_id for c in result.changes] == ["E3"]
    assert codes(result) == [("error", "duplicate_email", "E1"), ("error", "duplicate_email", "E2")]
    assert "'E2'" in result.issues[0].message


def test_two_people_claiming_one_email_are_duplicates_even_if_one_holds_it_today() -> None:
    result = plan(
        [member(7, "E1", "a@example.com"), member(8, "E2", "b@example.com")],
        [person("E1", "a@example.com"), person("E2", "A@example.com")],
    )
    assert result.changes == [] and result.unchanged_count == 0
    assert codes(result) == [("error", "duplicate_email", "E1"), ("error", "duplicate_email", "E2")]


def test_a_new_person_with_an_email_held_by_a_leaver_is_skipped() -> None:
    result = plan([member(7, "E1", "a@example.com", M.LEAVER)], [person("E2", "a@example.com")])
    assert result.changes == []
    assert codes(result) == [("error", "email_taken", "E2")]
    assert "'E1'" in result.issues[0].message


def test_an_email_held_by_a_vanished_member_is_taken() -> None:
    result = plan([member(7, "E1", "a@example.com")], [person("E2", "a@example.com")])
    assert result.changes == []
    assert codes(result) == [("error", "email_taken", "E2"), ("warning", "vanished", "E1")]


def test_an_email_held_by_a_member_who_leaves_is_still_taken() -> None:
    result = plan(
        [member(7, "E1", "a@example.com")],
        [person("E1", "a@example.com", lifecycle=INACTIVE), person("E2", "a@example.com")],
    )
    assert [c.kind for c in result.changes] == [ChangeKind.LEAVER]
    assert codes(result) == [("error", "email_taken", "E2")]


def test_two_members_swapping_emails_is_fine() -> None:
    result = plan(
        [member(7, "E1", "a@example.com"), member(8, "E2", "b@example.com")],
        [person("E1", "b@example.com"), person("E2", "a@example.com")],
    )
    assert result.issues == []
    assert [(c.kind, c.changes) for c in result.changes] == [
        (ChangeKind.UPDATE, {"email": ("a@example.com", "b@example.com")}),
        (ChangeKind.UPDATE, {"email": ("b@example.com", "a@example.com")}),
    ]


def test_an_email_freed_by_a_member_moving_away_can_be_taken_by_a_new_person() -> None:
    result = plan([member(7, "E1", "a@example.com")], [person("E1", "a2@example.com"), person("E2", "a@example.com")])
    assert result.issues == []
    assert [c.kind for c in result.changes] == [ChangeKind.UPDATE, ChangeKind.CREATE]


def test_when_the_member_moving_away_is_itself_skipped_its_old_email_stays_taken() -> None:
    # E1 wants c@, which E3 keeps: E1 is skipped, so a@ stays E1's and E2 cannot have it.
    result = plan(
        [member(7, "E1", "a@example.com"), member(9, "E3", "c@example.com")],
        [person("E2", "a@example.com"), person("E1", "c@example.com"), person("E3", "c@example.com")],
    )
    assert {(s, c, e) for s, c, e in codes(result)} == {
        ("error", "duplicate_email", "E1"),
        ("error", "duplicate_email", "E3"),
    } | {("error", "email_taken", "E2")}
    assert result.changes == []


def test_a_cascade_of_releases_is_resolved() -> None:
    # E1 → b@ (E2's), E2 → c@ (held by leaver E3): E2 is skipped, so b@ stays E2's and E1 is skipped too.
    result = plan(
        [
            member(1, "E1", "a@example.com"),
            member(2, "E2", "b@example.com"),
            member(3, "E3", "c@example.com", M.LEAVER),
        ],
        [person("E1", "b@example.com"), person("E2", "c@example.com")],
    )
    assert codes(result) == [("error", "email_taken", "E2"), ("error", "email_taken", "E1")]
    assert result.changes == []


def test_an_inactive_person_does_not_claim_an_email_so_rehires_under_a_new_id_work() -> None:
    result = plan([], [person("OLD", "a@example.com", lifecycle=INACTIVE), person("NEW", "a@example.com")])
    assert result.issues == []
    assert [(c.kind, c.employee_id) for c in result.changes] == [(ChangeKind.CREATE, "NEW")]


def test_a_record_error_for_a_members_person_never_makes_it_a_leaver_or_vanished() -> None:
    result = plan([member(7, "E1", "a@example.com")], [person("E1", "not an email")], vanished_are_leavers=True)
    assert result.changes == []
    assert codes(result) == [("error", "invalid_email", "E1")]


def test_a_person_with_a_blank_id_is_matched_to_its_member_by_source_id_for_protection() -> None:
    result = plan(
        [member(7, "E1", "a@example.com", source_id="uuid-1")],
        [person(None, "a@example.com", source_id="uuid-1")],
        vanished_are_leavers=True,
    )
    assert result.changes == []
    assert codes(result) == [("error", "missing_employee_id", None)]


def test_a_conflicting_existing_member_is_neither_a_leaver_nor_vanished() -> None:
    result = plan(
        [member(7, "E1", "a@example.com", M.LEAVER), member(8, "E2", "b@example.com")],
        [person("E2", "a@example.com")],
        vanished_are_leavers=True,
    )
    assert result.changes == [] and result.unchanged_count == 0
    assert codes(result) == [("error", "email_taken", "E2")]


# -- the plan as a whole --------------------------------------------------------------------------


def test_counts_have_exactly_the_documented_keys_and_add_up() -> None:
    current = [
        member(1, "U", "u@x.org"),
        member(2, "C", "c@x.org"),
        member(3, "L", "l@x.org"),
        member(4, "R", "r@x.org", M.LEAVER, leaver_since=TODAY),
        member(5, "V", "v@x.org"),
    ]
    people = [
        person("U", "u@x.org"),
        person("C", "c@x.org", last="New"),
        person("L", "l@x.org", lifecycle=INACTIVE),
        person("R", "r@x.org"),
        person("N", "n@x.org"),
        person("P", "p@x.org", lifecycle=PENDING),
        person("I", "i@x.org", lifecycle=INACTIVE),
        person("W", "w@x.org", first="B0b"),
        person(None, "e@x.org", source_id="broken"),
    ]
    result = plan(current, people)
    counts = result.counts()
    assert set(counts) == COUNT_KEYS
    assert counts == {
        "created": 2,
        "updated": 1,
        "unchanged": 1,
        "leavers": 1,
        "reinstated": 1,
        "pending": 1,
        "errors": 1,
        "warnings": 2,
    }
    assert result.ignored_count == 1
    assert result.source_count == len(people)


def test_source_count_can_be_given_by_the_caller() -> None:
    opts = PlanOptions(today=TODAY)
    assert plan_sync([], [], [], opts, source_count=42).source_count == 42
    skipped = [
        RecordIssue(Severity.ERROR, "missing_email", "m", "email", "E1", "s1"),
        RecordIssue(Severity.ERROR, "invalid_email", "m", "email", None, "s1"),
    ]
    assert plan_sync([], [], skipped, opts).source_count == 1


def test_record_issues_are_carried_into_the_plan_first() -> None:
    result = plan([member(8, "E2", "b@example.com")], [person("E1", "a@example.com", first="B0b")])
    assert codes(result) == [("warning", "invalid_name", "E1"), ("warning", "vanished", "E2")]


def test_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        PlanOptions(today=TODAY, leaver_window_days=-1)


def test_a_large_directory_plans_exactly() -> None:
    n = 20_000
    current = [
        CurrentMember(i, f"E{i}", f"p{i}@x.org", M.ACTIVE, {"first_name": "Ada", "last_name": "Lovelace"}, f"src-E{i}")
        for i in range(n)
    ]
    people = [
        person(
            f"E{i}",
            f"p{i}@x.org",
            lifecycle=INACTIVE if i % 100 == 0 else ACTIVE,
            last="Byron" if i % 20 == 1 else "Lovelace",
        )
        for i in range(n)
    ] + [person(f"N{i}", f"n{i}@x.org") for i in range(200)]
    counts = plan(current, people).counts()
    assert counts == {
        "created": 200,
        "updated": 1000,
        "unchanged": n - 1000 - 200,
        "leavers": 200,
        "reinstated": 0,
        "pending": 0,
        "errors": 0,
        "warnings": 0,
    }
