"""What a plan is made of: the members it reads, the options it runs with, the changes it makes.

A :class:`SyncPlan` round-trips through JSON (:meth:`SyncPlan.to_json`) so a held plan can be
stored and applied days later exactly as it was approved. The planner that makes one is
:mod:`hrsync.domain.planner`; re-checking a held one is :mod:`hrsync.domain.held`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Final, NoReturn

from hrsync.domain.records import MemberDraft, RecordIssue, Severity
from hrsync.domain.vocabulary import COUNT_KEYS, LEAVER_WINDOW_DAYS, MemberStatus
from hrsync.sources.base import Lifecycle

PLAN_FORMAT: Final = 1

#: Field-level changes of one member: field → (old, new).
Changes = dict[str, tuple[str | None, str | None]]


class _NotLoaded(Mapping[str, str | None]):
    """The values of a member an import did not load, because its person's fingerprint showed it
    stays unchanged (:mod:`hrsync.domain.fingerprint`). Reading them is a bug, and says so."""

    def _refuse(self) -> NoReturn:
        raise RuntimeError("this member's values were not loaded: its person was settled by fingerprint")

    def __getitem__(self, key: str) -> str | None:
        self._refuse()

    def __iter__(self) -> Iterator[str]:
        self._refuse()

    def __len__(self) -> int:
        self._refuse()

    def __repr__(self) -> str:
        return "NOT_LOADED"


NOT_LOADED: Final[Mapping[str, str | None]] = _NotLoaded()


@dataclass(frozen=True, slots=True)
class CurrentMember:
    """A member as stored, before this import (deleted members are not passed in).

    ``values`` is :data:`NOT_LOADED` for a member whose person stays unchanged by fingerprint; the
    planner never reads it then.
    """

    id: int
    employee_id: str
    email: str
    status: MemberStatus
    values: Mapping[str, str | None]
    source_id: str | None = None
    leaver_since: date | None = None
    fingerprint: str | None = None  # see hrsync.domain.fingerprint
    #: None: owned by the integration importing now; else the door that owns it, for people
    #: ("the <kind name> integration #3"): the import leaves it alone (hrsync.domain.ownership).
    owner: str | None = None


def keeps_status(lifecycle: Lifecycle, status: MemberStatus) -> bool:
    """Whether a member with ``status`` keeps it when its person's HR lifecycle is ``lifecycle`` (the
    outcome table of :mod:`hrsync.domain.planner`): only then can an import leave it unchanged."""
    if lifecycle == Lifecycle.INACTIVE or status == MemberStatus.LEAVER:
        return lifecycle == Lifecycle.INACTIVE and status == MemberStatus.LEAVER
    return not (status == MemberStatus.PENDING and lifecycle == Lifecycle.ACTIVE)


def field_changes(member: CurrentMember, draft: MemberDraft, blanks_clear: bool) -> Changes:
    """What the draft changes of the member (the planner's diff; blanks clear only when asked)."""
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
    if member.owner is not None:  # handed to another door during a hold: the planner decides otherwise
        state.append(member.owner)
    digest = hashlib.blake2b(json.dumps(state, separators=(",", ":")).encode("utf-8"), digest_size=12)
    return digest.hexdigest()


class StandInOutdated(Exception):
    """A stand-in draft (:mod:`hrsync.domain.fingerprint`) met a member that moved on since its
    fingerprint was checked: the person must be drafted in full (the runner reads again)."""


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """The integration's choices, and the programme-timezone date the import runs on."""

    today: date
    welcome_email: bool = True
    blanks_clear_values: bool = False
    vanished_are_leavers: bool = False
    leaver_window_days: int = LEAVER_WINDOW_DAYS
    #: The key's source field changed since the last import (say employee number → the HR system's own ID):
    #: people are matched to members by their HR record, never by the new key values.
    match_by_record: bool = False
    #: Whose vanishing is decided: ``None`` every member's (a whole import); otherwise only the members
    #: holding these HR records (a one-person run read a few people, so nobody else is known to be gone).
    vanished_records: frozenset[str] | None = None

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
    excluded_count: int = 0  # people out of scope (scoping rules) who are not members: nothing to do either
    unchanged_member_ids: list[int] = field(default_factory=list)
    #: Unchanged members whose stored fingerprint the apply replaces (member id → fingerprint).
    #: Not part of a stored plan: a held plan re-checks only its changes, so an unchanged member may
    #: have moved on by its approval, and its fingerprint must not vouch for it then.
    fingerprints: dict[int, str] = field(default_factory=dict, compare=False)
    #: Other doors' members a skipped person pointed at (member id → that person's employee ID), for
    #: the apply to note in those members' histories. Not part of a stored plan either.
    claims: dict[int, str] = field(default_factory=dict, compare=False)

    def counts(self) -> dict[str, int]:
        """The run's counts, with exactly the keys the CLI, e-mails and history show."""
        result = dict.fromkeys(COUNT_KEYS, 0)
        result["unchanged"] = self.unchanged_count
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
            "excluded_count": self.excluded_count,
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
            excluded_count=int(d.get("excluded_count") or 0),  # held before scoped people were counted apart
            unchanged_member_ids=list(d["unchanged_member_ids"]),
        )
