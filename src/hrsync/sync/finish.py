"""Ending a run: its counts and issues recorded, its final status set, its administrator told.

:func:`finish_run` is the one place a run ends (applied, held, dry, failed) and the one place the
sync layer asks :mod:`hrsync.notify` for the run's summary e-mail, in the same transaction.

It is also where an integration's health follows its imports (issue 16, :func:`record_health`):
configuration failures in a row quarantine it, transient ones bring the next attempt forward, a
success resets both (decision 0030).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from hrsync.domain import CurrentMember, MemberDraft, RecordIssue, Severity, SyncPlan
from hrsync.domain.display import name_of
from hrsync.domain.failures import FailureKind, failure
from hrsync.domain.plan_types import NOT_LOADED, ChangeKind
from hrsync.domain.schedule import next_attempt_after_transient, next_run_for
from hrsync.notify.outbox import queue_quarantine_notice, queue_run_summary
from hrsync.store.activity import record as record_activity
from hrsync.store.bulk import insert_rows
from hrsync.store.enums import IntegrationStatus, RunTrigger
from hrsync.store.locks import hold_row
from hrsync.store.models import ImportIssue, ImportRun, Integration, Member, RunPhase, RunStatus
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
    run.excluded = plan.excluded_count
    run.processed = plan.source_count
    run.total = plan.source_count


#: What happened to each person read, in the order the review page explains it.
PEOPLE_KEYS = ("created", "updated", "unchanged", "leavers", "reinstated", "pending", "excluded", "ignored",
               "skipped")
_PEOPLE_KEY = {
    ChangeKind.CREATE: "created", ChangeKind.UPDATE: "updated", ChangeKind.LEAVER: "leavers",
    ChangeKind.REINSTATE: "reinstated", ChangeKind.PENDING: "pending",
}


def people_read(plan: SyncPlan) -> dict[str, int]:
    """Each person the source returned, counted once by what the plan does with them.

    Unlike :meth:`SyncPlan.counts` (which counts issues, one person may have two errors) this
    counts **people**: ``skipped`` is the distinct people with an error, ``ignored`` the inactive
    people who were never members, ``excluded`` those the scoping rules left out who were never
    members. ``read`` is how many the source returned, and ``vanished_leavers`` the members made
    leavers although nobody read carries them (they are not among the people read). The other keys
    add up to ``read`` unless the plan lost someone.
    """
    result = dict.fromkeys(PEOPLE_KEYS, 0)
    result["unchanged"] = plan.unchanged_count
    result["ignored"] = plan.ignored_count
    result["excluded"] = plan.excluded_count
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
    record_health(session, run)
    return RunOutcome.of(run)


log = logging.getLogger(__name__)

#: Runs that say something about the integration's configuration: whole imports, however started.
#: Previews (dry runs), one-person imports and undos do not count and reset nothing.
HEALTH_TRIGGERS = frozenset({RunTrigger.SCHEDULE.value, RunTrigger.MANUAL.value, RunTrigger.CLI.value,
                             RunTrigger.API.value})
#: A held run read the whole source: the key and the account work.
_READ_THE_SOURCE = frozenset({RunStatus.SUCCEEDED.value, RunStatus.SUCCEEDED_WITH_ERRORS.value, RunStatus.HELD.value})
QUARANTINED_ACTION = "quarantined"
LIFTED_ACTION = "quarantine_lifted"
BACKOFF_ACTION = "retry_brought_forward"


def _quarantine_after() -> int:
    from hrsync.config import get_settings  # read when used: the tests change the environment

    return get_settings().quarantine_after


def record_health(session: Session, run: ImportRun, *, now: datetime | None = None) -> None:
    """Follow the integration's health after ``run`` ended, in the run's transaction.

    * succeeded or held (the source was read): both failure streaks reset; a quarantine is lifted;
      a back-off is over, so the next import is the regular slot;
    * failed for a **configuration** reason: the streak grows; at ``HRSYNC_QUARANTINE_AFTER`` a live
      integration is quarantined (no scheduled import until lifted) and every owner and administrator
      is e-mailed once;
    * failed for a **transient** reason: never counts towards quarantine; the next attempt comes
      after the back-off step (5, 15, 45 minutes, …), never later than the regular slot;
    * failed **internally** (hrsync's own fault): the schedule stays as it is and nothing counts.
    """
    if run.dry_run or run.trigger not in HEALTH_TRIGGERS:
        return
    integration = hold_row(session, Integration, run.integration_id)  # counters: no lost update
    if integration is None:
        return
    now = now or utcnow()
    if run.status in _READ_THE_SOURCE:
        backed_off = integration.consecutive_transient_failures > 0
        integration.consecutive_config_failures = 0
        integration.consecutive_transient_failures = 0
        if integration.quarantined_at is not None:
            lift_quarantine(session, integration, admin_id=run.triggered_by_id, how="import_succeeded",
                            run_id=run.id, now=now)
        elif backed_off:
            integration.next_run_at = next_run_for(integration, integration.programme, after=now)
        return
    if run.status != RunStatus.FAILED.value:
        return
    kind = failure(run.failure_code).kind
    if kind == FailureKind.CONFIGURATION:
        integration.consecutive_transient_failures = 0
        integration.consecutive_config_failures += 1
        streak = integration.consecutive_config_failures
        if (integration.quarantined_at is None and streak >= _quarantine_after()
                and integration.status == IntegrationStatus.LIVE.value):
            _quarantine(session, integration, run, streak, now)
    elif kind == FailureKind.TRANSIENT:  # breaks a configuration streak: those are counted in a row
        integration.consecutive_config_failures = 0
        integration.consecutive_transient_failures += 1
        if integration.quarantined_at is None:
            integration.next_run_at = next_attempt_after_transient(
                integration, integration.programme, integration.consecutive_transient_failures, now=now)
            if integration.next_run_at is not None:
                record_activity(session, programme_id=integration.programme_id, integration_id=integration.id,
                                action=BACKOFF_ACTION, detail={
                                    "run_id": run.id, "failures": integration.consecutive_transient_failures,
                                    "next_run_at": integration.next_run_at.isoformat()})


def _quarantine(session: Session, integration: Integration, run: ImportRun, streak: int, now: datetime) -> None:
    integration.quarantined_at = now
    integration.next_run_at = None
    record_activity(session, programme_id=integration.programme_id, integration_id=integration.id,
                    action=QUARANTINED_ACTION,
                    detail={"run_id": run.id, "failures": streak, "failure_code": run.failure_code})
    queued = queue_quarantine_notice(session, integration, run, streak)
    log.warning("integration %s quarantined after %s configuration failures (%s); %s e-mail(s) queued",
                integration.id, streak, run.failure_code, queued)


def lift_quarantine(
    session: Session, integration: Integration, *, admin_id: int | None, how: str, run_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """End the integration's quarantine (``how``: ``reauthorized`` or ``import_succeeded``): the failure
    streaks reset and a live integration is scheduled again. ``False`` when it was not quarantined."""
    if integration.quarantined_at is None:
        return False
    integration.quarantined_at = None
    integration.consecutive_config_failures = 0
    integration.consecutive_transient_failures = 0
    integration.next_run_at = next_run_for(integration, integration.programme, after=now or utcnow())
    detail: dict[str, Any] = {"how": how}
    if run_id is not None:
        detail["run_id"] = run_id
    record_activity(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=admin_id, action=LIFTED_ACTION, detail=detail)
    return True
