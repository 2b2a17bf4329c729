"""The planner: (current members, incoming drafts) → what one import will do.

The plan is computed before anything is written, so a dry run, the mass-change brake and the
real run all see the same thing, and a held plan can be stored (:meth:`SyncPlan.to_json`, in
:mod:`hrsync.domain.plan_types`) and applied days later exactly as it was approved (re-checked by
:mod:`hrsync.domain.held`). ``today`` is the programme-timezone date, given
by the caller: the planner never reads a clock.

People are matched to members by **employee ID**; the e-mail address is a changeable attribute
(an e-mail change under the same employee ID updates the member, never duplicates it). The one
exception: a person whose employee ID changed in the HR system is matched by their HR record (the
source ID) when that is unambiguous, and the member's employee ID changes (see
:meth:`_Planner.relink_changed_ids` and docs/decisions/0011).

Outcomes for a person with a valid draft:

============================  =================  ==============================================
member today                  HR lifecycle       outcome
============================  =================  ==============================================
none                          active             CREATE, status ``invited`` (welcome e-mails on)
                                                 or ``active`` (off)
none                          pending            PENDING: created ``pending``, invited from the
                                                 start date
none                          inactive           ignored (counted in ``ignored_count``): nobody
                                                 to close down
active / invited              active or pending  UPDATE with field-level changes, or UNCHANGED;
                                                 the status stays (a pending HR status never
                                                 demotes someone who already has access)
pending                       active             UPDATE, status → ``invited`` (welcome on) or
                                                 ``active``, plus field changes
pending                       pending            UPDATE or UNCHANGED (fields only)
active / invited / pending    inactive           LEAVER, leaving date = the draft's (last day
                                                 of the primary job) or ``today``; other fields
                                                 are not touched
leaver                        active             REINSTATE, status → ``active``, field changes
leaver                        pending            REINSTATE, status → ``pending`` (a rehire with
                                                 a future start: stops the close-down clock,
                                                 invited from the start date)
leaver                        inactive           UNCHANGED
============================  =================  ==============================================

Decisions where the rules leave room:

* **Reinstating after the 60-day window.** Members are deleted by the close-down job once the
  window is over, and deleted members are never passed in; so a leaver still present after the
  window only means deletion has not run yet. The record exists, creating a second member is
  impossible (same key and e-mail), so the leaver is still REINSTATEd, with a
  ``reinstated_after_window`` warning so the administrator knows it was late.
* **Blanks.** A blank source value (``None`` in the draft) leaves the stored value alone unless
  ``blanks_clear_values`` is on. Values the draft does not carry (invalid, not delivered, not
  mapped) never change anything.
* **Vanished members** (active, invited or pending, with no person in the directory at all) get a
  ``vanished`` warning, or become LEAVERs (leaving ``today``) when ``vanished_are_leavers`` is on.
  A leaver that vanishes is expected and says nothing.
* **Conflicts are errors; the record is skipped**, and a member involved in one is never made a
  leaver or reported vanished (nor is a member whose person had a record error, matched by
  employee ID or by source ID):

  - ``duplicate_employee_id``: several people carry the same employee ID (including a person
    skipped for a record error): all copies are skipped. Exception: when no member has that ID
    and every copy is inactive, nothing would happen anyway, so they are quietly ignored.
  - ``duplicate_email``: several active or pending people carry the same address, compared
    without case: all copies are skipped. Inactive people do not claim their address (a past
    employee and their rehire may share one).
  - ``email_taken``: the address belongs to another member who keeps it after this import. A
    member who moves to another address in the same import releases theirs, so two members
    swapping addresses is fine; when the releasing member is itself skipped, the release does
    not happen and the claimant is skipped too (resolved until nothing changes).
* **Ownership** (:mod:`hrsync.domain.ownership`): only the members this import's integration owns
  are planned for; a person holding another door's member's employee ID or address is skipped
  (``owned_elsewhere``).
* ``changes`` maps a field to ``(old, new)``; besides member fields it holds ``"email"`` and
  ``"status"`` when they change, and ``"source_id"`` when the member is (re)linked to another HR
  record. For CREATE and PENDING it holds only ``"status"``: every value of a new member is in
  its draft, and copying them again would double the size of a stored plan.
* ``errors`` and ``warnings`` in :meth:`SyncPlan.counts` count issues: one per line of the error
  file (a person with both a blank ID and a bad e-mail is two errors).
* **Stand-ins** (:mod:`hrsync.domain.fingerprint`) take part in every cross-record rule like any
  draft; one that would change anything raises :class:`StandInOutdated` (the runner reads again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from typing import Final

from hrsync.domain.ownership import own_members, skip_owned_elsewhere
from hrsync.domain.plan_types import (
    ChangeKind,
    Changes,
    CurrentMember,
    PlannedChange,
    PlanOptions,
    StandInOutdated,
    SyncPlan,
    field_changes,
    keeps_status,
    member_basis,
)
from hrsync.domain.records import MemberDraft, RecordIssue, Severity
from hrsync.domain.vocabulary import MemberStatus, email_key
from hrsync.sources.base import Lifecycle

DUPLICATE_EMPLOYEE_ID: Final = "duplicate_employee_id"
DUPLICATE_EMAIL: Final = "duplicate_email"
EMAIL_TAKEN: Final = "email_taken"
VANISHED: Final = "vanished"
REINSTATED_AFTER_WINDOW: Final = "reinstated_after_window"
EMPLOYEE_ID_TAKEN: Final = "employee_id_taken"


#: A new member's changes, one shared dict per status: a first import of 100,000 people would otherwise
#: hold 100,000 equal dicts (about 20 MB; issue 27). Planned changes are never altered after planning.
_CREATED: Final[dict[MemberStatus, Changes]] = {status: {"status": (None, status.value)} for status in MemberStatus}


def _created(status: MemberStatus) -> Changes:
    """A new member's changes: only its status; its values are the draft's (not copied twice)."""
    return _CREATED[status]


def _error(code: str, message: str, draft: MemberDraft, field_key: str | None) -> RecordIssue:
    return RecordIssue(Severity.ERROR, code, message, field_key, draft.employee_id, draft.source_id)


class _Planner:
    """One planning pass; state lives here so :func:`plan_sync` reads as the list of steps."""

    def __init__(self, current: Iterable[CurrentMember], issues: Iterable[RecordIssue],
                 options: PlanOptions) -> None:
        self.options = options
        self.members = [m for m in current if m.status != MemberStatus.DELETED]
        self.by_id = {m.employee_id: m for m in self.members}
        self.by_email = {email_key(m.email): m for m in self.members}
        self.issues = list(issues)
        self.new_issues: list[RecordIssue] = []
        self.changes: list[PlannedChange] = []
        self.unchanged_ids: list[int] = []
        self.fingerprints: dict[int, str] = {}  # unchanged members whose stored fingerprint is replaced
        self.skipped: set[str] = set()  # employee ids whose drafts are skipped for a conflict
        self.relinked: set[int] = set()  # members matched by HR record because their employee ID changed
        self.holders: dict[str, CurrentMember] = {}  # after a key change: who holds each ID before it
        # Who the record errors point at: those members are never leavers or vanished.
        self.protected_ids: set[str] = set()
        self.protected_sources: set[str] = set()
        self.error_sources_by_id: dict[str, set[str]] = {}
        for issue in self.issues:
            if issue.severity != Severity.ERROR:
                continue
            if issue.employee_id is not None:
                self.protected_ids.add(issue.employee_id)
                if issue.source_id is not None:
                    self.error_sources_by_id.setdefault(issue.employee_id, set()).add(issue.source_id)
            if issue.source_id is not None:
                self.protected_sources.add(issue.source_id)

    # -- conflicts -----------------------------------------------------------------------------

    def skip_duplicate_ids(self, drafts: list[MemberDraft]) -> None:
        first: dict[str, MemberDraft] = {}
        duplicated: set[str] = set()
        for d in drafts:
            if d.employee_id in first:
                duplicated.add(d.employee_id)
            else:
                first[d.employee_id] = d
        # A person skipped for a record error but carrying the same ID is a copy too.
        for employee_id, sources in self.error_sources_by_id.items():
            known = first.get(employee_id)
            if known is not None and sources - {known.source_id}:
                duplicated.add(employee_id)
        if not duplicated:
            return
        copies = [d for d in drafts if d.employee_id in duplicated]
        copy_sources: dict[str, set[str]] = {}
        for d in copies:
            copy_sources.setdefault(d.employee_id, set()).add(d.source_id)
        totals = Counter(d.employee_id for d in copies)
        for employee_id, sources in copy_sources.items():
            totals[employee_id] += len(self.error_sources_by_id.get(employee_id, set()) - sources)
        matters = {
            d.employee_id for d in copies
            if d.lifecycle != Lifecycle.INACTIVE or d.employee_id in self.by_id
            or d.employee_id in self.error_sources_by_id
        }
        for d in copies:
            if d.employee_id not in matters:
                continue  # inactive copies of nobody we know: ignored, like any inactive stranger
            self.skipped.add(d.employee_id)
            self.protected_ids.add(d.employee_id)
            self.new_issues.append(_error(
                DUPLICATE_EMPLOYEE_ID,
                f"Employee ID {d.employee_id!r} is used by {totals[d.employee_id]} people in the HR "
                "system; all of them were skipped.",
                d, "employee_id",
            ))

    def record_members(self, drafts: list[MemberDraft]) -> dict[str, CurrentMember]:
        """HR record (source ID) → its member, where exactly one member and one person carry it."""
        members_per_source = Counter(m.source_id for m in self.members if m.source_id is not None)
        drafts_per_source = Counter(d.source_id for d in drafts)
        return {
            m.source_id: m for m in self.members
            if m.source_id is not None and members_per_source[m.source_id] == 1
            and drafts_per_source[m.source_id] == 1
        }

    def relink_changed_ids(self, drafts: list[MemberDraft]) -> None:
        """A person whose employee ID changed in the HR system keeps their member.

        A draft whose employee ID no member and no other person has, carrying the HR record (source
        ID) of exactly one member whose own employee ID nobody in the directory uses any more, is
        matched to that member, and the member's employee ID changes with the rest of its fields.
        """
        in_use = {d.employee_id for d in drafts} | self.protected_ids
        record_member = self.record_members(drafts)
        drafts_per_id = Counter(d.employee_id for d in drafts)
        for d in drafts:
            if d.employee_id in self.skipped or d.employee_id in self.by_id:
                continue
            member = record_member.get(d.source_id)
            if member is None or drafts_per_id[d.employee_id] != 1:
                continue  # only an unambiguous person is relinked
            if member.employee_id in in_use or member.source_id in self.protected_sources:
                continue
            self.by_id[d.employee_id] = member
            self.relinked.add(member.id)

    def match_by_record(self, drafts: list[MemberDraft]) -> None:
        """After a change of the key's source field, the stored employee IDs are values of the old
        field: matching the new values against them would pair people with strangers (employee
        number 17 is not HR record number 17). Each person is matched to the member of their own HR
        record instead, and takes the new key; a person no member's record matches is new. A new
        key still held by a member that keeps it is a conflict (:meth:`skip_taken_ids`).
        """
        record_member = self.record_members(drafts)
        self.holders, self.by_id = self.by_id, {}  # who holds each employee ID before this import
        for d in drafts:
            member = record_member.get(d.source_id)
            if d.employee_id not in self.skipped and member is not None:
                self.by_id[d.employee_id] = member
                self.relinked.add(member.id)  # its person is here: never "vanished"

    def skip_taken_ids(self, considered: list[MemberDraft]) -> bool:
        """After a key change: skip people whose new employee ID a member keeps (one that is not
        itself taking a new ID, because its person is gone or skipped). Returns whether anyone was
        skipped; run with :meth:`skip_taken_emails` until neither skips anyone, since each skip can
        stop a member from moving off an ID or an address."""
        kept = [d for d in considered if d.employee_id not in self.skipped]
        rekeyed = {m.id for m in map(self.member_of, kept) if m is not None}
        skipped_any = False
        for d in kept:
            holder = self.holders.get(d.employee_id)
            own = self.member_of(d)
            if holder is None or holder is own or holder.id in rekeyed:
                continue
            if own is not None:
                rekeyed.discard(own.id)
            self.skipped.add(d.employee_id)
            self.protected_ids.update({d.employee_id, holder.employee_id})
            self.new_issues.append(_error(
                EMPLOYEE_ID_TAKEN,
                f"Employee ID {d.employee_id!r} still belongs to another member, who keeps it in this "
                "import (their person is not in the HR directory, or was skipped); this person was skipped.",
                d, "employee_id",
            ))
            skipped_any = True
        return skipped_any

    def member_of(self, draft: MemberDraft) -> CurrentMember | None:
        return self.by_id.get(draft.employee_id)

    def skip_duplicate_emails(self, claimants: list[MemberDraft]) -> None:
        first: dict[str, MemberDraft] = {}
        duplicated: set[str] = set()
        for d in claimants:
            key = d.email_key
            if key in first:
                duplicated.add(key)
            else:
                first[key] = d
        if not duplicated:
            return
        groups: dict[str, list[MemberDraft]] = {}
        for d in claimants:
            if d.email_key in duplicated:
                groups.setdefault(d.email_key, []).append(d)
        for group in groups.values():
            for d in group:
                others = ", ".join(repr(o.employee_id) for o in group if o is not d)
                self.skipped.add(d.employee_id)
                self.protected_ids.add(d.employee_id)
                self.new_issues.append(_error(
                    DUPLICATE_EMAIL,
                    f"Email {d.email!r} is also used by employee ID {others} in the HR system; "
                    "all of them were skipped.",
                    d, "email",
                ))

    def skip_taken_emails(self, claimants: list[MemberDraft]) -> None:
        """Skip claimants of an address another member keeps; iterate since skips cascade.

        A holder that is itself a (kept) claimant moves to another address: had it claimed the
        same one, both would have been skipped as duplicates already.
        """
        kept = [d for d in claimants if d.employee_id not in self.skipped]
        moving = {m.id for m in map(self.member_of, kept) if m is not None}
        contested = []
        for d in kept:
            holder = self.by_email.get(d.email_key)
            if holder is not None and holder is not self.member_of(d):
                contested.append((d, holder))
        changed = True
        while changed:
            changed = False
            for d, holder in contested:
                if d.employee_id in self.skipped or holder.id in moving:
                    continue  # already skipped, or the holder moves to another address
                own = self.member_of(d)
                if own is not None:
                    moving.discard(own.id)
                self.skipped.add(d.employee_id)
                self.protected_ids.add(d.employee_id)
                self.new_issues.append(_error(
                    EMAIL_TAKEN,
                    f"Email {d.email!r} already belongs to the member with employee ID "
                    f"{holder.employee_id!r}; this person was skipped.",
                    d, "email",
                ))
                changed = True

    # -- outcomes ------------------------------------------------------------------------------

    def add(
        self, kind: ChangeKind, employee_id: str, draft: MemberDraft | None, member: CurrentMember | None,
        changes: Changes, new_status: MemberStatus | None = None, leaving_date: date | None = None,
    ) -> None:
        if draft is not None and draft.stand_in:
            raise StandInOutdated(f"employee ID {employee_id!r} would be a {kind.value} planned from a stand-in")
        member_id = None if member is None else member.id
        basis = None if member is None else member_basis(member)
        since = until = None
        if kind == ChangeKind.LEAVER:
            since = self.options.today
            until = since + timedelta(days=self.options.leaver_window_days)
        self.changes.append(
            PlannedChange(kind, employee_id, member_id, draft, changes, new_status, leaving_date, basis, since, until)
        )

    def plan_new(self, draft: MemberDraft) -> None:
        if draft.lifecycle == Lifecycle.ACTIVE:
            status = MemberStatus.INVITED if self.options.welcome_email else MemberStatus.ACTIVE
            self.add(ChangeKind.CREATE, draft.employee_id, draft, None, _created(status), status)
        else:  # PENDING; inactive strangers were filtered out before
            status = MemberStatus.PENDING
            self.add(ChangeKind.PENDING, draft.employee_id, draft, None, _created(status), status)

    def unchanged(self, draft: MemberDraft, member: CurrentMember) -> None:
        self.unchanged_ids.append(member.id)
        if draft.fingerprint is not None and draft.fingerprint != member.fingerprint:
            self.fingerprints[member.id] = draft.fingerprint  # equal to the draft now: it may vouch

    def plan_existing(self, draft: MemberDraft, member: CurrentMember) -> None:
        options = self.options
        status = member.status
        if draft.stand_in and draft.fingerprint != member.fingerprint:  # (a change from one raises in add)
            raise StandInOutdated(f"the member with employee ID {member.employee_id!r} changed during the read")
        rekey: Changes = {}
        if draft.employee_id != member.employee_id:
            rekey["employee_id"] = (member.employee_id, draft.employee_id)
        if draft.lifecycle == Lifecycle.INACTIVE:
            if not keeps_status(draft.lifecycle, status):  # active, invited or pending
                leaving = draft.leaving_date or options.today
                to_leaver: Changes = {**rekey, "status": (status.value, MemberStatus.LEAVER.value)}
                self.add(ChangeKind.LEAVER, draft.employee_id, draft, member, to_leaver,
                         MemberStatus.LEAVER, leaving)
            elif rekey:
                self.add(ChangeKind.UPDATE, draft.employee_id, draft, member, rekey)
            else:
                self.unchanged(draft, member)
            return

        changes = field_changes(member, draft, options.blanks_clear_values)
        if status == MemberStatus.LEAVER:
            new_status = MemberStatus.ACTIVE if draft.lifecycle == Lifecycle.ACTIVE else MemberStatus.PENDING
            changes["status"] = (status.value, new_status.value)
            since = member.leaver_since
            if since is not None and (options.today - since).days > options.leaver_window_days:
                self.new_issues.append(RecordIssue(
                    Severity.WARNING, REINSTATED_AFTER_WINDOW,
                    f"This person is active again {(options.today - since).days} days after leaving, "
                    f"beyond the {options.leaver_window_days}-day window, but the member was not deleted "
                    "yet, so it was reinstated.",
                    None, draft.employee_id, draft.source_id,
                ))
            self.add(ChangeKind.REINSTATE, draft.employee_id, draft, member, changes, new_status)
        elif not keeps_status(draft.lifecycle, status):  # pending, and the person started
            new_status = MemberStatus.INVITED if options.welcome_email else MemberStatus.ACTIVE
            changes["status"] = (status.value, new_status.value)
            self.add(ChangeKind.UPDATE, draft.employee_id, draft, member, changes, new_status)
        elif changes:
            self.add(ChangeKind.UPDATE, draft.employee_id, draft, member, changes)
        else:
            self.unchanged(draft, member)

    def plan_vanished(self, seen: set[str]) -> None:
        options = self.options
        for member in self.members:
            if member.employee_id in seen or member.id in self.relinked or member.status == MemberStatus.LEAVER:
                continue
            if member.employee_id in self.protected_ids or member.source_id in self.protected_sources:
                continue  # a record error points at this member: it is not known to be gone
            if options.vanished_records is not None and member.source_id not in options.vanished_records:
                continue  # a one-person run: only its own HR record can be known to be gone
            if options.vanished_are_leavers:
                self.add(ChangeKind.LEAVER, member.employee_id, None, member,
                         {"status": (member.status.value, MemberStatus.LEAVER.value)},
                         MemberStatus.LEAVER, options.today)
            else:
                self.new_issues.append(RecordIssue(
                    Severity.WARNING, VANISHED,
                    "This member is no longer in the HR directory; it was left as it is "
                    "(mark vanished people as leavers in the integration's settings to close them down).",
                    None, member.employee_id, member.source_id,
                ))


def plan_sync(
    current: Iterable[CurrentMember],
    drafts: Iterable[MemberDraft],
    issues: Iterable[RecordIssue],
    options: PlanOptions,
    *,
    source_count: int | None = None,
    out_of_scope: Collection[str] = frozenset(),
) -> SyncPlan:
    """Plan one import. ``issues`` are the record issues from :func:`build_draft`, carried into
    the plan. ``source_count`` defaults to the drafts plus the distinct people skipped by errors.
    ``out_of_scope``: the HR records the scoping rules left out (read as inactive); those who are
    not members are counted in ``excluded_count`` rather than ``ignored_count``.
    """
    own, foreign = own_members(current)  # another door's members are never planned for, only guarded
    owned = skip_owned_elsewhere(drafts, foreign)
    planner = _Planner(own, [*issues, *owned.issues], options)
    incoming = owned.drafts

    planner.skip_duplicate_ids(incoming)
    if options.match_by_record:
        planner.match_by_record(incoming)
    else:
        planner.relink_changed_ids(incoming)
    # Inactive strangers are ignored before e-mail checks: they will not hold an address.
    ignored = excluded = 0
    considered: list[MemberDraft] = []
    for d in incoming:
        if d.employee_id in planner.skipped:
            continue
        if d.lifecycle == Lifecycle.INACTIVE and d.employee_id not in planner.by_id:
            if d.source_id in out_of_scope:
                excluded += 1
            else:
                ignored += 1
        else:
            considered.append(d)
    claimants = [d for d in considered if d.lifecycle != Lifecycle.INACTIVE]
    planner.skip_duplicate_emails(claimants)
    planner.skip_taken_emails(claimants)
    while options.match_by_record and planner.skip_taken_ids(considered):
        planner.skip_taken_emails(claimants)

    for d in considered:
        if d.employee_id in planner.skipped:
            continue
        member = planner.by_id.get(d.employee_id)
        if member is None:
            planner.plan_new(d)
        else:
            planner.plan_existing(d, member)

    planner.plan_vanished({d.employee_id for d in incoming})

    if source_count is None:
        draft_sources = {d.source_id for d in incoming}
        skipped_people = {
            i.source_id for i in planner.issues
            if i.severity is Severity.ERROR and i.source_id is not None and i.source_id not in draft_sources
        }
        source_count = len(incoming) + len(skipped_people)

    return SyncPlan(
        changes=planner.changes,
        unchanged_count=len(planner.unchanged_ids),
        issues=planner.issues + planner.new_issues,
        source_count=source_count,
        ignored_count=ignored,
        excluded_count=excluded,
        unchanged_member_ids=planner.unchanged_ids,
        fingerprints=planner.fingerprints,
        claims=owned.claims,
    )
