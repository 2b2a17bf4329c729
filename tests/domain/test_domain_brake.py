"""The mass-change brake: hold imports that would close down too many members."""

from __future__ import annotations

from datetime import date

import pytest

from hrsync.domain.brake import check_brake
from hrsync.domain.plan_types import ChangeKind, PlannedChange, SyncPlan
from hrsync.domain.vocabulary import MemberStatus


def plan_with_leavers(leavers: int, source_count: int = 1000) -> SyncPlan:
    changes = [
        PlannedChange(
            ChangeKind.LEAVER,
            f"E{i}",
            i,
            None,
            {"status": ("active", "leaver")},
            MemberStatus.LEAVER,
            date(2025, 1, 1),
        )
        for i in range(leavers)
    ]
    changes.append(PlannedChange(ChangeKind.CREATE, "N", None, None, {}, MemberStatus.INVITED))
    return SyncPlan(changes=changes, unchanged_count=0, issues=[], source_count=source_count)


def test_leavers_exactly_at_the_threshold_are_not_held() -> None:
    assert not check_brake(plan_with_leavers(10), active_members=100, total_members=120).hold


def test_leavers_above_the_threshold_are_held_with_a_reason() -> None:
    decision = check_brake(plan_with_leavers(11), active_members=100, total_members=120)
    assert decision.hold
    assert decision.reason == (
        "This import would make 11 of 100 active members leavers (11.0%), more than the 10% limit; "
        "approve or reject it."
    )


def test_a_small_programme_below_the_minimum_is_not_held() -> None:
    assert not check_brake(plan_with_leavers(4), active_members=10, total_members=10).hold


def test_the_minimum_itself_is_held_when_above_the_threshold() -> None:
    assert check_brake(plan_with_leavers(5), active_members=10, total_members=10).hold


def test_the_threshold_and_minimum_are_per_integration() -> None:
    plan = plan_with_leavers(25)
    assert not check_brake(plan, active_members=200, total_members=200, threshold_pct=12.5).hold
    assert check_brake(plan_with_leavers(26), active_members=200, total_members=200, threshold_pct=12.5).hold
    assert not check_brake(
        plan_with_leavers(26), active_members=200, total_members=200, threshold_pct=12.5, minimum=30
    ).hold


def test_a_fractional_threshold_is_compared_exactly() -> None:
    # 9.2 % of 750 is exactly 69; in floats 9.2 * 750 is 6899.999999999999, just under 69 * 100.
    assert not check_brake(plan_with_leavers(69), active_members=750, total_members=750, threshold_pct=9.2).hold
    assert check_brake(plan_with_leavers(70), active_members=750, total_members=750, threshold_pct=9.2).hold


def test_an_empty_source_while_the_programme_has_members_is_held() -> None:
    decision = check_brake(plan_with_leavers(0, source_count=0), active_members=50, total_members=60)
    assert decision.hold and decision.reason is not None
    assert "returned nobody" in decision.reason and "60 members" in decision.reason


def test_an_empty_source_for_an_empty_programme_is_not_held() -> None:
    assert not check_brake(plan_with_leavers(0, source_count=0), active_members=0, total_members=0).hold


def test_no_leavers_is_never_held() -> None:
    decision = check_brake(plan_with_leavers(0), active_members=100, total_members=100)
    assert (decision.hold, decision.reason) == (False, None)


def test_leavers_with_no_active_members_are_held() -> None:
    assert check_brake(plan_with_leavers(5), active_members=0, total_members=5).hold


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        check_brake(plan_with_leavers(1), active_members=1, total_members=1, threshold_pct=-1)


def test_a_one_person_run_is_judged_by_its_own_change_not_as_an_empty_directory() -> None:
    nobody = SyncPlan(changes=[], unchanged_count=0, issues=[], source_count=0)
    assert check_brake(nobody, active_members=255, total_members=255).hold  # a whole import: held
    assert not check_brake(nobody, active_members=255, total_members=255, whole_directory=False).hold
    # its own leavers still count against the threshold and the minimum
    assert check_brake(plan_with_leavers(6, source_count=6), active_members=10, total_members=10,
                       whole_directory=False).hold
    assert not check_brake(plan_with_leavers(1, source_count=1), active_members=2, total_members=2,
                           whole_directory=False).hold
