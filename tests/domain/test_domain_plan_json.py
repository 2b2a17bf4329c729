"""A held plan is stored as JSON and applied later: it must come back exactly as it was."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrsync.domain.plan_types import ChangeKind, PlannedChange, SyncPlan
from hrsync.domain.records import MemberDraft, RecordIssue, Severity
from hrsync.domain.vocabulary import MemberStatus
from hrsync.sources.base import Lifecycle

from .domain_builders import TODAY, member, person, plan

text = st.text(max_size=12)
opt_text = st.none() | text
opt_date = st.none() | st.dates()

drafts = st.builds(
    MemberDraft,
    source_id=text,
    employee_id=text,
    email=text,
    lifecycle=st.sampled_from(Lifecycle),
    employment_status=text,
    values=st.dictionaries(text, opt_text, max_size=4),
    start_date=opt_date,
    leaving_date=opt_date,
)
issues = st.builds(
    RecordIssue,
    severity=st.sampled_from(Severity),
    code=text,
    message=text,
    field=opt_text,
    employee_id=opt_text,
    source_id=opt_text,
)
changes = st.builds(
    PlannedChange,
    kind=st.sampled_from(ChangeKind),
    employee_id=text,
    member_id=st.none() | st.integers(0, 2**53),
    draft=st.none() | drafts,
    changes=st.dictionaries(text, st.tuples(opt_text, opt_text), max_size=4),
    new_status=st.none() | st.sampled_from(MemberStatus),
    leaving_date=opt_date,
)
plans = st.builds(
    SyncPlan,
    changes=st.lists(changes, max_size=4),
    unchanged_count=st.integers(0, 10**6),
    issues=st.lists(issues, max_size=4),
    source_count=st.integers(0, 10**6),
    ignored_count=st.integers(0, 10**6),
    unchanged_member_ids=st.lists(st.integers(0, 2**53), max_size=4),
)


@settings(max_examples=150)
@given(plans)
def test_any_plan_round_trips_through_json_text(original: SyncPlan) -> None:
    stored = json.dumps(original.to_json(), ensure_ascii=False)
    restored = SyncPlan.from_json(json.loads(stored))
    assert restored == original
    assert restored.counts() == original.counts()


def test_a_real_plan_round_trips_with_its_dates_statuses_and_changes() -> None:
    original = plan(
        [
            member(1, "L", "l@x.org"),
            member(2, "R", "r@x.org", MemberStatus.LEAVER, leaver_since=TODAY - timedelta(days=5)),
        ],
        [
            person("L", "l@x.org", lifecycle=Lifecycle.INACTIVE, job_end=date(2025, 6, 1)),
            person("R", "R@x.org", last="Byron"),
            person("N", "n@x.org", first="B0b"),
        ],
    )
    restored = SyncPlan.from_json(json.loads(json.dumps(original.to_json())))
    assert restored == original
    leaver = restored.changes[0]
    assert leaver.leaving_date == date(2025, 5, 31) and leaver.new_status is MemberStatus.LEAVER
    assert isinstance(restored.changes[1].changes["email"], tuple)


def test_a_plan_of_an_unknown_format_is_refused() -> None:
    stored = plan([], []).to_json()
    stored["format"] = 99
    with pytest.raises(ValueError, match="Unsupported plan format"):
        SyncPlan.from_json(stored)
