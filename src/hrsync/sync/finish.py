"""Ending a run: its counts and issues recorded, its final status set, its administrator told.

:func:`finish_run` is the one place a run ends (applied, held, dry, failed) and the one place the
sync layer asks :mod:`hrsync.notify` for the run's summary e-mail, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from hrsync.domain import CurrentMember, MemberDraft, RecordIssue, Severity, SyncPlan
from hrsync.domain.display import name_of
from hrsync.domain.plan_types import NOT_LOADED, ChangeKind
from hrsync.notify.outbox import queue_run_summary
from hrsync.store.bulk import insert_rows
from hrsync.store.models import ImportIssue, ImportRun, Member, RunPhase, RunStatus
from hrsync.store.types import IN_CHUNK, utcnow
from hrsync.sync.runs import RunOutcome


def core_table(model: type[Any]) -> Table:
    """The Core table of a model: bulk inserts through Core skip the ORM's per-row bookkeeping."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def record_counts(run: ImportRun, plan: SyncPlan) -> None:
    """The plan's counts on the run row (what the pages, e-mails and API show)."""
    for key, value in plan.counts().items():
        setattr(run, key, value)
    run.ignored = plan.ignored_count
    run.processed = plan.source_count
    run.total = plan.source_count


#: What happened to each person read, in the order the review page explains it.
PEOPLE_KEYS = ("created", "updated", "unchanged", "leavers", "reinstated", "pending", "ignored", "skipped")
_PEOPLE_KEY = {
    ChangeKind.CREATE: "created", ChangeKind.UPDATE: "updated", ChangeKind.LEAVER: "leavers",
    ChangeKind.REINSTATE: "reinstated", ChangeKind.PENDING: "pending",
}


def people_read(plan: SyncPlan) -> dict[str, int]:
    """Each person the source returned, counted once by what the plan does with them.

    Unlike :meth:`SyncPlan.counts` (which counts issues, one person may have two errors) this
    counts **people**: ``skipped`` is the distinct people with an error, ``ignored`` the inactive
    people who were never members. ``read`` is how many the source returned, and
    ``vanished_leavers`` the members made leavers although nobody read carries them (they are
    not among the people read). The other keys add up to ``read`` unless the plan lost someone.
    """
    result = dict.fromkeys(PEOPLE_KEYS, 0)
    result["unchanged"] = plan.unchanged_count
    result["ignored"] = plan.ignored_count
    vanished = 0
    for change in plan.changes:
        if change.draft is None:
            vanished += 1
        else:
            result[_PEOPLE_KEY.get(change.kind, "unchanged")] += 1
    result["skipped"] = len({
        issue.source_id or f"employee {issue.employee_id}"
        for issue in plan.issues if issue.severity == Severity.ERROR
    })
    return {**result, "read": plan.source_count, "vanished_leavers": vanished}


def store_issues(session: Session, run_id: int, issues: Iterable[RecordIssue]) -> None:
    """Replace the run's record issues (errors and warnings) with ``issues``.

    Each keeps the name of the person it is about (the error file shows it beside the employee ID):
    as the issue carries it (named from the source record, see :func:`name_issues`), else the
    stored member's with that employee ID (warnings raised while applying).
    """
    session.execute(delete(ImportIssue).where(ImportIssue.run_id == run_id))
    issues = list(issues)
    stored = _stored_names(session, run_id, {i.employee_id for i in issues if not i.person_name and i.employee_id})
    rows = [
        {
            "run_id": run_id, "severity": i.severity.value, "employee_id": i.employee_id,
            "source_id": i.source_id, "field": i.field, "code": i.code, "message": i.message,
            "person_name": (i.person_name or stored.get(i.employee_id or "") or None),
        }
        for i in issues
    ]
    if rows:
        insert_rows(session, core_table(ImportIssue), rows)


_NAME_MAX = 255  # import_issue.person_name


def name_issues(
    issues: Iterable[RecordIssue],
    name: str | None = None,
    *,
    drafts: Iterable[MemberDraft] = (),
    current: Iterable[CurrentMember] = (),
) -> list[RecordIssue]:
    """``issues`` with the name of the person each is about, composed by :mod:`hrsync.domain.display`:
    ``name`` (read from the source record itself), else the draft made from the same record, else
    the member it points at. An issue already named keeps its name."""
    issues = list(issues)
    if name:
        return [i if i.person_name else replace(i, person_name=name[:_NAME_MAX]) for i in issues]
    wanted = {i.source_id for i in issues if not i.person_name and i.source_id}
    if not wanted:
        return issues
    found = {d.source_id: n for d in drafts if d.source_id in wanted and (n := name_of(d.values))}
    for m in current:  # a member settled by fingerprint has no values here: store_issues names it
        if m.values is NOT_LOADED or m.source_id not in wanted or m.source_id in found:
            continue
        if n := name_of(m.values):
            found[m.source_id] = n
    return [
        replace(i, person_name=found[i.source_id][:_NAME_MAX]) if not i.person_name and i.source_id in found else i
        for i in issues
    ]


def _stored_names(session: Session, run_id: int, employee_ids: set[str | None]) -> dict[str, str]:
    ids = [e for e in employee_ids if e]
    if not ids:
        return {}
    run = session.get(ImportRun, run_id)
    assert run is not None
    found = {}
    for i in range(0, len(ids), IN_CHUNK):
        rows = session.execute(
            select(Member.employee_id, Member.first_name, Member.last_name, Member.attributes)
            .where(Member.programme_id == run.programme_id, Member.employee_id.in_(ids[i:i + IN_CHUNK]))
        )
        for employee_id, first, last, attributes in rows:
            n = name_of({**(attributes or {}), "first_name": first, "last_name": last})
            if n and employee_id:
                found[employee_id] = n[:_NAME_MAX]
    return found


def finish_run(
    session: Session,
    run: ImportRun,
    status: RunStatus,
    *,
    reason: str | None = None,
    failure_code: str | None = None,
    plan: dict[str, Any] | None = None,
) -> RunOutcome:
    """Set the run's final status (a held run is not finished yet: no ``finished_at``), keep
    ``plan`` (a held plan or a dry run's preview), and queue the run's summary e-mail."""
    run.status = status.value
    run.phase = RunPhase.DONE.value
    run.reason = reason
    run.failure_code = failure_code
    run.plan = plan
    run.finished_at = None if status == RunStatus.HELD else utcnow()
    session.flush()
    queue_run_summary(session, run)
    return RunOutcome.of(run)
