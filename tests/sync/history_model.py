"""A small reference model of the membership rules, for the model-based tests of the import.

It is written from the rules (the README's features, the decision notes in ``docs/decisions/`` and the
outcome table in :mod:`hrsync.domain.planner`'s docstring) for clarity, not speed, and shares no code with hrsync:
people and members are plain records, each rule is a few lines. The stateful test
(``test_history_model.py``) drives the simulator, hrsync and this model through the same history
and compares them after every step.

The model covers the default mapping (employee ID, e-mail, first and last name), welcome e-mails on,
members added by hand (owned by no integration: an import skips a person holding one's employee ID or
address, ``owned_elsewhere``, and plans only for its own members),
blanks never clearing values, vanished people not made leavers, the 10 % / 5-people brake and the
60-day close-down, which is what the generated histories use.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

ACTIVE, PENDING, INACTIVE = "active", "pending", "inactive"
WINDOW_DAYS = 60
BRAKE_PCT, BRAKE_MINIMUM = 10, 5
HOLD_DAYS = 7
INVITATION_DAYS = 14

Issue = tuple[str, str | None]  # (code, HR record id)


@dataclass
class Person:
    """One person in the HR directory, as the model generated them."""

    sid: str  # the HR record id (intelliHR's person id)
    emp: str | None
    email: str | None
    first: str | None
    start: date
    last_day: date | None = None  # the last day worked; None: the job is open
    hidden: bool = False  # vanished from the directory for now

    def lifecycle(self, today: date) -> str:
        if self.last_day is not None and self.last_day < today:
            return INACTIVE  # Past Staff
        if self.start > today:
            return PENDING  # Upcoming or Returning Staff
        return ACTIVE  # Current or Exiting Staff


_ids = itertools.count(1)


@dataclass
class Member:
    emp: str | None
    email: str | None
    first: str | None
    status: str  # pending | invited | active | leaver | deleted
    sid: str | None
    start: date | None
    leaving_date: date | None = None
    leaver_since: date | None = None
    invited: bool = False  # an invitation was ever queued for this member
    link_until: date | None = None  # the last day its delivered invitation link works
    manual: bool = False  # added by hand: owned by no integration, never changed by an import
    mid: int = field(default_factory=lambda: next(_ids))  # the model's own identity

    def basis(self) -> tuple[object, ...]:
        """What a held plan must find unchanged to apply its change (invited and active are alike)."""
        status = ACTIVE if self.status == "invited" else self.status
        return (self.emp, self.email, status, self.sid, self.leaver_since, self.first)

    def row(self) -> tuple[object, ...]:
        """How the member is compared with the database."""
        return (self.emp, self.email, self.first, self.status, self.sid, self.leaving_date, self.leaver_since)


@dataclass
class Change:
    kind: str  # create | pending | update | leaver | reinstate
    member: Member | None
    person: Person  # a copy of the person as read
    lifecycle: str
    leaving: date | None = None
    basis: tuple[object, ...] | None = None


@dataclass
class Plan:
    changes: list[Change]
    issues: Counter[Issue]
    unchanged: int
    ignored: int
    read: int
    held: bool = False

    def counts(self) -> dict[str, int]:
        kinds = Counter(c.kind for c in self.changes)
        return {
            "created": kinds["create"], "updated": kinds["update"], "unchanged": self.unchanged,
            "leavers": kinds["leaver"], "reinstated": kinds["reinstate"], "pending": kinds["pending"],
        }


ERROR_CODES = frozenset({"missing_employee_id", "missing_email", "duplicate_employee_id", "duplicate_email",
                         "email_taken", "owned_elsewhere"})


def plan_import(people: list[Person], members: list[Member], today: date) -> Plan:
    """What one import of ``people`` does to ``members`` on ``today``."""
    read = [replace(p) for p in people if not p.hidden]
    issues: Counter[Issue] = Counter()
    errored: list[Person] = []
    valid: list[Person] = []
    for p in read:
        if not p.emp:
            issues["missing_employee_id", p.sid] += 1
        if not p.email:
            issues["missing_email", p.sid] += 1
        (valid if p.emp and p.email else errored).append(p)
    # Members added by hand belong to another door: a person holding one's employee ID, or claiming
    # one's address (past employees claim none), is skipped like a record error; the import plans
    # only for its own members.
    hand = [m for m in members if m.manual and m.status != "deleted"]
    hand_emps = {m.emp for m in hand}
    hand_emails = {m.email.lower() for m in hand if m.email}
    for p in list(valid):
        if p.emp in hand_emps or (p.lifecycle(today) != INACTIVE and str(p.email).lower() in hand_emails):
            issues["owned_elsewhere", p.sid] += 1
            valid.remove(p)
            errored.append(p)
    live = [m for m in members if m.status != "deleted" and not m.manual]
    by_emp = {m.emp: m for m in live}
    by_email = {m.email.lower(): m for m in live if m.email}
    protected_emps = {p.emp for p in errored if p.emp}
    protected_sids = {p.sid for p in errored}
    skipped: set[str] = set()

    def skip(p: Person, code: str) -> None:
        skipped.add(p.sid)
        issues[code, p.sid] += 1
        protected_emps.add(p.emp)

    # One employee ID, several people (a skipped person carrying it counts): all are skipped, unless
    # nothing would happen anyway (nobody has the ID and every copy is a past employee).
    for emp in sorted({p.emp for p in valid if p.emp}):
        copies = [p for p in valid if p.emp == emp]
        errored_copies = [p for p in errored if p.emp == emp]
        if len(copies) + len(errored_copies) < 2:
            continue
        if emp not in by_emp and not errored_copies and all(p.lifecycle(today) == INACTIVE for p in copies):
            continue
        for p in copies:
            skip(p, "duplicate_employee_id")

    # A person whose employee ID changed keeps their member, found by their HR record.
    in_use = {p.emp for p in valid} | protected_emps
    relinked: dict[str, Member] = {}
    for p in valid:
        if p.sid in skipped or p.emp in by_emp or sum(1 for q in valid if q.emp == p.emp) > 1:
            continue
        owners = [m for m in live if m.sid == p.sid]
        if len(owners) == 1 and owners[0].emp not in in_use and owners[0].sid not in protected_sids:
            relinked[p.sid] = owners[0]

    def member_of(p: Person) -> Member | None:
        return by_emp.get(p.emp) or relinked.get(p.sid)

    considered: list[Person] = []
    ignored = 0
    for p in valid:
        if p.sid in skipped:
            continue
        if p.lifecycle(today) == INACTIVE and member_of(p) is None:
            ignored += 1  # a past employee who is not a member: nothing to do
        else:
            considered.append(p)

    # Addresses: two claimants of one address are both skipped; an address a member keeps cannot be
    # taken; a member who moves away frees theirs (unless the move itself is skipped).
    claimants = [p for p in considered if p.lifecycle(today) != INACTIVE]
    by_address: dict[str, list[Person]] = {}
    for p in claimants:
        by_address.setdefault(str(p.email).lower(), []).append(p)
    for group in by_address.values():
        if len(group) > 1:
            for p in group:
                skip(p, "duplicate_email")
    moving = {m.mid for m in (member_of(p) for p in claimants if p.sid not in skipped) if m is not None}
    changed = True
    while changed:
        changed = False
        for p in claimants:
            holder = by_email.get(str(p.email).lower())
            if p.sid in skipped or holder is None or holder is member_of(p) or holder.mid in moving:
                continue
            skip(p, "email_taken")
            own = member_of(p)
            if own is not None:
                moving.discard(own.mid)
            changed = True

    changes: list[Change] = []
    unchanged = 0
    for p in considered:
        if p.sid in skipped:
            continue
        m = member_of(p)
        life = p.lifecycle(today)
        if m is None:
            changes.append(Change("create" if life == ACTIVE else "pending", None, p, life))
            continue
        basis = m.basis()
        renumbered = p.emp != m.emp
        if life == INACTIVE:
            if m.status != "leaver":
                changes.append(Change("leaver", m, p, life, p.last_day or today, basis))
            elif renumbered:
                changes.append(Change("update", m, p, life, basis=basis))
            else:
                unchanged += 1
            continue
        differs = (p.email != m.email or (p.first is not None and p.first != m.first) or p.sid != m.sid
                   or renumbered)
        if m.status == "leaver":
            changes.append(Change("reinstate", m, p, life, basis=basis))
        elif (m.status == "pending" and life == ACTIVE) or differs:
            changes.append(Change("update", m, p, life, basis=basis))
        else:
            unchanged += 1

    seen = {p.emp for p in valid}
    relinked_ids = {m.mid for m in relinked.values()}
    for m in live:
        if m.emp in seen or m.mid in relinked_ids or m.status == "leaver":
            continue
        if m.emp in protected_emps or m.sid in protected_sids:
            continue
        issues["vanished", m.sid] += 1

    plan = Plan(changes, issues, unchanged, ignored, len(read))
    leavers = plan.counts()["leavers"]
    with_access = sum(1 for m in live if m.status in ("active", "invited"))
    plan.held = (plan.read == 0 and bool(live)) or (
        leavers >= BRAKE_MINIMUM and leavers * 100 > BRAKE_PCT * with_access
    )
    return plan


def recheck(plan: Plan, members: list[Member]) -> Plan:
    """A held plan at its approval: changes whose member moved on, or that would clash, are skipped."""
    live = [m for m in members if m.status != "deleted"]
    issues = Counter(plan.issues)
    kept: list[Change] = []
    for c in plan.changes:
        gone = c.member is not None and (c.member.status == "deleted" or c.member.basis() != c.basis)
        taken = c.member is None and any(m.emp == c.person.emp for m in live)
        if gone or taken:
            issues["held_change_skipped", c.person.sid] += 1
        else:
            kept.append(c)
    while True:
        clashing = _clashing(kept, live)
        if not clashing:
            break
        for c in clashing:
            issues["held_change_skipped", c.person.sid] += 1
        kept = [c for c in kept if not any(c is x for x in clashing)]
    return replace(plan, changes=kept, issues=issues)


def _clashing(changes: list[Change], live: list[Member]) -> list[Change]:
    final_emp: dict[str, list[Change | None]] = {}
    final_email: dict[str, list[Change | None]] = {}
    changed = {c.member.mid: c for c in changes if c.member is not None}
    for m in live:
        c = changed.get(m.mid)
        emp = c.person.emp if c is not None else m.emp
        email = c.person.email if c is not None and c.kind in ("update", "reinstate") else m.email
        final_emp.setdefault(str(emp), []).append(c)
        if email:
            final_email.setdefault(email.lower(), []).append(c)
    for c in changes:
        if c.member is None:
            final_emp.setdefault(str(c.person.emp), []).append(c)
            final_email.setdefault(str(c.person.email).lower(), []).append(c)
    out: list[Change] = []
    for owners in (*final_emp.values(), *final_email.values()):
        if len(owners) > 1:
            out.extend(c for c in owners if c is not None and not any(c is x for x in out))
    return out


def apply(plan: Plan, members: list[Member], today: date) -> None:
    """Write a plan to the model's members (creating new ones), and note revoked invitation links."""
    for c in plan.changes:
        p = c.person
        if c.member is None:
            status = "invited" if c.kind == "create" else "pending"
            members.append(Member(p.emp, p.email, p.first, status, p.sid, p.start, invited=status == "invited"))
            continue
        m = c.member
        m.start = p.start
        m.emp = p.emp
        if c.kind == "leaver":
            m.status, m.leaving_date, m.leaver_since = "leaver", c.leaving, today
        if c.lifecycle == INACTIVE:
            continue  # a leaver keeps everything but a new employee ID
        if p.email and m.email and p.email.lower() != m.email.lower():
            if m.link_until is not None and m.link_until >= today:
                plan.issues["links_revoked", p.sid] += 1
            m.link_until = None
        m.email, m.sid = p.email, p.sid
        if p.first is not None:
            m.first = p.first
        if c.kind == "reinstate":
            m.status = "active" if c.lifecycle == ACTIVE else "pending"
            m.leaving_date = m.leaver_since = None
        elif m.status == "pending" and c.lifecycle == ACTIVE:
            m.status = "invited"
            m.invited = True


def close_down(members: list[Member], today: date) -> None:
    """The daily job: leavers past their window are deleted; pre-hires whose day came are invited."""
    for m in members:
        if m.status == "leaver" and m.leaver_since is not None and m.leaver_since + timedelta(WINDOW_DAYS) <= today:
            m.emp = m.email = m.first = m.sid = None
            m.start = m.leaving_date = m.link_until = None
            m.status = "deleted"
        elif m.status == "pending" and m.start is not None and m.start <= today:
            m.status = "invited"
            m.invited = True
