"""One import, from start to finish: read everything → plan → brake → apply once → report.

The order is the safety:

1. **Read** the whole directory through the source (retries live in the source). Nothing is
   written to members while reading, so a failed read changes no member.
2. **Plan** with the pure domain (:func:`hrsync.domain.plan_sync`) against the members as stored.
   Leavers are decided here, only after the whole directory was read.
3. **Brake**: a plan that would make too many leavers, or an empty directory for a programme
   with members, is **held** (plan stored, nothing applied) for an administrator.
4. **Apply** members, member events, record issues, invitations and the administrator's summary
   e-mail in **one transaction** (:mod:`hrsync.sync.apply`), then finish the run with exact counts.
   A crash before the commit leaves the database as it was; the run is then marked failed by
   whoever notices (this process, or the stale-run recovery of :mod:`hrsync.jobs`).

A **one-person run** (a trace applied, a webhook delivery: ``only=``) is this same run narrowed to
one person's people (:mod:`hrsync.sync.one_person`): its source reads only them, its plan keeps only
their part before the brake, and the brake judges that part alone. A trace explains the same read and
plan (:func:`read_and_plan`) without a run.

A run that fails stores why twice: a sentence for people (``reason``) and a code from the failure
table (``failure_code``, :mod:`hrsync.domain.failures`).
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain import (
    BrakeDecision,
    ChangeKind,
    CompiledMapping,
    CurrentMember,
    MemberDraft,
    MemberStatus,
    RecordIssue,
    SyncPlan,
    build_draft,
    check_brake,
    plan_sync,
)
from hrsync.domain.display import name_of, source_name
from hrsync.domain.failures import failure
from hrsync.domain.fields import needs_job_details
from hrsync.domain.fingerprint import Fingerprinter, settled_draft
from hrsync.domain.plan_types import StandInOutdated
from hrsync.domain.records import ValuePool
from hrsync.domain.scope_hints import closest, count_value
from hrsync.domain.scoping import NO_INCLUDE, Decision, scoped
from hrsync.errors import HrsyncError, ServiceError
from hrsync.logs import run_context
from hrsync.sources.base import Source, SourceError, SourcePerson
from hrsync.store.db import session_factory
from hrsync.store.enums import RunTrigger
from hrsync.store.locks import hold_row
from hrsync.store.models import ImportRun, RunPhase, RunStatus
from hrsync.store.types import utcnow
from hrsync.sync.apply import apply_plan
from hrsync.sync.context import RunContext, SourceFactory
from hrsync.sync.finish import finish_run, name_issues, people_read, record_counts, store_issues
from hrsync.sync.members import compact_members, with_values
from hrsync.sync.one_person import Narrowed, OnePerson
from hrsync.sync.progress import Heartbeat, NoProgress, Progress
from hrsync.sync.runs import HELD_PLAN_LIFETIME, RunOutcome, claim, request_run, worker_name

log = logging.getLogger(__name__)

GC_FREEZE_EVERY = 5_000  # people read between two moves of the kept drafts out of the GC's sight
PREVIEW_EXAMPLES = 5
TIME_LIMIT_REASON = (
    "The import ran past the worker's time limit (the read deadline HRSYNC_IMPORT_READ_DEADLINE plus time "
    "to plan and apply) and was stopped; no member was changed."
)
INTERNAL_REASON = "The import stopped on an internal error; no member was changed."
SINGLE_ORPHAN_REASON = (
    "A one-person import runs only from the trace that started it; trace the person again to apply it."
)


def execute_run(
    run_id: int,
    *,
    factory: sessionmaker[Session] | None = None,
    worker_id: str | None = None,
    source_factory: SourceFactory | None = None,
    skip_unchanged: bool = True,
    only: OnePerson | None = None,
    pace: Callable[[], None] | None = None,
) -> RunOutcome | None:
    """Run a queued import to its end. ``None`` when another worker already took it.

    ``factory`` opens the sessions of the run's database (default: the configured one);
    ``source_factory`` opens the source for the integration (default:
    :func:`hrsync.sources.registry.source_for`). ``skip_unchanged=False`` drafts every person in full
    instead of leaving those whose fingerprint matches unchanged (:mod:`hrsync.domain.fingerprint`);
    the outcome is the same either way (``tests/sync/test_fingerprint_equivalence.py``). ``only``
    narrows the run to one person (:mod:`hrsync.sync.one_person`, :func:`run_one_person`); a ``single``
    or ``webhook`` run without it fails, so a recovered or re-queued one never becomes a whole import.
    ``pace`` is called at each page boundary of the read and once between the plan and its apply
    (a large import gives way there: :mod:`hrsync.jobs.give_way`).
    """
    factory = factory or session_factory()
    if not claim(factory, run_id, worker_id or worker_name()):
        return None
    progress = Progress(factory, run_id, pace)
    heartbeat = Heartbeat(factory, run_id)
    heartbeat.start()
    try:
        with run_context(run_id):
            return _execute_logged(factory, run_id, progress, source_factory, skip_unchanged, only)
    finally:
        heartbeat.stop()


def _execute_logged(
    factory: sessionmaker[Session], run_id: int, progress: Progress, source_factory: SourceFactory | None,
    skip_unchanged: bool, only: OnePerson | None = None,
) -> RunOutcome:
    """Execute, and turn every way a run can stop short into a failed run with a reason and a code."""
    log.info("run %s started", run_id)
    try:
        outcome = _execute(factory, run_id, progress, source_factory, skip_unchanged, only)
        log.info("run %s finished: %s", run_id, outcome.status)
        return outcome
    except SourceError as exc:
        log.warning("run %s failed reading the source: %s (%s)", run_id, exc.reason, exc.code)
        return _fail(factory, run_id, exc.reason, exc.code)
    except HrsyncError as exc:
        return _fail(factory, run_id, exc.reason, exc.code)
    except SoftTimeLimitExceeded:  # Celery's task time limit (hrsync.jobs.celery_app.time_limits)
        log.warning("run %s stopped at the worker's time limit", run_id)
        return _fail(factory, run_id, TIME_LIMIT_REASON, "time_limit")
    except Exception:
        log.exception("run %s crashed", run_id)
        return _fail(factory, run_id, INTERNAL_REASON, "internal")


def _fail(factory: sessionmaker[Session], run_id: int, reason: str, code: str) -> RunOutcome:
    """Finish a run as failed (members untouched). A code the failure table does not know is stored
    as ``internal``, the table's reading of it anyway."""
    with factory() as session, session.begin():
        run = session.get(ImportRun, run_id)
        assert run is not None
        return finish_run(session, run, RunStatus.FAILED, reason=reason, failure_code=failure(code).code)


def _execute(
    factory: sessionmaker[Session], run_id: int, progress: Progress, source_factory: SourceFactory | None,
    skip_unchanged: bool, only: OnePerson | None = None,
) -> RunOutcome:
    with factory() as session:
        context = RunContext.load(session, run_id, source_factory, skip_unchanged=skip_unchanged)
        run = session.get(ImportRun, run_id)
        if only is None and run is not None and run.trigger in (RunTrigger.SINGLE.value, RunTrigger.WEBHOOK.value):
            raise ServiceError(SINGLE_ORPHAN_REASON, code="internal")
    # Hundreds of thousands of long-lived drafts: the cyclic garbage collector would re-scan them
    # over and over while they pile up and while the plan is built (a third of the time
    # otherwise), so what is kept is moved out of its sight as it accumulates (see _read).
    try:
        source = context.open_source()
        narrowed = None
        try:  # closed after planning: a second read (see read_and_plan) reads the same source
            if only is not None:
                with factory() as session:
                    members = compact_members(session, context.programme_id, context.integration_id)
                narrowed = Narrowed.of(source, context, members, only)
                source = narrowed.source
            planned = read_and_plan(factory, context, source, progress=progress, narrowed=narrowed)
        finally:
            source.close()
        plan, brake, scope = planned.plan, planned.brake, planned.scope
        own_ids = planned.read.own_ids
        if own_ids:  # stored issues name each person by their own ID in the source, not its record id
            plan.issues = [replace(i, source_id=own_ids.get(i.source_id or "", i.source_id)) for i in plan.issues]
        # What only the planning needed goes before the apply builds its rows: every person's own ID,
        # the drafts of people the plan leaves alone, the members planned against (issue 27: some
        # 10-20 MB of a 100,000-person import's peak).
        del planned, own_ids
        return _finish(factory, context, progress, plan, brake, scope)
    finally:
        gc.unfreeze()


@dataclass
class Planned:
    """A read and its plan: what the brake said, what each scoping rule did, and (for a trace to explain
    it) the drafts, the record issues and the members it was planned against."""

    plan: SyncPlan
    brake: BrakeDecision
    scope: list[dict[str, Any]]
    read: _Read
    current: list[CurrentMember]


def read_and_plan(
    factory: sessionmaker[Session], context: RunContext, source: Source, *, progress: Progress | None = None,
    narrowed: Narrowed | None = None, settle: bool | None = None,
) -> Planned:
    """Read and plan, leaving people whose fingerprint matches unchanged (unless turned off: ``settle``,
    by default the context's choice). A member that moved on during the read (a close-down, another
    import) can make a stand-in outdated: then everyone is read and drafted again, in full, so the plan
    is the one without the shortcut. ``narrowed``: one person's run (the plan kept is theirs)."""
    progress = progress or NoProgress()
    try:
        return _plan_once(factory, context, progress, source, narrowed,
                          settle=context.skip_unchanged if settle is None else settle)
    except StandInOutdated as exc:
        log.warning("run %s: %s; reading everyone again in full", context.run_id, exc)
        return _plan_once(factory, context, progress, source, narrowed, settle=False)


def _plan_once(
    factory: sessionmaker[Session], context: RunContext, progress: Progress, source: Source,
    narrowed: Narrowed | None, *, settle: bool,
) -> Planned:
    compiled = context.compiled()
    earlier: list[CurrentMember] = []
    if settle:
        with factory() as session:
            earlier = compact_members(session, context.programme_id, context.integration_id)
    own_earlier = [m for m in earlier if m.owner is None]  # only this integration's members may settle a person
    read = _read(source, context, compiled, context.fingerprinter(compiled), _by_record(own_earlier), progress)
    del own_earlier
    gc.freeze()
    log.debug("run %s: %s of %s people settled by fingerprint", context.run_id, len(read.settled), read.count,
              extra={"settled": len(read.settled)})
    progress.phase(RunPhase.PLANNING, brief=True, processed=read.count, total=read.count)
    with factory() as session:
        # Planned against the members as they are now, not as the read began; a member whose row
        # moved on meanwhile is not settled, so its values are loaded and it is planned in full.
        seen = {m.id: m for m in earlier}
        current = compact_members(session, context.programme_id, context.integration_id, reuse=seen)
        del earlier
        settled = {m.id for m in current if m.id in read.settled and seen.get(m.id) is m}
        if narrowed is not None:  # one person's people: values only for the members they meet
            touched = narrowed.touched(current, read.drafts)
            settled |= {m.id for m in current if m.id not in touched}
        current = with_values(session, current, settled)
        del seen
    options = context.plan_options(context.today())
    if narrowed is not None:  # one person's people: nobody else is known to have vanished
        options = replace(options, vanished_records=narrowed.who.gone)
    out_of_scope = {record for count in read.scope.values() for record in count.excluded}
    plan = plan_sync(current, read.drafts, read.issues, options, source_count=read.count, out_of_scope=out_of_scope)
    plan.issues = name_issues(plan.issues, drafts=read.drafts, current=current)
    if narrowed is not None:
        plan = narrowed.narrow(plan, current)
    scope = _scope_counts(context, read, plan)
    own = [m for m in current if m.owner is None]  # the brake weighs what this import may change
    active = sum(1 for m in own if m.status in (MemberStatus.ACTIVE, MemberStatus.INVITED))
    brake = check_brake(plan, active_members=active, total_members=len(own),
                        threshold_pct=context.leaver_threshold_pct, whole_directory=narrowed is None)
    return Planned(plan, brake, scope, read, current)


def _by_record(members: list[CurrentMember]) -> dict[str, CurrentMember]:
    """HR record → its member, for members with a fingerprint and a record no other member carries."""
    by_record: dict[str, CurrentMember] = {}
    shared: set[str] = set()
    for m in members:
        if m.source_id is None or m.fingerprint is None:
            continue
        if m.source_id in by_record:
            shared.add(m.source_id)
        by_record[m.source_id] = m
    for source_id in shared:
        del by_record[source_id]
    return by_record


@dataclass
class _RuleCount:
    """How many people one scoping rule decided, with a few of their names."""

    people: int = 0
    examples: list[str] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)  # HR records it left out (to count leavers)


@dataclass
class _Read:
    drafts: list[MemberDraft]  # full drafts, and stand-ins for people settled by fingerprint
    issues: list[RecordIssue]
    count: int  # people read
    settled: set[int]  # the members of the stand-ins
    scope: dict[int, _RuleCount] = field(default_factory=dict)  # rule index (or NO_INCLUDE) → count
    seen: dict[str, Counter[str]] = field(default_factory=dict)  # rule field → its values (for hints)
    #: record id → the person's own ID in the source, where they differ (the error file shows the latter)
    own_ids: dict[str, str] = field(default_factory=dict)


def _read(
    source: Source, context: RunContext, compiled: CompiledMapping, fingerprinter: Fingerprinter,
    known: dict[str, CurrentMember], progress: Progress,
) -> _Read:
    """Every person, drafted in full, or as a stand-in when their member's fingerprint matches. An
    out-of-scope person (:mod:`hrsync.domain.scoping`) is read as an inactive one."""
    read = _Read([], [], 0, set())
    drafts, issues, settled = read.drafts, read.issues, read.settled
    basis_of, fingerprint_of = fingerprinter.basis, fingerprinter.of
    mapping, scope = context.mapping, context.scope
    rule_fields = sorted(scope.fields) if scope else []
    fields_read = context.fields_read(compiled)
    own_key, own_ids = context.own_id_key(), read.own_ids
    pool = ValuePool()
    count = 0
    for person in source.people(
        include_job_details=any(needs_job_details(key) for key in fields_read),
        on_progress=progress.fetched,
        fields=fields_read,
    ):
        count += 1
        if count % GC_FREEZE_EVERY == 0:
            gc.collect(1)  # young cyclic garbage (responses, tracebacks) goes; what is kept is frozen
            gc.freeze()
        if scope:
            for rule_field in rule_fields:
                count_value(read.seen.setdefault(rule_field, Counter()), person.values.get(rule_field))
            person, decision = scoped(person, scope)
            if decision.rule is not None:
                _count_rule(read.scope, decision, person, mapping)
        if own_key is not None and (own := person.values.get(own_key)) and own != person.source_id:
            own_ids[person.source_id] = own
        basis = basis_of(person)
        member = known.get(person.source_id)
        if member is not None:
            stand_in = settled_draft(person, basis, member, fingerprinter)
            if stand_in is not None:
                drafts.append(stand_in)
                settled.add(member.id)
                continue
        draft, person_issues = build_draft(person, compiled, partial(fingerprint_of, basis), pool)
        if draft is not None:
            drafts.append(draft)
        if person_issues:  # named from the record itself: a skipped person has no draft to name them by
            issues.extend(name_issues(person_issues, source_name(person.values, mapping)))
    read.count = count
    return read


def _count_rule(counts: dict[int, _RuleCount], decision: Decision, person: SourcePerson,
                mapping: dict[str, str]) -> None:
    assert decision.rule is not None
    count = counts.get(decision.rule)
    if count is None:
        count = counts[decision.rule] = _RuleCount()
    count.people += 1
    if len(count.examples) < PREVIEW_EXAMPLES:
        count.examples.append(source_name(person.values, mapping) or f"HR record {person.source_id}")
    if not decision.in_scope:
        count.excluded.add(person.source_id)


def _scope_counts(context: RunContext, read: _Read, plan: SyncPlan) -> list[dict[str, Any]]:
    """Per scoping rule (in order, then the people no include rule matched): how many people it
    decided, how many members it makes leavers in this plan, a few names (the review page and dry runs)."""
    if not context.scope:
        return []
    leaver_records = {c.draft.source_id for c in plan.changes
                      if c.kind == ChangeKind.LEAVER and c.draft is not None}
    out: list[dict[str, Any]] = []
    for index in [*range(len(context.scope.rules)), NO_INCLUDE]:
        count = read.scope.get(index, _RuleCount())
        if index == NO_INCLUDE and not count.people:
            continue
        rule = context.scope.rules[index] if index != NO_INCLUDE else None
        out.append({
            "rule": index if rule is not None else None,
            "effect": rule.effect if rule is not None else "exclude",
            "label": rule.label if rule is not None else None,
            "field": rule.field if rule is not None else None,
            "op": rule.op if rule is not None else None,
            "values": list(rule.values) if rule is not None else [],
            "people": count.people,
            "leavers": len(count.excluded & leaver_records),
            "examples": count.examples,
        })
        if rule is not None and not count.people and rule.op != "is_empty":  # why nobody: the values nearest
            seen = read.seen.get(rule.field, Counter())
            out[-1]["seen"] = [list(pair) for pair in closest(rule.values, seen)]
            out[-1]["seen_any"] = bool(seen)
    return out


def _finish(
    factory: sessionmaker[Session], context: RunContext, progress: Progress, plan: SyncPlan, brake: BrakeDecision,
    scope: list[dict[str, Any]] | None = None,
) -> RunOutcome:
    """Hold, report (dry run) or apply the plan."""
    if context.dry_run:
        return _finish_without_applying(factory, context.run_id, plan, RunStatus.SUCCEEDED, None, scope)
    if brake.hold:
        return _finish_without_applying(factory, context.run_id, plan, RunStatus.HELD, brake.reason, scope)

    progress.pause_point()  # the plan is made and nothing is held: a large import's apply may wait here
    progress.phase(RunPhase.APPLYING)
    with factory() as session, session.begin():
        # Locked: stale-run recovery waits for this apply to commit instead of failing the run under it.
        run = hold_row(session, ImportRun, context.run_id)
        assert run is not None
        if run.status != RunStatus.RUNNING:
            raise ServiceError(
                f"Run {run.id} was taken over while it ran ({run.status}); nothing applied.", code="worker_lost"
            )
        return apply_plan(session, run, plan)


def _finish_without_applying(
    factory: sessionmaker[Session], run_id: int, plan: SyncPlan, status: RunStatus, reason: str | None,
    scope: list[dict[str, Any]] | None = None,
) -> RunOutcome:
    """A dry run or a held run: counts and issues recorded, no member touched. A held run keeps its
    plan for the decision; a dry run keeps examples of each change for the wizard's review page."""
    with factory() as session, session.begin():
        run = session.get(ImportRun, run_id)
        assert run is not None
        record_counts(run, plan)
        store_issues(session, run.id, plan.issues)
        if status == RunStatus.HELD:
            run.expires_at = utcnow() + HELD_PLAN_LIFETIME
            held = plan.to_json()
            if scope:  # what the rules did, for whoever decides on the held plan
                held["scope"] = scope
            return finish_run(session, run, status, reason=reason, plan=held)
        if run.errors:
            status = RunStatus.SUCCEEDED_WITH_ERRORS
        return finish_run(session, run, status, reason=reason, plan=_preview(plan, scope))


def _preview(plan: SyncPlan, scope: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A dry run's examples of each kind of change (the wizard's review page shows them)."""
    examples: dict[str, list[dict[str, Any]]] = {}
    for change in plan.changes:
        bucket = examples.setdefault(change.kind.value, [])
        if len(bucket) < PREVIEW_EXAMPLES:
            shown: dict[str, list[str | None]] = {}
            if change.kind in (ChangeKind.CREATE, ChangeKind.PENDING) and change.draft is not None:
                # a new member's own details say more than "status → invited"
                shown["email"] = [None, change.draft.email]
                shown.update({k: [None, v] for k, v in change.draft.values.items() if v is not None})
            shown.update({k: [old, new] for k, (old, new) in change.changes.items()})
            name = name_of(change.draft.values) if change.draft is not None else ""
            bucket.append({"employee_id": change.employee_id, "name": name, "changes": shown})
    preview: dict[str, Any] = {"preview": examples, "people": people_read(plan)}
    if scope:  # per scoping rule: people it decided, members it makes leavers, a few names
        preview["scope"] = scope
    return preview


def run_one_person(
    factory: sessionmaker[Session], integration_id: int, who: OnePerson, *, trigger: RunTrigger,
    triggered_by_id: int | None = None, source_factory: SourceFactory | None = None,
) -> RunOutcome:
    """Queue a run with ``trigger`` (``single``, ``webhook``) and execute it narrowed to ``who``, here and
    now. Raises ``RunBlocked`` while another run of the integration is active."""
    with factory() as session, session.begin():
        run_id = request_run(session, integration_id, trigger=trigger.value, triggered_by_id=triggered_by_id).id
    outcome = execute_run(run_id, factory=factory, source_factory=source_factory, only=who)
    if outcome is None:  # a scheduler pass claimed the queued run first: it fails it (it has no ``only``)
        raise ServiceError(f"Run {run_id} was taken by a worker before it started; try again.", code="worker_lost")
    return outcome
