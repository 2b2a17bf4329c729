"""Explain and apply one person ("trace"): fetch them live, draft, plan, say why in words.

A trace answers "why was this person (not) invited?" without a whole import:

1. **Fetch** the person live through the source's one-person look-up (:class:`~hrsync.sources.base.PersonLookup`),
   by the key's source field (employee number) and by the HR record of the member holding that
   employee ID, so a renumbered person is found too.
2. **Gather the people the decision depends on** (:func:`gather`): the planner's rules are cross-record
   (two people with one employee ID or one address, an address another member holds and may be
   releasing in the same import, a member relinked by its HR record). Each of those is looked up live
   as well, up to :data:`MAX_PEOPLE`, until no new person turns up.
3. **Plan** them with :func:`hrsync.domain.planner.plan_sync` against the programme's current members
   (every one of them, as a full import does), then read the person's outcome off the plan. The one
   rule that needs the whole directory, *vanished members*, is not decided here: a trace reads the
   person and their neighbours only (said on the page).
4. **Explain**: a list of :class:`TraceStage` (the raw record, masked; the mapped values; each
   validation result; scoping; the planned outcome and why; the close-down clock for leavers). Each
   stage is made by one function of :data:`STAGES` from the same :class:`_Facts`, so a stage is added
   by adding a function there.

**Apply** (:func:`apply_person`) queues a run with the ``single`` trigger and executes it with the
runner (:func:`hrsync.sync.execute.execute_run`), whose source reads only the gathered people and
whose plan is narrowed (:func:`narrow_plan`) to the person's own change, plus the changes of members
whose address or employee ID that change takes over (an address swap is applied whole, as a full import
would): the brake, the apply in one transaction, the history, the e-mails are the runner's own. No
other member is treated as vanished.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain import (
    ChangeKind,
    CompiledMapping,
    CurrentMember,
    MemberDraft,
    MemberStatus,
    PlannedChange,
    RecordIssue,
    SyncPlan,
    build_draft,
    plan_sync,
)
from hrsync.domain.dates import format_date
from hrsync.domain.display import field_label, name_of, source_name
from hrsync.domain.fields import EMAIL, EMPLOYEE_ID, KEY_FIELDS, needs_job_details
from hrsync.domain.fingerprint import Fingerprinter
from hrsync.domain.masking import INVALID, Masking
from hrsync.domain.records import Severity
from hrsync.domain.scoping import NO_INCLUDE, scoped
from hrsync.domain.vocabulary import email_key
from hrsync.errors import ServiceError
from hrsync.sources.base import Lifecycle, ProgressCallback, Source, SourceError, SourcePerson, can_find
from hrsync.sources.registry import source_for
from hrsync.store.enums import RunTrigger
from hrsync.store.models import Integration
from hrsync.sync.context import RunContext, SourceFactory
from hrsync.sync.execute import execute_run
from hrsync.sync.finish import name_issues
from hrsync.sync.members import compact_members, with_values
from hrsync.sync.runs import RunOutcome, request_run

#: People one trace may read: the person and whoever their outcome depends on. Past it the trace says
#: the outcome may differ from a full import's.
MAX_PEOPLE: Final = 25
VANISHED_NOTE: Final = (
    "A trace reads this person (and the few people their outcome depends on), not the whole directory, "
    "so it cannot tell which other members vanished from the HR system: a full import decides that."
)
NO_SCOPING: Final = "no scoping rules"
#: Source fields whose values are shown whether mapped or not: what every draft reads.
_IDENTITY_LABELS: Final = {
    "id": "intelliHR record ID",
    "employmentStatus": "Employment status",
    "job.startDate": "Primary job start date",
    "job.endDate": "Primary job end date (exclusive)",
}


class TraceUnavailable(ServiceError):
    """The trace cannot be made (the source cannot look one person up, nothing to trace by)."""


# -- what a trace returns ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceRow:
    label: str
    value: str
    status: str = "info"  # ok | warning | error | info | masked
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "value": self.value, "status": self.status, "note": self.note}


@dataclass(frozen=True, slots=True)
class TraceStage:
    """One step of the explanation; ``key`` is stable (``record``, ``mapped``, ``validation``,
    ``scoping``, ``outcome``, ``closedown``), ``title`` and ``summary`` are for people."""

    key: str
    title: str
    status: str  # ok | warning | error | info
    summary: str
    rows: tuple[TraceRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "status": self.status, "summary": self.summary,
                "rows": [r.to_json() for r in self.rows]}


@dataclass(frozen=True)
class Trace:
    """Everything the portal, the API and the CLI show of one person's trace."""

    integration_id: int
    employee_id: str  # as asked
    found: bool
    outcome: str  # create | pending | update | unchanged | leaver | reinstate | ignored | skipped | not_found
    reason: str  # the outcome in words
    name: str = ""
    source_id: str | None = None
    member_id: int | None = None
    changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    applicable: bool = False  # applying it would change a member
    stages: tuple[TraceStage, ...] = ()
    notes: tuple[str, ...] = ()
    people_read: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "integration_id": self.integration_id,
            "employee_id": self.employee_id,
            "found": self.found,
            "name": self.name,
            "source_id": self.source_id,
            "member_id": self.member_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "changes": {k: [old, new] for k, (old, new) in self.changes.items()},
            "applicable": self.applicable,
            "stages": [s.to_json() for s in self.stages],
            "notes": list(self.notes),
            "people_read": self.people_read,
        }


# -- the integration's settings, without a run -------------------------------------------------------


def trace_context(session: Session, integration_id: int, source_factory: SourceFactory | None = None) -> RunContext:
    """The settings a run of this integration would read (:class:`RunContext`), for a trace (run id 0)."""
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise ServiceError(f"Integration {integration_id} was not found.", code="not_found")
    return RunContext.of_integration(
        session, integration, run_id=0, dry_run=True,
        source_factory=source_factory or (lambda i: source_for(i, consume=False)),
    )


# -- fetching the person and whoever their outcome depends on ------------------------------------------


def _lookup(source: object) -> Any:
    if not can_find(source):
        raise TraceUnavailable(
            "This integration's source cannot look one person up (a membership file is read whole): "
            "run a dry run of the whole import instead.", code="trace_unsupported",
        )
    return source


def find_person(source: object, context: RunContext, members: Iterable[CurrentMember], employee_id: str
                ) -> list[SourcePerson]:
    """The people an employee ID names: those the HR system files under it (the key's source field),
    and the HR record of the member that holds it (a renumbered person)."""
    lookup = _lookup(source)
    compiled = context.compiled()
    jobs = _needs_jobs(context, compiled)
    found: dict[str, SourcePerson] = {}
    wanted = employee_id.strip()
    if compiled.employee_id_source in lookup.findable:
        for p in lookup.find_people(compiled.employee_id_source, wanted, include_job_details=jobs):
            found.setdefault(p.source_id, p)
    else:  # a key intelliHR cannot filter on: the record id itself, if that is what was typed
        for p in lookup.find_people("id", wanted, include_job_details=jobs):
            found.setdefault(p.source_id, p)
    for m in members:
        if m.employee_id == wanted and m.source_id and m.source_id not in found:
            for p in lookup.find_people("id", m.source_id, include_job_details=jobs):
                found.setdefault(p.source_id, p)
    return list(found.values())


def gather(source: object, context: RunContext, members: list[CurrentMember], first: Iterable[SourcePerson]
           ) -> tuple[list[SourcePerson], bool]:
    """``first`` and every person the planner's cross-record rules tie them to, read live: people with
    the same employee ID or address, the people of the members holding their employee ID, address or
    HR record, and so on until nobody new turns up. Returns them and whether :data:`MAX_PEOPLE` cut it short."""
    lookup = _lookup(source)
    compiled = context.compiled()
    jobs = _needs_jobs(context, compiled)
    people: dict[str, SourcePerson] = {}
    queue: list[SourcePerson] = []
    for p in first:
        if p.source_id not in people:
            people[p.source_id] = p
            queue.append(p)
    by_id = {m.employee_id: m for m in members}
    by_email = {email_key(m.email): m for m in members if m.email}
    by_record: dict[str, list[CurrentMember]] = {}
    for m in members:
        if m.source_id:
            by_record.setdefault(m.source_id, []).append(m)
    asked: set[tuple[str, str]] = set()
    cut = False

    def ask(key: str, value: str | None) -> None:
        nonlocal cut
        if not value or not value.strip() or key not in lookup.findable or (key, value) in asked:
            return
        if len(people) >= MAX_PEOPLE:
            cut = True
            return
        asked.add((key, value))
        for p in lookup.find_people(key, value, include_job_details=jobs):
            if p.source_id not in people:
                people[p.source_id] = p
                queue.append(p)

    while queue:
        p = queue.pop(0)
        emp = p.values.get(compiled.employee_id_source)
        email = p.values.get(compiled.email_source)
        ask(compiled.employee_id_source, emp)  # others filed under the same employee ID
        ask(compiled.email_source, email)  # others with the same address
        related: list[CurrentMember | None] = [*by_record.get(p.source_id, [])]
        if emp:
            related.append(by_id.get(emp.strip()))
        if email:
            related.append(by_email.get(email_key(email)))
        for holder in related:
            if holder is None:
                continue
            if holder.source_id:
                ask("id", holder.source_id)
            ask(compiled.employee_id_source, holder.employee_id)
    return list(people.values()), cut


class _Remembering:
    """A source whose look-ups are asked once per read: the person read first is not fetched again when
    the planner's neighbours (:func:`gather`) lead back to their HR record."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self.findable: frozenset[str] = source.findable
        self._found: dict[tuple[str, str, bool], list[SourcePerson]] = {}

    def find_people(self, field: str, value: str, *, include_job_details: bool = False) -> list[SourcePerson]:
        key = (field, value.strip().lower() if field == "id" else value, include_job_details)
        if key not in self._found:
            self._found[key] = self._source.find_people(field, value, include_job_details=include_job_details)
        return self._found[key]


class GatheredSource:
    """The integration's source, reading only one person and the people their outcome depends on: the
    source of a ``single`` run (:func:`apply_person`: the person an employee ID names) and of a
    ``webhook`` run (:func:`hrsync.jobs.webhooks.apply_hint`: the person of one HR record). ``first``
    finds that person with the (remembering) look-up; ``targets`` are their HR records once read."""

    def __init__(self, source: Source, context: RunContext, members: list[CurrentMember],
                 first: Callable[[Any], list[SourcePerson]]) -> None:
        self._source = source
        self._context = context
        self._members = members
        self._first = first
        self.targets: set[str] = set()

    @property
    def found(self) -> bool:
        return bool(self.targets)

    def __enter__(self) -> GatheredSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    def check(self) -> Any:
        return self._source.check()

    def fields(self) -> Any:
        return self._source.fields()

    def people(self, *, include_job_details: bool = False, on_progress: ProgressCallback | None = None,
               fields: Collection[str] | None = None) -> Iterator[SourcePerson]:
        lookup = _Remembering(_lookup(self._source))
        first = self._first(lookup)
        self.targets = {p.source_id for p in first}
        people, _cut = gather(lookup, self._context, self._members, first) if first else ([], False)
        if on_progress is not None:
            on_progress(len(people), len(people))
        yield from people


# -- planning -----------------------------------------------------------------------------------------


def _relevant(members: Iterable[CurrentMember], drafts: Iterable[MemberDraft]) -> set[int]:
    drafts = list(drafts)
    ids = {d.employee_id for d in drafts}
    sources = {d.source_id for d in drafts}
    keys = {d.email_key for d in drafts}
    return {m.id for m in members if m.employee_id in ids or m.source_id in sources or email_key(m.email) in keys}


def _needs_jobs(context: RunContext, compiled: CompiledMapping) -> bool:
    """Whether the people must be read with their job details: as the import asks (fields read by the
    mapping, its transforms and the scoping rules)."""
    return any(needs_job_details(key) for key in context.fields_read(compiled))


def _fingerprint(fingerprinter: Fingerprinter, basis: str, employee_id: str, email: str) -> str:
    return fingerprinter.of(basis, employee_id, email)


def draft_people(people: Iterable[SourcePerson], context: RunContext, compiled: CompiledMapping
                 ) -> tuple[list[MemberDraft], list[RecordIssue], dict[str, list[RecordIssue]]]:
    """Each person drafted exactly as an import drafts them (fingerprint included)."""
    fingerprinter = context.fingerprinter(compiled)
    drafts: list[MemberDraft] = []
    issues: list[RecordIssue] = []
    per_person: dict[str, list[RecordIssue]] = {}
    for person in people:
        if context.scope:  # out of scope: seen as inactive, exactly as the import sees them
            person, _decision = scoped(person, context.scope)
        basis = fingerprinter.basis(person)
        draft, found = build_draft(person, compiled, partial(_fingerprint, fingerprinter, basis))
        if draft is not None:
            drafts.append(draft)
        found = name_issues(found, source_name(person.values, context.mapping))
        issues.extend(found)
        per_person[person.source_id] = found
    return drafts, issues, per_person


def plan_people(session: Session, context: RunContext, people: list[SourcePerson], today: date
                ) -> tuple[SyncPlan, list[CurrentMember], list[MemberDraft], dict[str, list[RecordIssue]]]:
    """The plan a full import would make of ``people``, against every current member; members nobody
    here is about are not reported vanished (a trace cannot know)."""
    compiled = context.compiled()
    drafts, issues, per_person = draft_people(people, context, compiled)
    compact = compact_members(session, context.programme_id, context.integration_id)
    wanted = _relevant(compact, drafts)
    current = with_values(session, compact, {m.id for m in compact if m.id not in wanted})
    # Vanished members are never decided by a trace; as warnings they are dropped below.
    options = replace(context.plan_options(today), vanished_are_leavers=False)
    plan = plan_sync(current, drafts, issues, options, source_count=len(people))
    plan.issues = name_issues(plan.issues, drafts=drafts, current=current)
    return plan, current, drafts, per_person


def narrow_plan(plan: SyncPlan, current: list[CurrentMember], targets: Collection[str]) -> SyncPlan:
    """Only the traced person's part of ``plan`` (``targets``: their HR records): their change, the changes
    of members whose address or employee ID their change takes over (transitively, so a swap or a
    rotation is applied whole), their issues, their member if it stays unchanged. Nobody else."""
    by_member = {c.member_id: c for c in plan.changes if c.member_id is not None}
    by_email = {email_key(m.email): m.id for m in current if m.email}
    by_id = {m.employee_id: m.id for m in current}
    kept: list[PlannedChange] = []
    queue = [c for c in plan.changes if c.draft is not None and c.draft.source_id in targets]
    while queue:
        change = queue.pop(0)
        if any(change is k for k in kept):
            continue
        kept.append(change)
        if change.draft is None:
            continue
        for holder in (by_email.get(change.draft.email_key), by_id.get(change.draft.employee_id)):
            other = None if holder is None else by_member.get(holder)
            if holder != change.member_id and other is not None:
                queue.append(other)
    kept_sources = {c.draft.source_id for c in kept if c.draft is not None}
    kept_members = {c.member_id for c in kept if c.member_id is not None}
    mine = set(targets) | kept_sources
    target_ids = {c.employee_id for c in kept}
    member_of_target = {m.id for m in current if m.source_id in targets}
    unchanged = [i for i in plan.unchanged_member_ids if i in member_of_target]
    issues = [i for i in plan.issues if (i.source_id in mine) or (i.source_id is None and i.employee_id in target_ids)]
    ordered = [c for c in plan.changes if any(c is k for k in kept)]
    return SyncPlan(
        changes=ordered, unchanged_count=len(unchanged), issues=issues,
        source_count=len(mine), ignored_count=0, unchanged_member_ids=unchanged,
        fingerprints={k: v for k, v in plan.fingerprints.items() if k in set(unchanged) | kept_members},
    )


# -- the outcome, in words ----------------------------------------------------------------------------


@dataclass
class _Facts:
    """What the stages are made from."""

    context: RunContext
    person: SourcePerson
    draft: MemberDraft | None
    record_issues: list[RecordIssue]
    plan_issues: list[RecordIssue]  # conflicts the planner found for this person
    change: PlannedChange | None
    member: CurrentMember | None
    outcome: str
    reason: str
    labels: Mapping[str, str]  # source key → label
    mask: Masking  # what a value may show (:mod:`hrsync.domain.masking`)
    date_format: str
    today: date


def _fmt(d: date | None, fmt: str) -> str:
    return "—" if d is None else format_date(d, fmt)


def _shown(value: str | None) -> str:
    return "(blank)" if value is None else value


def _change_words(changes: Mapping[str, tuple[str | None, str | None]]) -> str:
    parts = []
    for key, (old, new) in changes.items():
        label = "status" if key == "status" else "HR record" if key == "source_id" else field_label(key).lower() \
            if key not in ("email", "employee_id") else {"email": "email", "employee_id": "employee ID"}[key]
        parts.append(f"{label} {_shown(old)} → {_shown(new)}")
    return "; ".join(parts)


def _explain(f: _Facts) -> tuple[str, str]:
    """(outcome, reason) for the person, read off the plan."""
    person, draft, change, member, fmt = f.person, f.draft, f.change, f.member, f.date_format
    status = f"employment status {person.employment_status!r} ({person.lifecycle.value})"
    errors = [i for i in (*f.record_issues, *f.plan_issues) if i.severity == Severity.ERROR]
    if errors:
        return "skipped", "skipped: " + " ".join(i.message for i in errors)
    if change is not None:
        kind = change.kind
        if kind == ChangeKind.CREATE:
            how = "will be invited" if change.new_status == MemberStatus.INVITED else \
                "created active without an invitation (welcome e-mails are off)"
            return "create", f"create: {status}, and no member has employee ID {change.employee_id!r}; {how}."
        if kind == ChangeKind.PENDING:
            start = _fmt(draft.start_date if draft else None, fmt)
            return "pending", (f"pending: a pre-hire ({status}) starting {start}; "
                               "created pending and invited from the start date.")
        if kind == ChangeKind.LEAVER:
            if person.job_end_date is not None:
                why = (f"primary job ended {person.job_end_date.isoformat()}, exclusive end date, so the last day "
                       f"was {_fmt(change.leaving_date, fmt)}")
            else:
                why = f"no end date on the primary job, so the leaving date is today, {_fmt(change.leaving_date, fmt)}"
            return "leaver", f"leaver: {status}; {why}."
        if kind == ChangeKind.REINSTATE:
            since = member.leaver_since if member is not None else None
            words = _change_words(f.mask.changes(change.changes))
            return "reinstate", (f"reinstate: a leaver since {_fmt(since, fmt)}, {status} again"
                                 + (f"; {words}" if change.changes else "") + ".")
        return "update", f"update: {_change_words(f.mask.changes(change.changes))}."
    if draft is None:
        return "skipped", "skipped: the record could not be drafted."
    if member is None:
        if draft.lifecycle == Lifecycle.INACTIVE:
            return "ignored", f"not imported: {status}, and never a member, so there is nobody to close down."
        return "skipped", "not planned: see the issues above."
    if member.status == MemberStatus.LEAVER:
        return "unchanged", f"unchanged: already a leaver since {_fmt(member.leaver_since, fmt)}, and still {status}."
    blanks = [k for k, v in draft.values.items() if v is None and not f.context.blanks_clear_values]
    extra = (f" (blank in the HR system, kept as stored: {', '.join(field_label(k) for k in blanks)})"
             if blanks else "")
    return "unchanged", f"unchanged: every mapped value equals the member's{extra}."


def _record_stage(f: _Facts) -> TraceStage:
    mapped = {source: target for target, source in f.context.mapping.items()}
    person = f.person
    rows = [
        TraceRow(_IDENTITY_LABELS["id"], person.source_id),
        TraceRow(_IDENTITY_LABELS["employmentStatus"], f"{person.employment_status} ({person.lifecycle.value})"),
        TraceRow(_IDENTITY_LABELS["job.startDate"], _iso(person.job_start_date)),
        TraceRow(_IDENTITY_LABELS["job.endDate"], _iso(person.job_end_date)),
    ]
    for key, value in person.values.items():
        if key in ("job.startDate", "job.endDate", "employmentStatus"):
            continue
        shown, status, why = f.mask.row(value, source=key)
        mapped_to = f"mapped to {field_label(mapped[key])}" if key in mapped else ""
        rows.append(TraceRow(f.labels.get(key) or key, shown, status, "; ".join(x for x in (why, mapped_to) if x)))
    for key, why in person.field_problems.items():
        rows.append(TraceRow(f.labels.get(key) or key, INVALID, "warning", why))
    masked = sum(1 for r in rows if r.status == "masked")
    return TraceStage("record", "Record in intelliHR", "info",
                      f"Read live; {masked} field(s) masked, each saying why.", tuple(rows))


def _iso(d: date | None) -> str:
    return "(none)" if d is None else d.isoformat()


def _mapped_stage(f: _Facts) -> TraceStage:
    if f.draft is None:
        return TraceStage("mapped", "Mapped values", "error", "No member values: the record was skipped.")
    d = f.draft
    rows = [TraceRow(field_label(EMPLOYEE_ID), d.employee_id), TraceRow(field_label(EMAIL), d.email)]
    for target in f.context.mapping:
        if target in KEY_FIELDS:
            continue
        if target in d.values:
            rows.append(TraceRow(field_label(target), *f.mask.row(d.values[target], target)))
        else:
            rows.append(TraceRow(field_label(target), "(left out)", "warning", "not delivered or not valid"))
    rows.append(TraceRow("Start date", _fmt(d.start_date, f.date_format)))
    if d.leaving_date is not None:
        rows.append(TraceRow("Leaving date (last day)", _fmt(d.leaving_date, f.date_format)))
    return TraceStage("mapped", "Mapped values", "ok", f"{len(rows)} member field(s) from the mapping.", tuple(rows))


def _validation_stage(f: _Facts) -> TraceStage:
    by_field: dict[str | None, list[RecordIssue]] = {}
    for issue in f.record_issues:
        by_field.setdefault(issue.field, []).append(issue)
    rows = []
    for target in f.context.mapping:
        found = by_field.pop(target, [])
        if not found:
            rows.append(TraceRow(field_label(target), "ok", "ok"))
        for issue in found:
            rows.append(TraceRow(field_label(target), issue.severity.value, issue.severity.value,
                                 f.mask.says(target, issue.message)))
    for leftover in by_field.values():
        for issue in leftover:
            rows.append(TraceRow(field_label(issue.field) if issue.field else "Record", issue.severity.value,
                                 issue.severity.value, f.mask.says(issue.field, issue.message)))
    worst = "error" if any(r.status == "error" for r in rows) else "warning" if any(
        r.status == "warning" for r in rows) else "ok"
    summary = {"ok": "Every mapped value is valid.", "warning": "Imported without the values marked.",
               "error": "The record is skipped until it is fixed in intelliHR."}[worst]
    return TraceStage("validation", "Validation", worst, summary, tuple(rows))


def _scoping_stage(f: _Facts) -> TraceStage:
    scope = f.context.scope
    if not scope:
        return TraceStage("scoping", "Scoping", "info", NO_SCOPING.capitalize() + ": everyone is in scope.")
    decision = scope.decide(f.person.values, f.person.field_problems)
    rows = tuple(
        TraceRow(rule.describe(f.labels), "decided" if i == decision.rule else "",
                 "ok" if i != decision.rule else ("ok" if decision.in_scope else "warning"))
        for i, rule in enumerate(scope.rules)
    )
    if decision.in_scope:
        why = (f"in scope: {scope.rules[decision.rule].describe(f.labels)}" if decision.rule is not None
               and decision.rule >= 0 else "in scope: no rule excludes them")
        return TraceStage("scoping", "Scoping", "ok", why[0].upper() + why[1:] + ".", rows)
    why = ("excluded: no include rule matches them" if decision.rule == NO_INCLUDE
           else f"excluded by the rule: {scope.rules[decision.rule or 0].describe(f.labels)}")
    return TraceStage("scoping", "Scoping", "warning",
                      why[0].upper() + why[1:] + ". Out-of-scope people are treated as inactive: never created, "
                      "and an existing member becomes a leaver.", rows)


def _outcome_stage(f: _Facts) -> TraceStage:
    status = {"skipped": "error", "not_found": "error", "ignored": "info", "unchanged": "ok"}.get(f.outcome, "warning")
    rows = [TraceRow("Outcome", f.outcome, status, f.reason)]
    for issue in f.plan_issues:
        rows.append(TraceRow(issue.code.replace("_", " "), issue.severity.value, issue.severity.value, issue.message))
    if f.change is not None:
        for key, (old, new) in f.mask.changes(f.change.changes).items():
            rows.append(TraceRow(field_label(key) if key not in ("status", "source_id") else key.replace("_", " "),
                                 f"{_shown(old)} → {_shown(new)}"))
    return TraceStage("outcome", "Planned outcome", status, f.reason, tuple(rows))


def _closedown_stage(f: _Facts) -> TraceStage | None:
    change, member, fmt = f.change, f.member, f.date_format
    if change is not None and change.kind == ChangeKind.LEAVER:
        since, until = change.leaver_since, change.access_until
    elif f.outcome == "unchanged" and member is not None and member.status == MemberStatus.LEAVER:
        since = member.leaver_since
        until = None if since is None else since + timedelta(days=f.context.plan_options(f.today).leaver_window_days)
    else:
        return None
    rows = (
        TraceRow("Leaver since", _fmt(since, fmt)),
        TraceRow("Access until", _fmt(None if until is None else until - timedelta(days=1), fmt), "info",
                 "their own account pages only"),
        TraceRow("Personal data deleted on", _fmt(until, fmt)),
    )
    return TraceStage("closedown", "Close-down clock", "info",
                      f"Limited access until {rows[1].value}; deleted on {rows[2].value}.", rows)


#: The stages, in order; each returns a stage or ``None`` (not shown for this person). Add one here.
STAGES: tuple[Callable[[_Facts], TraceStage | None], ...] = (
    _record_stage, _validation_stage, _mapped_stage, _scoping_stage, _outcome_stage, _closedown_stage,
)


def _labels(source: Source) -> tuple[dict[str, str], Masking | None]:
    """Labels, and which fields the source marks sensitive or personal (``None``: unknown, so hide more)."""
    try:
        fields = source.fields()
    except SourceError:
        return {}, None
    return {f.key: f.label for f in fields}, Masking(sensitive=frozenset(f.key for f in fields if f.sensitive),
                                                     personal=frozenset(f.key for f in fields if f.personal))


# -- the entry points ------------------------------------------------------------------------------------


def trace_person(
    factory: sessionmaker[Session], integration_id: int, employee_id: str, *,
    source_factory: SourceFactory | None = None, date_format: str = "YYYY-MM-DD",
) -> Trace:
    """Trace the person with ``employee_id`` (see the module docstring). Changes nothing."""
    with factory() as session:
        context = trace_context(session, integration_id, source_factory)
        members = compact_members(session, context.programme_id, context.integration_id)
    today = context.today()
    with context.open_source() as source:
        first = find_person(source, context, members, employee_id)
        if not first:
            return Trace(integration_id, employee_id, False, "not_found",
                         f"Nobody with employee ID {employee_id!r} is in intelliHR now, and no member's HR record "
                         "was found.", notes=(VANISHED_NOTE,))
        people, cut = gather(source, context, members, first)
        labels, marks = _labels(source)
    with factory() as session:
        plan, current, drafts, per_person = plan_people(session, context, people, today)
    targets = {p.source_id for p in first}
    person = first[0]
    notes = [VANISHED_NOTE]
    if len(first) > 1:
        notes.append(f"{len(first)} HR records carry this employee ID; the first is shown.")
    if cut:
        notes.append(f"More than {MAX_PEOPLE} people are tied to this person's employee ID or address; "
                     "a full import may decide differently.")
    return explain(context, plan, current, drafts, per_person, person, targets, labels, marks,
                   date_format, today, employee_id, len(people), notes)


def explain(
    context: RunContext, plan: SyncPlan, current: list[CurrentMember], drafts: list[MemberDraft],
    per_person: Mapping[str, list[RecordIssue]], person: SourcePerson, targets: Collection[str],
    labels: Mapping[str, str], marks: Masking | None, date_format: str, today: date, asked: str,
    people_read: int, notes: Iterable[str] = (),
) -> Trace:
    """A :class:`Trace` of ``person`` from a plan of the people read."""
    draft = next((d for d in drafts if d.source_id == person.source_id), None)
    change = next((c for c in plan.changes if c.draft is not None and c.draft.source_id in targets), None)
    record_issues = per_person.get(person.source_id, [])
    plan_issues = [i for i in plan.issues if i.source_id in targets and i not in record_issues]
    member = None
    if change is not None and change.member_id is not None:
        member = next((m for m in current if m.id == change.member_id), None)
    elif draft is not None:
        member = next((m for m in current if m.id in plan.unchanged_member_ids
                       and (m.employee_id == draft.employee_id or m.source_id == draft.source_id)), None)
    if member is None and draft is not None and change is None:
        member = next((m for m in current if m.source_id == person.source_id), None)
    mask = replace(marks or Masking(), mapping=context.mapping, member=member is not None and marks is not None)
    facts = _Facts(context, person, draft, record_issues, plan_issues, change, member, "", "", labels, mask,
                   date_format, today)
    facts.outcome, facts.reason = _explain(facts)
    stages = tuple(s for s in (make(facts) for make in STAGES) if s is not None)
    return Trace(
        integration_id=context.integration_id, employee_id=asked, found=True, outcome=facts.outcome,
        reason=facts.reason, name=name_of(draft.values) if draft else source_name(person.values, context.mapping),
        source_id=person.source_id, member_id=None if member is None else member.id,
        changes=mask.changes(change.changes) if change is not None else {}, applicable=change is not None,
        stages=stages, notes=tuple(notes), people_read=people_read,
    )


def apply_person(
    factory: sessionmaker[Session], integration_id: int, employee_id: str, *,
    triggered_by_id: int | None = None, source_factory: SourceFactory | None = None,
) -> RunOutcome:
    """Apply one person's change as a ``single`` run through the runner: fetched again live, planned
    against every member, narrowed to the person (:func:`narrow_plan`), braked, applied in one
    transaction, recorded in the history. Raises ``RunBlocked`` while another run of the integration is active."""
    with factory() as session, session.begin():
        context = trace_context(session, integration_id, source_factory)
        run = request_run(session, integration_id, trigger=RunTrigger.SINGLE.value, triggered_by_id=triggered_by_id)
        run_id = run.id
    holder: dict[str, GatheredSource] = {}

    def open_gathered(integration: Integration) -> Source:
        with factory() as session:
            members = compact_members(session, context.programme_id, context.integration_id)
        gathered = GatheredSource(context.open_source(), context, members,
                                  lambda lookup: find_person(lookup, context, members, employee_id))
        holder["source"] = gathered
        return gathered

    def narrow(plan: SyncPlan, current: list[CurrentMember]) -> SyncPlan:
        return narrow_plan(plan, current, holder["source"].targets)

    outcome = execute_run(run_id, factory=factory, source_factory=open_gathered, narrow=narrow)
    if outcome is None:  # a scheduler pass claimed the queued run first: it fails it (no narrower)
        raise ServiceError(f"Run {run_id} was taken by a worker before it started; apply the person again.",
                           code="worker_lost")
    return outcome
