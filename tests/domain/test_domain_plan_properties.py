"""Properties of the planner for any directory and any members (hypothesis):

* the order in which people arrive (pages, shifts, sorting) does not change what happens to anyone;
* every person read ends as exactly one outcome (a change, unchanged, skipped for an error, ignored);
* the resulting members keep one employee ID and one address (without case) each;
* a held plan approved against unchanged members applies exactly as planned.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import hypothesis.strategies as st
from hypothesis import given, settings

from hrsync.domain import (
    ChangeKind,
    CurrentMember,
    MemberStatus,
    PlanOptions,
    SyncPlan,
    plan_sync,
    recheck_held_plan,
)
from hrsync.domain.records import MemberDraft, RecordIssue, Severity
from hrsync.sources.base import Lifecycle

TODAY = date(2031, 3, 3)
EMPS = [f"E{i}" for i in range(8)]
EMAILS = ["a@x.test", "b@x.test", "c@x.test", "d@x.test", "A@X.test", "e@x.test"]


@st.composite
def members(draw: st.DrawFn) -> list[CurrentMember]:
    emps = draw(st.lists(st.sampled_from(EMPS), unique=True, max_size=6))
    emails = draw(st.lists(st.sampled_from(EMAILS), unique_by=str.lower, min_size=len(emps), max_size=len(emps)))
    result = []
    for n, (emp, email) in enumerate(zip(emps, emails, strict=False)):
        status = draw(st.sampled_from([s for s in MemberStatus if s != MemberStatus.DELETED]))
        result.append(CurrentMember(
            id=n + 1, employee_id=emp, email=email, status=status,
            values={"first_name": draw(st.sampled_from(["Ana", "Ben"])), "last_name": "Test"},
            source_id=draw(st.sampled_from([f"s{i}" for i in range(10)])),
            leaver_since=TODAY if status == MemberStatus.LEAVER else None,
        ))
    return result


@st.composite
def directory(draw: st.DrawFn) -> tuple[list[MemberDraft], list[RecordIssue]]:
    drafts = []
    issues = []
    for n in range(draw(st.integers(0, 9))):
        source_id = f"s{n}"
        if draw(st.integers(0, 9)) == 0:  # a record error: skipped before planning, with its issue
            emp = draw(st.sampled_from([*EMPS, None]))
            issues.append(RecordIssue(Severity.ERROR, "missing_email", "Email is blank", "email", emp, source_id))
            continue
        drafts.append(MemberDraft(
            source_id=source_id, employee_id=draw(st.sampled_from(EMPS)), email=draw(st.sampled_from(EMAILS)),
            lifecycle=draw(st.sampled_from(list(Lifecycle))), employment_status="Current Staff",
            values={"first_name": draw(st.sampled_from(["Ana", "Ben", None])), "last_name": "Test"},
        ))
    return drafts, issues


def _outcomes(plan: SyncPlan) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    changes = Counter(
        (c.kind, c.employee_id, c.member_id, tuple(sorted(c.changes.items())), c.new_status, c.leaving_date)
        for c in plan.changes
    )
    issues = Counter((i.code, i.source_id, i.employee_id) for i in plan.issues)
    return changes, issues


@settings(max_examples=400, deadline=None)
@given(current=members(), read=directory(), data=st.data(), by_record=st.booleans())
def test_the_order_people_arrive_in_changes_nothing(
    current: list[CurrentMember], read: tuple[list[MemberDraft], list[RecordIssue]], data: st.DataObject,
    by_record: bool,
) -> None:
    drafts, issues = read
    options = PlanOptions(today=TODAY, match_by_record=by_record)
    plan = plan_sync(current, drafts, issues, options)
    shuffled = plan_sync(data.draw(st.permutations(current)), data.draw(st.permutations(drafts)),
                         data.draw(st.permutations(issues)), options)
    assert _outcomes(shuffled) == _outcomes(plan)
    assert shuffled.counts() == plan.counts()
    assert sorted(shuffled.unchanged_member_ids) == sorted(plan.unchanged_member_ids)


@settings(max_examples=400, deadline=None)
@given(current=members(), read=directory(), by_record=st.booleans())
def test_every_person_read_ends_as_exactly_one_outcome_and_keys_stay_unique(
    current: list[CurrentMember], read: tuple[list[MemberDraft], list[RecordIssue]], by_record: bool
) -> None:
    """Also after a change of the key's field (people matched by HR record, ``match_by_record``)."""
    drafts, issues = read
    plan = plan_sync(current, drafts, issues, PlanOptions(today=TODAY, match_by_record=by_record))
    changed = Counter(c.draft.source_id for c in plan.changes if c.draft is not None)
    skipped = {i.source_id for i in plan.issues if i.severity == Severity.ERROR}
    assert all(n == 1 for n in changed.values())
    assert not set(changed) & skipped
    outcomes = len(changed) + plan.unchanged_count + len(skipped) + plan.ignored_count
    assert outcomes == plan.source_count == len(drafts) + len(issues)

    # the members after the plan: one employee ID and one address each
    final = {m.id: (m.employee_id, m.email.lower()) for m in current}
    for c in plan.changes:
        if c.draft is None:
            continue
        if c.member_id is None:
            final[-len(final) - 1] = (c.draft.employee_id, c.draft.email.lower())
        else:
            emp, email = final[c.member_id]
            final[c.member_id] = (
                c.changes.get("employee_id", (None, emp))[1],
                (c.changes.get("email", (None, email))[1] or email).lower(),
            )
    assert len({emp for emp, _ in final.values()}) == len(final)
    assert len({email for _, email in final.values()}) == len(final)


@settings(max_examples=200, deadline=None)
@given(current=members(), read=directory())
def test_a_held_plan_approved_against_unchanged_members_applies_as_planned(
    current: list[CurrentMember], read: tuple[list[MemberDraft], list[RecordIssue]]
) -> None:
    drafts, issues = read
    plan = SyncPlan.from_json(plan_sync(current, drafts, issues, PlanOptions(today=TODAY)).to_json())
    approved = recheck_held_plan(plan, current)
    assert approved.changes == plan.changes and approved.issues == plan.issues

    # and every change of a member deleted meanwhile is skipped with a warning
    gone = {c.member_id for c in plan.changes if c.member_id is not None}
    rest = recheck_held_plan(plan, [m for m in current if m.id not in gone])
    assert all(c.member_id is None or c.member_id not in gone for c in rest.changes)
    skipped = Counter(i.code for i in rest.issues) - Counter(i.code for i in plan.issues)
    assert skipped["held_change_skipped"] == len(plan.changes) - len(rest.changes)
    assert all(c.kind in (ChangeKind.CREATE, ChangeKind.PENDING) for c in rest.changes)
