"""Explain one person ("trace"): why was this person (not) invited?

A trace is the plan of a one-person run, explained instead of applied. The run is the runner's own
(:mod:`hrsync.sync.one_person`, :func:`hrsync.sync.execute.read_and_plan`): the person is read live
through the source's one-person look-up, by the key's source field (employee number) and by the HR
record of the member holding that employee ID (a renumbered person), with the people their outcome
depends on; drafted and planned by the import's own code against every current member; narrowed to
the person's part, exactly as applying it would. The one rule that needs the whole directory,
*vanished members*, is not decided here (said on the page).

This module only words it: a list of :class:`TraceStage` (the raw record, masked; the mapped values;
each validation result; scoping; the planned outcome and why; the close-down clock for leavers), each
made by one function of :data:`STAGES` from the same :class:`_Facts`, so a stage is added by adding a
function there. **Apply** (:func:`apply_person`) runs that same one-person run for real, with the
``single`` trigger (:func:`hrsync.sync.execute.run_one_person`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain import (
    ChangeKind,
    CurrentMember,
    MemberDraft,
    MemberStatus,
    PlannedChange,
    RecordIssue,
    SyncPlan,
)
from hrsync.domain.dates import format_date
from hrsync.domain.display import change_lines, change_words, field_label, lifecycle_label, name_of, source_name
from hrsync.domain.fields import EMAIL, EMPLOYEE_ID, KEY_FIELDS
from hrsync.domain.issue_words import problem
from hrsync.domain.masking import INVALID, Masking
from hrsync.domain.records import Severity
from hrsync.domain.scoping import EVERYONE, NO_INCLUDE, Decision
from hrsync.errors import PersonNotFound
from hrsync.sources import registry
from hrsync.sources.base import Lifecycle, Source, SourceError, SourcePerson
from hrsync.store.enums import RunTrigger
from hrsync.sync.context import RunContext, SourceFactory
from hrsync.sync.execute import read_and_plan, run_one_person
from hrsync.sync.members import compact_members
from hrsync.sync.one_person import (
    MAX_PEOPLE,
    Narrowed,
    OnePerson,
    TraceUnavailable,
    find_person,
    trace_context,
)
from hrsync.sync.runs import RunOutcome

__all__ = ["MAX_PEOPLE", "VANISHED_NOTE", "Trace", "TraceRow", "TraceStage", "TraceUnavailable",
           "apply_person", "explain", "trace_person"]

VANISHED_NOTE: Final = (
    "A trace reads this person (and the few people their outcome depends on), not the whole directory, "
    "so it cannot tell which other members vanished from the HR system: a full import decides that."
)
NO_SCOPING: Final = "no scoping rules"
#: A record id that is an internal UUID: not shown (the source's own number is, when it has one).
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
#: Source fields whose values are shown whether mapped or not: what every draft reads.
_IDENTITY_LABELS: Final = {
    "employmentStatus": "Employment status",
    "job.startDate": "Primary job start date",
    "job.endDate": "Primary job end date (exclusive)",
}


def _source(context: RunContext) -> str:
    """The integration's source as people call it, from its kind (its display name)."""
    return registry.display_name(context.integration.kind)


def nobody_found(employee_id: str, source: str) -> str:
    return (f"Nobody with employee ID {employee_id!r} is in {source} now, and no member's HR record "
            "was found.")


#: A trace's outcome (its code in the API and on the page's ``data-outcome``) as people read it; "excluded"
#: is a run's "excluded by your rules" count (decision 0035), "ignored" its "not imported because inactive".
OUTCOME_LABELS: Final = {
    "create": "Will be invited",
    "pending": "Pre-hire",
    "update": "Will be updated",
    "unchanged": "Unchanged",
    "leaver": "Will become a leaver",
    "reinstate": "Will be reinstated",
    "excluded": "Excluded by your rules",
    "ignored": "Not imported (inactive)",
    "skipped": "Skipped",
    "not_found": "Not found",
}
#: A stage's or a validation row's status as its badge and value read ("info" has no badge).
STATUS_LABELS: Final = {"ok": "OK", "warning": "Warning", "error": "Error", "info": ""}


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

    @property
    def status_label(self) -> str:
        """The status's badge in words; empty for ``info`` (nothing to judge)."""
        return STATUS_LABELS.get(self.status, self.status.capitalize())

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "status": self.status, "summary": self.summary,
                "rows": [r.to_json() for r in self.rows]}


@dataclass(frozen=True)
class Trace:
    """Everything the portal, the API and the CLI show of one person's trace."""

    integration_id: int
    employee_id: str  # as asked
    found: bool
    outcome: str  # a key of OUTCOME_LABELS: create, pending, update, unchanged, leaver, excluded, …
    reason: str  # the outcome in words
    name: str = ""
    source_id: str | None = None
    member_id: int | None = None
    changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    applicable: bool = False  # applying it would change a member
    stages: tuple[TraceStage, ...] = ()
    notes: tuple[str, ...] = ()
    people_read: int = 0

    @property
    def outcome_label(self) -> str:
        """The outcome as people read it (:data:`OUTCOME_LABELS`), never its code."""
        return OUTCOME_LABELS.get(self.outcome, self.outcome.replace("_", " ").capitalize())

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
    scope: Decision = EVERYONE  # what the scoping rules decided for the person

    @property
    def excluded_by(self) -> str | None:
        """Why the scoping rules left the person out, in words; ``None`` when they are in scope."""
        scope = self.context.scope
        if scope is None or self.scope.in_scope:
            return None
        if self.scope.rule == NO_INCLUDE:
            return "no include rule matches them"
        return f"the rule {scope.rules[self.scope.rule or 0].describe(self.labels)}"


def _fmt(d: date | None, fmt: str) -> str:
    return "—" if d is None else format_date(d, fmt)


def _explain(f: _Facts) -> tuple[str, str]:
    """(outcome, reason) for the person, read off the plan."""
    person, draft, change, member, fmt = f.person, f.draft, f.change, f.member, f.date_format
    status = f"employment status {person.employment_status!r} ({lifecycle_label(person.lifecycle)})"
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
            if f.excluded_by is not None:
                return "leaver", (f"leaver: excluded by your rules ({f.excluded_by}), so the member becomes a "
                                  f"leaver; the leaving date is {_fmt(change.leaving_date, fmt)}.")
            if person.job_end_date is not None:
                why = (f"primary job ended {person.job_end_date.isoformat()}, exclusive end date, so the last day "
                       f"was {_fmt(change.leaving_date, fmt)}")
            else:
                why = f"no end date on the primary job, so the leaving date is today, {_fmt(change.leaving_date, fmt)}"
            return "leaver", f"leaver: {status}; {why}."
        if kind == ChangeKind.REINSTATE:
            since = member.leaver_since if member is not None else None
            return "reinstate", (f"reinstate: a leaver since {_fmt(since, fmt)}, {status} again"
                                 + (f"; {change_words(f.mask.changes(change.changes), fmt)}" if change.changes else "")
                                 + ".")
        return "update", f"update: {change_words(f.mask.changes(change.changes), fmt)}."
    if draft is None:
        return "skipped", "skipped: the record could not be drafted."
    if member is None:
        if f.excluded_by is not None:  # counted apart from inactive people, as the run counts them
            return "excluded", (f"not imported: excluded by your rules ({f.excluded_by}), and never a member, "
                                "so there is nothing to do.")
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
    kind = registry.kind_of(f.context.integration.kind)
    # the person's own ID in the source, as its people know it (the kind's number, never a record UUID)
    own_key = kind.fallback_key[0] if kind.fallback_key and person.values.get(kind.fallback_key[0]) else None
    own_id = person.values[own_key] if own_key else (
        None if _UUID.fullmatch(person.source_id or "") else person.source_id)
    rows = [TraceRow(kind.words.id_label, own_id)] if own_id else []
    rows += [
        TraceRow(_IDENTITY_LABELS["employmentStatus"],
                 f"{person.employment_status} ({lifecycle_label(person.lifecycle)})"),
        TraceRow(_IDENTITY_LABELS["job.startDate"], _fmt(person.job_start_date, f.date_format)),
        TraceRow(_IDENTITY_LABELS["job.endDate"], _fmt(person.job_end_date, f.date_format)),
    ]
    for key, value in person.values.items():
        if key in ("job.startDate", "job.endDate", "employmentStatus", own_key):
            continue
        shown, status, why = f.mask.row(value, source=key)
        mapped_to = f"mapped to {field_label(mapped[key])}" if key in mapped else ""
        rows.append(TraceRow(f.labels.get(key) or key, shown, status, "; ".join(x for x in (why, mapped_to) if x)))
    for key, why in person.field_problems.items():
        rows.append(TraceRow(f.labels.get(key) or key, INVALID, "warning", why))
    masked = sum(1 for r in rows if r.status == "masked")
    return TraceStage("record", f"Record in {_source(f.context)}", "info",
                      f"Read live; {masked} field(s) masked, each saying why.", tuple(rows))


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
            rows.append(TraceRow(field_label(target), "Valid", "ok"))
        for issue in found:
            rows.append(TraceRow(field_label(target), STATUS_LABELS[issue.severity.value], issue.severity.value,
                                 f.mask.says(target, issue.message)))
    for leftover in by_field.values():
        for issue in leftover:
            rows.append(TraceRow(field_label(issue.field) if issue.field else "Record",
                                 STATUS_LABELS[issue.severity.value], issue.severity.value,
                                 f.mask.says(issue.field, issue.message)))
    worst = "error" if any(r.status == "error" for r in rows) else "warning" if any(
        r.status == "warning" for r in rows) else "ok"
    summary = {"ok": "Every mapped value is valid.", "warning": "Imported without the values marked.",
               "error": f"The record is skipped until it is fixed in {_source(f.context)}."}[worst]
    return TraceStage("validation", "Validation", worst, summary, tuple(rows))


def _rule_words(index: int, deciding: int | None) -> str:
    """What one scoping rule did for this person: it decided, it did not apply, or it was not reached."""
    if index == deciding:
        return "decided"
    return "not reached" if deciding is not None and deciding >= 0 and index > deciding else "does not apply"


def _scoping_stage(f: _Facts) -> TraceStage:
    scope = f.context.scope
    if not scope:
        return TraceStage("scoping", "Scoping", "info", NO_SCOPING.capitalize() + ": everyone is in scope.")
    decision = f.scope
    rows = tuple(
        TraceRow(rule.describe(f.labels), _rule_words(i, decision.rule),
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
                      why[0].upper() + why[1:] + ". People your rules leave out are not imported (an import counts "
                      "them as excluded by your rules), and an existing member becomes a leaver.", rows)


def _outcome_stage(f: _Facts) -> TraceStage:
    status = {"skipped": "error", "not_found": "error", "ignored": "info", "excluded": "info",
              "unchanged": "ok"}.get(f.outcome, "warning")
    rows = [TraceRow("Outcome", OUTCOME_LABELS[f.outcome], status, f.reason)]
    for issue in f.plan_issues:
        rows.append(TraceRow(problem(issue.code), STATUS_LABELS[issue.severity.value], issue.severity.value,
                             issue.message))
    if f.change is not None:
        rows.extend(TraceRow(line.label, line.shown)
                    for line in change_lines(f.mask.changes(f.change.changes), f.date_format))
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
        narrowed = Narrowed.of(source, context, members, OnePerson(employee_id=employee_id))
        planned = read_and_plan(factory, context, narrowed.source, narrowed=narrowed, settle=False)
        gathered = narrowed.source
        if not gathered.found:
            return Trace(integration_id, employee_id, False, "not_found", nobody_found(employee_id, _source(context)),
                         notes=(VANISHED_NOTE,))
        labels, marks = _labels(source)
    notes = [VANISHED_NOTE]
    if len(gathered.first) > 1:
        notes.append(f"{len(gathered.first)} HR records carry this employee ID; the first is shown.")
    if gathered.cut:
        notes.append(f"More than {MAX_PEOPLE} people are tied to this person's employee ID or address; "
                     "a full import may decide differently.")
    person = gathered.first[0]
    record_issues = [i for i in planned.read.issues if i.source_id == person.source_id]
    return explain(context, planned.plan, planned.current, planned.read.drafts, {person.source_id: record_issues},
                   person, gathered.targets, labels, marks, date_format, today, employee_id,
                   planned.read.count, notes)


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
    decision = context.scope.decide(person.values, person.field_problems) if context.scope else EVERYONE
    facts = _Facts(context, person, draft, record_issues, plan_issues, change, member, "", "", labels, mask,
                   date_format, today, decision)
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
    """Apply one person's change: the one-person run a trace explains, run for real with the ``single``
    trigger (:func:`hrsync.sync.execute.run_one_person`: braked on that change alone, applied in one
    transaction, recorded in the history). Raises ``PersonNotFound`` (and makes no run) when the HR
    system knows nobody by ``employee_id``, ``RunBlocked`` while another run of the integration is active."""
    with factory() as session:
        context = trace_context(session, integration_id, source_factory)
        members = compact_members(session, context.programme_id, context.integration_id)
    with context.open_source() as source:  # nobody there: refused before a run is made (issue 22)
        if not find_person(source, context, members, employee_id):
            raise PersonNotFound(nobody_found(employee_id, _source(context)) + " Nothing was applied.")
    return run_one_person(factory, integration_id, OnePerson(employee_id=employee_id), trigger=RunTrigger.SINGLE,
                          triggered_by_id=triggered_by_id, source_factory=source_factory)
