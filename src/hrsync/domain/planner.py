"""The planner: (current members, incoming drafts) → what one import will do.

The plan is computed before anything is written, so a dry run, the mass-change brake and the
real run all see the same thing, and a held plan can be stored (:meth:`SyncPlan.to_json`) and
applied days later exactly as it was approved. ``today`` is the programme-timezone date, given
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
* ``changes`` maps a field to ``(old, new)``; besides member fields it holds ``"email"`` and
  ``"status"`` when they change, and ``"source_id"`` when the member is (re)linked to another HR
  record. For CREATE and PENDING it holds only ``"status"``: every value of a new member is in
  its draft, and copying them again would double the size of a stored plan.
* ``errors`` and ``warnings`` in :meth:`SyncPlan.counts` count issues: one per line of the error
  file (a person with both a blank ID and a bad e-mail is two errors).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

from hrsync.domain.records import MemberDraft, RecordIssue, Severity
from hrsync.domain.vocabulary import LEAVER_WINDOW_DAYS, MemberStatus, email_key
from hrsync.sources.base import Lifecycle

DUPLICATE_EMPLOYEE_ID: Final = "duplicate_employee_id"
DUPLICATE_EMAIL: Final = "duplicate_email"
EMAIL_TAKEN: Final = "email_taken"
VANISHED: Final = "vanished"
REINSTATED_AFTER_WINDOW: Final = "reinstated_after_window"
HELD_CHANGE_SKIPPED: Final = "held_change_skipped"
EMPLOYEE_ID_TAKEN: Final = "employee_id_taken"

PLAN_FORMAT: Final = 1

#: Field-level changes of one member: field → (old, new).
Changes = dict[str, tuple[str | None, str | None]]




@dataclass(frozen=True, slots=True)
class CurrentMember:
    """A member as stored, before this import (deleted members are not passed in)."""

    id: int
    employee_id: str
    email: str
    status: MemberStatus
    values: Mapping[str, str | None]
    source_id: str | None = None
    leaver_since: date | None = None


def member_basis(member: CurrentMember) -> str:
    """A short fingerprint of everything the planner reads of a member.

    Two equal bases mean the planner would decide the same for this member; a held plan keeps
    each change's basis so its approval can tell which members moved on during the hold.
    """
    # Invited and active are one class: a member accepting an invitation during a hold changes
    # nothing the planner decides (both are "has access").
    status = MemberStatus.ACTIVE.value if member.status == MemberStatus.INVITED else member.status.value
    state = [
        member.id, member.employee_id, member.email, status, member.source_id,
        None if member.leaver_since is None else member.leaver_since.isoformat(),
        sorted(member.values.items(), key=lambda kv: kv[0]),
    ]
    digest = hashlib.blake2b(json.dumps(state, separators=(",", ":")).encode("utf-8"), digest_size=12)
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """The integration's choices, and the programme-timezone date the import runs on."""

    today: date
    welcome_email: bool = True
    blanks_clear_values: bool = False
    vanished_are_leavers: bool = False
    leaver_window_days: int = LEAVER_WINDOW_DAYS
    #: The key's source field changed since the last import (say employee number → intelliHR ID):
    #: people are matched to members by their HR record, never by the new key values.
    match_by_record: bool = False

    def __post_init__(self) -> None:
        if self.leaver_window_days < 0:
            raise ValueError("leaver_window_days cannot be negative")


class ChangeKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    LEAVER = "leaver"
    REINSTATE = "reinstate"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One member-level change. ``member_id`` is None for CREATE and PENDING (not yet stored)."""

    kind: ChangeKind
    employee_id: str
    member_id: int | None
    draft: MemberDraft | None  # None only for a vanished member made a leaver
    changes: Changes
    new_status: MemberStatus | None = None
    leaving_date: date | None = None
    #: The member as the plan saw it (:func:`member_basis`); a held plan's change whose member has
    #: moved on since (another basis, or deleted) is not applied on approval.
    basis: str | None = None
    #: For a LEAVER: the day they became a leaver and the first day without access (the planner
    #: decides both; :func:`hrsync.sync` only writes them).
    leaver_since: date | None = None
    access_until: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "employee_id": self.employee_id,
            "member_id": self.member_id,
            "draft": None if self.draft is None else self.draft.to_json(),
            "changes": {k: [old, new] for k, (old, new) in self.changes.items()},
            "new_status": None if self.new_status is None else self.new_status.value,
            "leaving_date": None if self.leaving_date is None else self.leaving_date.isoformat(),
            "basis": self.basis,
            "leaver_since": None if self.leaver_since is None else self.leaver_since.isoformat(),
            "access_until": None if self.access_until is None else self.access_until.isoformat(),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> PlannedChange:
        draft = d["draft"]
        status = d["new_status"]
        leaving = d["leaving_date"]
        return cls(
            kind=ChangeKind(d["kind"]),
            employee_id=d["employee_id"],
            member_id=d["member_id"],
            draft=None if draft is None else MemberDraft.from_json(draft),
            changes={k: (pair[0], pair[1]) for k, pair in d["changes"].items()},
            new_status=None if status is None else MemberStatus(status),
            leaving_date=None if leaving is None else date.fromisoformat(leaving),
            basis=d.get("basis"),
            leaver_since=_date_or_none(d.get("leaver_since")),
            access_until=_date_or_none(d.get("access_until")),
        )


def _date_or_none(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


_COUNT_KEYS: Final[dict[ChangeKind, str]] = {
    ChangeKind.CREATE: "created",
    ChangeKind.UPDATE: "updated",
    ChangeKind.LEAVER: "leavers",
    ChangeKind.REINSTATE: "reinstated",
    ChangeKind.PENDING: "pending",
}


@dataclass
class SyncPlan:
    """Everything one import will do. UNCHANGED members are only counted (and their ids kept)."""

    changes: list[PlannedChange]
    unchanged_count: int
    issues: list[RecordIssue]
    source_count: int  # people the source returned, skipped ones included
    ignored_count: int = 0  # inactive people who are not members: nothing to do
    unchanged_member_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The run's counts, with exactly the keys the CLI, e-mails and history show."""
        result = {
            "created": 0, "updated": 0, "unchanged": self.unchanged_count, "leavers": 0,
            "reinstated": 0, "pending": 0, "errors": 0, "warnings": 0,
        }
        for change in self.changes:
            key = _COUNT_KEYS.get(change.kind)
            if key is not None:
                result[key] += 1
        for issue in self.issues:
            result["errors" if issue.severity == Severity.ERROR else "warnings"] += 1
        return result

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (only str, int, None, lists, dicts); :meth:`from_json` inverts it."""
        return {
            "format": PLAN_FORMAT,
            "source_count": self.source_count,
            "unchanged_count": self.unchanged_count,
            "ignored_count": self.ignored_count,
            "unchanged_member_ids": list(self.unchanged_member_ids),
            "changes": [c.to_json() for c in self.changes],
            "issues": [i.to_json() for i in self.issues],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SyncPlan:
        if d.get("format") != PLAN_FORMAT:
            raise ValueError(f"Unsupported plan format {d.get('format')!r}; expected {PLAN_FORMAT}.")
        return cls(
            changes=[PlannedChange.from_json(c) for c in d["changes"]],
            unchanged_count=d["unchanged_count"],
            issues=[RecordIssue.from_json(i) for i in d["issues"]],
            source_count=d["source_count"],
            ignored_count=d["ignored_count"],
            unchanged_member_ids=list(d["unchanged_member_ids"]),
        )


def _diff(member: CurrentMember, draft: MemberDraft, blanks_clear: bool) -> Changes:
    changes: Changes = {}
    if draft.employee_id != member.employee_id:  # the member was relinked by its HR record
        changes["employee_id"] = (member.employee_id, draft.employee_id)
    if draft.email != member.email:
        changes["email"] = (member.email, draft.email)
    stored = member.values
    for key, new in draft.values.items():
        if new is None and not blanks_clear:
            continue
        old = stored.get(key)
        if old != new:
            changes[key] = (old, new)
    if draft.source_id != member.source_id:
        changes["source_id"] = (member.source_id, draft.source_id)
    return changes


def _created(status: MemberStatus) -> Changes:
    """A new member's changes: only its status; its values are the draft's (not copied twice)."""
    return {"status": (None, status.value)}


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
        number 17 is not intelliHR ID 17). Each person is matched to the member of their own HR
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

    def plan_existing(self, draft: MemberDraft, member: CurrentMember) -> None:
        options = self.options
        status = member.status
        rekey: Changes = {}
        if draft.employee_id != member.employee_id:
            rekey["employee_id"] = (member.employee_id, draft.employee_id)
        if draft.lifecycle == Lifecycle.INACTIVE:
            if status != MemberStatus.LEAVER:  # active, invited or pending
                leaving = draft.leaving_date or options.today
                to_leaver: Changes = {**rekey, "status": (status.value, MemberStatus.LEAVER.value)}
                self.add(ChangeKind.LEAVER, draft.employee_id, draft, member, to_leaver,
                         MemberStatus.LEAVER, leaving)
            elif rekey:
                self.add(ChangeKind.UPDATE, draft.employee_id, draft, member, rekey)
            else:
                self.unchanged_ids.append(member.id)
            return

        changes = _diff(member, draft, options.blanks_clear_values)
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
        elif status == MemberStatus.PENDING and draft.lifecycle == Lifecycle.ACTIVE:
            new_status = MemberStatus.INVITED if options.welcome_email else MemberStatus.ACTIVE
            changes["status"] = (status.value, new_status.value)
            self.add(ChangeKind.UPDATE, draft.employee_id, draft, member, changes, new_status)
        elif changes:
            self.add(ChangeKind.UPDATE, draft.employee_id, draft, member, changes)
        else:
            self.unchanged_ids.append(member.id)

    def plan_vanished(self, seen: set[str]) -> None:
        options = self.options
        for member in self.members:
            if member.employee_id in seen or member.id in self.relinked or member.status == MemberStatus.LEAVER:
                continue
            if member.employee_id in self.protected_ids or member.source_id in self.protected_sources:
                continue  # a record error points at this member: it is not known to be gone
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
) -> SyncPlan:
    """Plan one import. ``issues`` are the record issues from :func:`build_draft`, carried into
    the plan. ``source_count`` defaults to the drafts plus the distinct people skipped by errors.
    """
    planner = _Planner(current, issues, options)
    incoming = list(drafts)

    planner.skip_duplicate_ids(incoming)
    if options.match_by_record:
        planner.match_by_record(incoming)
    else:
        planner.relink_changed_ids(incoming)
    # Inactive strangers are ignored before e-mail checks: they will not hold an address.
    ignored = 0
    considered: list[MemberDraft] = []
    for d in incoming:
        if d.employee_id in planner.skipped:
            continue
        if d.lifecycle == Lifecycle.INACTIVE and d.employee_id not in planner.by_id:
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
        unchanged_member_ids=planner.unchanged_ids,
    )


def recheck_held_plan(plan: SyncPlan, current: Iterable[CurrentMember], today: date | None = None) -> SyncPlan:
    """The part of a held plan that still holds for the members as they are now.

    A plan held for days is approved against a programme that moved on: the close-down deleted
    leavers, pre-hires started, people accepted invitations. A change is applied only if its member
    is still what the plan saw (same :func:`member_basis`; not deleted) and, for a new member, if
    nobody took its employee ID meanwhile. Changes that would then leave two members with one
    employee ID or one address (the other half of a swap was skipped) are skipped too, until none
    is left. Every skipped change becomes a ``held_change_skipped`` warning on the approved run;
    the next import plans those people afresh. Given ``today`` (the approval day), leavers become
    leavers on that day: their window starts when the change is applied, not when it was planned.
    """
    members = {m.id: m for m in current if m.status != MemberStatus.DELETED}
    kept: list[PlannedChange] = []
    warnings: list[RecordIssue] = []

    def skip(change: PlannedChange, why: str) -> None:
        warnings.append(RecordIssue(
            Severity.WARNING, HELD_CHANGE_SKIPPED,
            f"This {change.kind.value} was approved but not applied: {why}. The next import plans it again.",
            None, change.employee_id, None if change.draft is None else change.draft.source_id,
        ))

    holders = {m.employee_id for m in members.values()}
    for change in plan.changes:
        if change.member_id is None:
            if change.employee_id in holders:
                skip(change, "a member with this employee ID was created while the import was held")
                continue
        else:
            member = members.get(change.member_id)
            if member is None:
                skip(change, "the member was deleted while the import was held")
                continue
            if change.basis is not None and member_basis(member) != change.basis:
                skip(change, "the member changed while the import was held")
                continue
        kept.append(change)

    while True:
        clashing = _clashing_claims(kept, members.values())
        if not clashing:
            break
        for change in clashing:
            skip(change, "its employee ID or e-mail address would clash with another member's")
        dropped = {id(c) for c in clashing}
        kept = [c for c in kept if id(c) not in dropped]

    if today is not None:
        kept = [_redated(c, today) for c in kept]
    return SyncPlan(
        changes=kept,
        unchanged_count=plan.unchanged_count,
        issues=[*plan.issues, *warnings],
        source_count=plan.source_count,
        ignored_count=plan.ignored_count,
        unchanged_member_ids=plan.unchanged_member_ids,
    )


def _redated(change: PlannedChange, today: date) -> PlannedChange:
    if change.kind != ChangeKind.LEAVER or change.leaver_since is None or change.access_until is None:
        return change
    window = change.access_until - change.leaver_since
    return replace(change, leaver_since=today, access_until=today + window)


def _clashing_claims(changes: list[PlannedChange], members: Iterable[CurrentMember]) -> list[PlannedChange]:
    """Changes that would give an employee ID or an address (without case) to two members."""
    claims: dict[tuple[str, str], list[PlannedChange | None]] = {}
    moving_email = {c.member_id for c in changes if "email" in c.changes}
    moving_id = {c.member_id for c in changes if "employee_id" in c.changes}
    for m in members:
        if m.id not in moving_id:
            claims.setdefault(("id", m.employee_id), []).append(None)  # None: a member keeping it
        if m.id not in moving_email and m.email:
            claims.setdefault(("email", email_key(m.email)), []).append(None)
    for c in changes:
        if c.draft is None:
            continue
        if c.member_id is None or "employee_id" in c.changes:
            claims.setdefault(("id", c.draft.employee_id), []).append(c)
        if c.member_id is None or "email" in c.changes:
            claims.setdefault(("email", c.draft.email_key), []).append(c)
    clashing = {id(c): c for owners in claims.values() if len(owners) > 1 for c in owners if c is not None}
    return list(clashing.values())
