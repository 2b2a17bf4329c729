"""Small builders for domain tests: people as a source delivers them, members as stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from hrsync.domain.fields import DEFAULT_MAPPING
from hrsync.domain.plan_types import CurrentMember, PlanOptions, SyncPlan
from hrsync.domain.planner import plan_sync
from hrsync.domain.records import MemberDraft, RecordIssue, build_draft
from hrsync.domain.vocabulary import MemberStatus
from hrsync.sources.base import Lifecycle, SourcePerson

TODAY = date(2025, 6, 30)

STATUS_OF = {
    Lifecycle.ACTIVE: "Current Staff",
    Lifecycle.PENDING: "Upcoming Staff",
    Lifecycle.INACTIVE: "Past Staff",
}


def person(
    employee_id: str | None,
    email: str | None,
    *,
    lifecycle: Lifecycle = Lifecycle.ACTIVE,
    source_id: str | None = None,
    job_start: date | None = None,
    job_end: date | None = None,
    first: str | None = "Ada",
    last: str | None = "Lovelace",
    **extra: str | None,
) -> SourcePerson:
    values: dict[str, str | None] = {
        "employeeNumber": employee_id,
        "primaryEmailAddress": email,
        "firstName": first,
        "lastName": last,
    }
    values.update({k.replace("__", "."): v for k, v in extra.items()})
    return SourcePerson(
        source_id=source_id or f"src-{employee_id}",
        employment_status=STATUS_OF[lifecycle],
        lifecycle=lifecycle,
        values=values,
        job_start_date=job_start,
        job_end_date=job_end,
    )


def member(
    member_id: int,
    employee_id: str,
    email: str,
    status: MemberStatus = MemberStatus.ACTIVE,
    *,
    source_id: str | None = "same",
    leaver_since: date | None = None,
    **values: str | None,
) -> CurrentMember:
    stored: dict[str, str | None] = {"first_name": "Ada", "last_name": "Lovelace"}
    stored.update(values)
    return CurrentMember(
        id=member_id,
        employee_id=employee_id,
        email=email,
        status=status,
        values=stored,
        source_id=f"src-{employee_id}" if source_id == "same" else source_id,
        leaver_since=leaver_since,
    )


def drafts_of(
    people: Iterable[SourcePerson], mapping: Mapping[str, str] = DEFAULT_MAPPING
) -> tuple[list[MemberDraft], list[RecordIssue]]:
    drafts: list[MemberDraft] = []
    issues: list[RecordIssue] = []
    for p in people:
        draft, found = build_draft(p, mapping)
        if draft is not None:
            drafts.append(draft)
        issues.extend(found)
    return drafts, issues


def plan(
    current: Iterable[CurrentMember],
    people: Iterable[SourcePerson],
    mapping: Mapping[str, str] = DEFAULT_MAPPING,
    **options: object,
) -> SyncPlan:
    drafts, issues = drafts_of(people, mapping)
    opts = PlanOptions(today=TODAY, **options)  # type: ignore[arg-type]
    return plan_sync(current, drafts, issues, opts)


def only_change(result: SyncPlan):  # type: ignore[no-untyped-def]
    assert len(result.changes) == 1, result.changes
    return result.changes[0]


def codes(result: SyncPlan) -> list[tuple[str, str, str | None]]:
    return [(i.severity.value, i.code, i.employee_id) for i in result.issues]
