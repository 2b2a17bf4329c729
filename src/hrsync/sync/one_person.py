"""A one-person run: an ordinary run narrowed to one person's people (a trace applied, a webhook delivery).

The runner (:func:`hrsync.sync.execute.execute_run` with ``only=``) reads, drafts, plans, brakes and
applies it exactly as it does a whole import. This module gives it the two things that make it one
person's (:class:`Narrowed`):

1. **The people read** (:class:`GatheredSource`): the person (:class:`OnePerson`: by employee ID, a
   trace; by HR record, a webhook) and whoever their outcome depends on (:func:`gather`): the planner's
   rules are cross-record (two people with one employee ID or one address, an address another member
   holds and may be releasing in the same import, a member relinked by its HR record), so each of those
   is looked up live as well, up to :data:`MAX_PEOPLE`, until no new person turns up.
2. **The plan kept** (:meth:`Narrowed.narrow`), before the brake: the person's own change and the
   changes of members whose address or employee ID that change takes over (:func:`narrow_plan`: an
   address swap is applied whole, as a full import would), or, when nobody was found, what the
   vanished rule decides for the member of a webhook's HR record (:func:`gone_only`), or nothing. No
   other member is treated as vanished, and the brake judges what is kept alone.

The trace (:mod:`hrsync.sync.trace`) explains the same read and plan (:func:`hrsync.sync.execute.read_and_plan`)
without applying it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from hrsync.domain import CurrentMember, MemberDraft, PlannedChange, SyncPlan
from hrsync.domain.fields import needs_job_details
from hrsync.domain.vocabulary import email_key
from hrsync.errors import ServiceError
from hrsync.sources.base import ProgressCallback, Source, SourcePerson, can_find
from hrsync.sources.registry import source_for
from hrsync.store.models import Integration
from hrsync.sync.context import RunContext, SourceFactory

#: People one one-person read may take: the person and whoever their outcome depends on. Past it the
#: trace says the outcome may differ from a full import's.
MAX_PEOPLE: Final = 25


class TraceUnavailable(ServiceError):
    """One person cannot be read on their own (the source cannot look one person up)."""


def trace_context(session: Session, integration_id: int, source_factory: SourceFactory | None = None) -> RunContext:
    """The settings a run of this integration would read (:class:`RunContext`), for a trace (run id 0)."""
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise ServiceError(f"Integration {integration_id} was not found.", code="not_found")
    return RunContext.of_integration(
        session, integration, run_id=0, dry_run=True,
        source_factory=source_factory or (lambda i: source_for(i, consume=False)),
    )


def lookup_of(source: object) -> Any:
    """``source`` as a one-person look-up; :class:`TraceUnavailable` when it cannot be one."""
    if not can_find(source):
        raise TraceUnavailable(
            "This integration's source cannot look one person up (a membership file is read whole): "
            "run a dry run of the whole import instead.", code="trace_unsupported",
        )
    return source


def needs_jobs(context: RunContext) -> bool:
    """Whether people must be read with their job details: as the import asks (fields read by the
    mapping, its transforms and the scoping rules)."""
    return any(needs_job_details(key) for key in context.fields_read(context.compiled()))


def find_person(source: object, context: RunContext, members: Iterable[CurrentMember], employee_id: str
                ) -> list[SourcePerson]:
    """The people an employee ID names: those the HR system files under it (the key's source field),
    and the HR record of the member that holds it (a renumbered person)."""
    lookup = lookup_of(source)
    compiled = context.compiled()
    jobs = needs_jobs(context)
    found: dict[str, SourcePerson] = {}
    wanted = employee_id.strip()
    # a key intelliHR cannot filter on: the record id itself, if that is what was typed
    key = compiled.employee_id_source if compiled.employee_id_source in lookup.findable else "id"
    for p in lookup.find_people(key, wanted, include_job_details=jobs):
        found.setdefault(p.source_id, p)
    for m in members:
        if m.employee_id == wanted and m.source_id and m.source_id not in found:
            for p in lookup.find_people("id", m.source_id, include_job_details=jobs):
                found.setdefault(p.source_id, p)
    return list(found.values())


@dataclass(frozen=True)
class OnePerson:
    """Who a one-person run is about: an employee ID (a trace), or an HR record (a webhook delivery,
    whose member follows the vanished rule when the HR system no longer has that record)."""

    employee_id: str | None = None
    record: str | None = None

    def find(self, lookup: Any, context: RunContext, members: list[CurrentMember]) -> list[SourcePerson]:
        if self.record is not None:
            return list(lookup.find_people("id", self.record, include_job_details=needs_jobs(context)))
        return find_person(lookup, context, members, self.employee_id or "")

    @property
    def gone(self) -> frozenset[str]:
        """HR records whose member follows the vanished rule when nobody is found."""
        return frozenset() if self.record is None else frozenset({self.record})


def gather(source: object, context: RunContext, members: list[CurrentMember], first: Iterable[SourcePerson]
           ) -> tuple[list[SourcePerson], bool]:
    """``first`` and every person the planner's cross-record rules tie them to, read live: people with
    the same employee ID or address, the people of the members holding their employee ID, address or
    HR record, and so on until nobody new turns up. Returns them and whether :data:`MAX_PEOPLE` cut it short."""
    lookup = lookup_of(source)
    compiled = context.compiled()
    jobs = needs_jobs(context)
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
    """A look-up whose questions are asked once per read: the person read first is not fetched again
    when the planner's neighbours (:func:`gather`) lead back to their HR record."""

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
    """The integration's source, reading only one person (``who``) and the people their outcome depends
    on. After a read: ``first`` (the person's HR records as found), ``targets`` (their ids), ``cut``."""

    def __init__(self, source: Source, context: RunContext, members: list[CurrentMember], who: OnePerson) -> None:
        self._source = source
        self._context = context
        self._members = members
        self._who = who
        self.first: list[SourcePerson] = []
        self.targets: set[str] = set()
        self.cut = False

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
        lookup = _Remembering(lookup_of(self._source))
        self.first = self._who.find(lookup, self._context, self._members)
        self.targets = {p.source_id for p in self.first}
        people, self.cut = gather(lookup, self._context, self._members, self.first) if self.first else ([], False)
        if on_progress is not None:
            on_progress(len(people), len(people))
        yield from people


def relevant(members: Iterable[CurrentMember], drafts: Iterable[MemberDraft]) -> set[int]:
    """The members the drafts meet (by employee ID, HR record or address): those the plan compares values of."""
    drafts = list(drafts)
    ids = {d.employee_id for d in drafts}
    sources = {d.source_id for d in drafts}
    keys = {d.email_key for d in drafts}
    return {m.id for m in members if m.employee_id in ids or m.source_id in sources or email_key(m.email) in keys}


@dataclass
class Narrowed:
    """What makes a run one person's: the source that reads their people, and the narrowing of the plan."""

    source: GatheredSource
    who: OnePerson

    @classmethod
    def of(cls, source: Source, context: RunContext, members: list[CurrentMember], who: OnePerson) -> Narrowed:
        return cls(GatheredSource(source, context, members, who), who)

    def touched(self, current: Iterable[CurrentMember], drafts: Iterable[MemberDraft]) -> set[int]:
        """The members whose stored values the plan needs (the rest are planned without loading them)."""
        current = list(current)
        return relevant(current, drafts) | {m.id for m in current if m.source_id in self.who.gone}

    def narrow(self, plan: SyncPlan, current: list[CurrentMember]) -> SyncPlan:
        if self.source.found:
            return narrow_plan(plan, current, self.source.targets)
        return gone_only(plan, current, self.who.gone)


def narrow_plan(plan: SyncPlan, current: list[CurrentMember], targets: Collection[str]) -> SyncPlan:
    """Only the person's part of ``plan`` (``targets``: their HR records): their change, the changes
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


def gone_only(plan: SyncPlan, current: list[CurrentMember], records: Collection[str]) -> SyncPlan:
    """Nobody was found: keep only what the plan decided for the member(s) holding ``records`` (a
    webhook's HR record the HR system says is gone: a leaver when vanished people are leavers,
    otherwise the "vanished" warning). With no records (a trace's employee ID), nothing."""
    holders = {m.id for m in current if m.source_id in records}
    ids = {m.employee_id for m in current if m.id in holders}
    changes = [c for c in plan.changes if c.member_id in holders]
    issues = [i for i in plan.issues if i.source_id in records or (i.source_id is None and i.employee_id in ids)]
    return SyncPlan(changes=changes, unchanged_count=0, issues=issues, source_count=0, ignored_count=0,
                    unchanged_member_ids=[], fingerprints={})
