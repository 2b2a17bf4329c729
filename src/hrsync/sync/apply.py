"""Writing a plan: exactly what the planner decided, in the caller's one transaction.

Existing members are written before new ones (an address or employee ID one member gives up may
be taken by another member or a new hire in the same import), then new members in chunks, then
the record issues, the invitations and the run's end. Nothing here decides anything: leaver dates
and access windows come from the :class:`~hrsync.domain.PlannedChange`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from hrsync.domain import ChangeKind, MemberStatus, PlannedChange, RecordIssue, SyncPlan
from hrsync.domain.fields import EMPLOYEE_ID
from hrsync.domain.records import Severity
from hrsync.domain.search import member_keys
from hrsync.domain.vocabulary import email_key
from hrsync.lifecycle.tokens import TokenPurpose, revoke_member_links
from hrsync.notify.outbox import queue_invitations
from hrsync.store.bulk import insert_rows, plain_rows
from hrsync.store.member_keys import needs_new_keys, refresh_member_keys
from hrsync.store.models import (
    ImportRun,
    Integration,
    IntegrationStatus,
    Member,
    MemberDoor,
    MemberEvent,
    Programme,
    RunStatus,
)
from hrsync.store.types import IN_CHUNK, utcnow
from hrsync.sync.claims import note_claims
from hrsync.sync.context import mapping_of
from hrsync.sync.finish import core_table, finish_run, record_counts, store_issues
from hrsync.sync.runs import RunOutcome

#: New members inserted at a time, with their events: a chunk's rows are about 2 KB a person while they are
#: built, so 2,000 keep a 100,000-person first import's peak some 20 MB lower than 10,000 did (issue 27).
NEW_CHUNK = 2_000
_COLUMN_FIELDS = ("first_name", "last_name")  # member fields with a column; the rest live in attributes
#: Columns an import writes from the draft rather than from ``changes``; an undo (:mod:`hrsync.sync.undo`,
#: no draft) writes them back through ``changes``. Their old values go into the member event.
_DRAFT_COLUMNS = ("employment_status", "start_date")
#: A leaver's dates, cleared by a reinstatement: its event keeps them so an undo can put them back.
LEAVER_DATES = ("leaving_date", "leaver_since", "access_until")


def apply_plan(session: Session, run: ImportRun, plan: SyncPlan) -> RunOutcome:
    """Write ``plan`` for ``run`` and finish the run, all in the caller's transaction."""
    integration = session.get(Integration, run.integration_id)
    programme = session.get(Programme, run.programme_id)
    assert integration is not None and programme is not None
    now = utcnow()
    invite = integration.welcome_email and integration.status == IntegrationStatus.LIVE
    writer = _MemberWriter(session, run, programme, integration.id, now, invite)
    integration.key_source = mapping_of(integration)[EMPLOYEE_ID]  # the members' IDs come from it now

    writer.update_existing([c for c in plan.changes if c.kind not in _NEW_KINDS])
    new = [c for c in plan.changes if c.kind in _NEW_KINDS]
    # In chunks, each with its events and invitations, so 100,000 new members never sit in memory
    # three times over as rows, events and e-mails at once.
    for i in range(0, len(new), NEW_CHUNK):
        writer.insert_new(new[i:i + NEW_CHUNK])
    _refresh_fingerprints(session, plan.fingerprints)

    plan.issues.extend(_revoke_links_to_old_addresses(session, writer.readdressed, now))
    store_issues(session, run.id, plan.issues)
    note_claims(session, run, plan.claims, now)  # the other door's side of each owned_elsewhere
    writer.invite_updated()

    record_counts(run, plan)
    status = RunStatus.SUCCEEDED_WITH_ERRORS if run.errors else RunStatus.SUCCEEDED
    return finish_run(session, run, status, reason=run.reason)


def _split_values(values: dict[str, str | None]) -> tuple[dict[str, Any], dict[str, str | None]]:
    columns = {k: values[k] for k in _COLUMN_FIELDS if k in values}
    attributes = {k: v for k, v in values.items() if k not in _COLUMN_FIELDS}
    return columns, attributes


_NEW_KINDS = (ChangeKind.CREATE, ChangeKind.PENDING)
Invitee = tuple[int, str, date | None]  # (member id, e-mail, start date)


class _MemberWriter:
    """Turns planned changes into member rows and events (one apply, the caller's transaction)."""

    def __init__(self, session: Session, run: ImportRun, programme: Programme, integration_id: int,
                 now: datetime, invite: bool) -> None:
        self.session = session
        self.run_id = run.id
        self.programme = programme
        self.programme_id = programme.id
        self.integration_id = integration_id
        self.now = now
        self.invite = invite
        self.readdressed: list[tuple[int, str, str]] = []  # (member id, old address, new address)
        self._updated_invitees: list[Invitee] = []

    def _invite(self, invitees: list[Invitee]) -> None:
        """Queue the welcome e-mails (when the integration sends them): the writer's one call to notify."""
        if self.invite and invitees:
            queue_invitations(self.session, invitees, self.programme, now=self.now)

    def invite_updated(self) -> None:
        """Invite the existing members :meth:`update_existing` made ``invited`` (after their issues)."""
        self._invite(self._updated_invitees)
        self._updated_invitees = []

    def _event(self, member_id: int, kind: str, change: PlannedChange,
               written: dict[str, Any] | None = None, before: dict[str, Any] | None = None) -> dict[str, Any]:
        """The member's history row: the plan's field changes, plus what else the write overwrote
        (``written`` against ``before``: the employment status and start date from the draft, a
        reinstated leaver's dates) as ``[old, new]`` pairs, so an undo can restore the member exactly."""
        changes: dict[str, list[Any]] = {k: [old, new] for k, (old, new) in change.changes.items()}
        if written is not None and before is not None:
            for column in _DRAFT_COLUMNS:
                if column in written and column not in changes and _iso(before.get(column)) != _iso(written[column]):
                    changes[column] = [_iso(before.get(column)), _iso(written[column])]
            if kind == "reinstated":  # always present: their presence says this event can be undone
                for column in LEAVER_DATES:
                    changes[column] = [_iso(before.get(column)), None]
        return {
            "programme_id": self.programme_id, "member_id": member_id, "run_id": self.run_id, "kind": kind,
            "changes": changes, "actor": "import", "created_at": self.now,
        }

    def _before(self, member_ids: list[int]) -> dict[int, dict[str, Any]]:
        """The columns a write may overwrite without a planned change, as they are before it."""
        found: dict[int, dict[str, Any]] = {}
        columns = [getattr(Member, c) for c in (*_DRAFT_COLUMNS, *LEAVER_DATES)]
        for i in range(0, len(member_ids), IN_CHUNK):
            for row in self.session.execute(
                select(Member.id, *columns).where(Member.id.in_(member_ids[i:i + IN_CHUNK]))
            ):
                found[row[0]] = dict(zip((*_DRAFT_COLUMNS, *LEAVER_DATES), row[1:], strict=True))
        return found

    def update_existing(self, changes: list[PlannedChange]) -> None:
        """Update, make leavers and reinstate; remember the members updated into ``invited``."""
        invitees: list[Invitee] = []
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        attribute_updates: dict[int, dict[str, str | None]] = {}
        before = self._before([c.member_id for c in changes if c.member_id is not None])
        for change in changes:
            assert change.member_id is not None
            params: dict[str, Any] = {"id": change.member_id, "updated_at": self.now}
            for field, (old_value, new_value) in change.changes.items():
                if field in _DRAFT_COLUMNS:  # only an undo plans these (an import writes them from its draft)
                    params[field] = _date(new_value) if field == "start_date" else new_value
                elif field in _COLUMN_FIELDS or field in ("email", "source_id", "employee_id"):
                    params[field] = new_value
                    if field == "email":
                        params["email_lower"] = email_key(new_value)
                        if old_value and new_value and email_key(old_value) != email_key(new_value):
                            self.readdressed.append((change.member_id, old_value, new_value))
                elif field == "status":
                    params["status"] = new_value
                else:
                    attribute_updates.setdefault(change.member_id, {})[field] = new_value
            # Every write of a member writes its fingerprint: the draft's, or none (hrsync.domain.fingerprint).
            params["fingerprint"] = None if change.draft is None else change.draft.fingerprint
            if change.draft is not None:
                params["employment_status"] = change.draft.employment_status
                if change.draft.start_date is not None:
                    params["start_date"] = change.draft.start_date
            if change.new_status is not None:
                params["status"] = change.new_status.value
            old = before.get(change.member_id, {})
            if change.kind == ChangeKind.LEAVER:
                params["leaving_date"] = change.leaving_date
                params["leaver_since"] = change.leaver_since
                params["access_until"] = change.access_until
                events.append(self._event(change.member_id, "leaver", change, params, old))
            elif change.kind == ChangeKind.REINSTATE:
                params.update(leaving_date=None, leaver_since=None, access_until=None)
                events.append(self._event(change.member_id, "reinstated", change, params, old))
            else:
                events.append(self._event(change.member_id, "updated", change, params, old))
            if params.get("status") == MemberStatus.INVITED.value and change.draft is not None and self.invite:
                params["invited_at"] = self.now
                invitees.append((change.member_id, change.draft.email, change.draft.start_date))
            updates.append(params)
        self._merge_attributes(updates, attribute_updates)
        self._free_keys(updates)
        _bulk_update_members(self.session, updates)
        refresh_member_keys(self.session, [p["id"] for p in updates if needs_new_keys(p)])
        insert_rows(self.session, core_table(MemberEvent), events)
        self._updated_invitees.extend(invitees)

    def _merge_attributes(self, updates: list[dict[str, Any]], extra: dict[int, dict[str, str | None]]) -> None:
        """Changed attributes are merged into the stored ones (the others are kept as they are)."""
        if not extra:
            return
        stored: dict[int, dict[str, Any] | None] = {}
        ids = list(extra)
        for i in range(0, len(ids), IN_CHUNK):
            rows_found = self.session.execute(
                select(Member.id, Member.attributes).where(Member.id.in_(ids[i:i + IN_CHUNK]))
            )
            stored.update({member_id: attributes for member_id, attributes in rows_found})
        for params in updates:
            changed = extra.get(params["id"])
            if changed:
                params["attributes"] = {**(stored.get(params["id"]) or {}), **changed}

    def _free_keys(self, updates: list[dict[str, Any]]) -> None:
        """Clear the unique keys that change before writing any new one.

        Both databases check a unique index row by row, so a swap (or a rotation, or an address
        handed from one member to another) written in any order meets a duplicate half-way.
        Cleared first, in the same transaction, every new value lands on a free slot.
        """
        for column in ("email_lower", "employee_id"):
            ids = [p["id"] for p in updates if column in p]
            for i in range(0, len(ids), IN_CHUNK):
                self.session.execute(
                    update(Member).where(Member.id.in_(ids[i:i + IN_CHUNK])).values({column: None})
                    .execution_options(synchronize_session=False)
                )

    def insert_new(self, chunk: list[PlannedChange]) -> None:
        """Insert one chunk of new members with their events, and invite those to invite."""
        rows = []
        for change in chunk:
            draft = change.draft
            assert draft is not None and change.new_status is not None
            columns, attributes = _split_values(draft.values)
            rows.append(
                {
                    "programme_id": self.programme_id, "integration_id": self.integration_id,
                    "door": MemberDoor.INTEGRATION.value,  # every column with a Python default, so COPY applies
                    "employee_id": draft.employee_id, "email": draft.email,
                    "email_lower": email_key(draft.email), "status": change.new_status.value,
                    "employment_status": draft.employment_status, "source_id": draft.source_id,
                    "start_date": draft.start_date, "attributes": attributes,
                    "first_name": columns.get("first_name"), "last_name": columns.get("last_name"),
                    "fingerprint": draft.fingerprint,
                    **member_keys(columns.get("first_name"), columns.get("last_name"),
                                  attributes.get("preferred_name"), draft.email, draft.employee_id),
                    "invited_at": self.now if self.invite and change.new_status == MemberStatus.INVITED else None,
                    "created_at": self.now, "updated_at": self.now,
                }
            )
        # COPY on PostgreSQL, a Core executemany on SQLite (hrsync.store.bulk), then one SELECT for
        # the new ids: an INSERT ... RETURNING whose rows must come back in parameter order costs
        # minutes at 100,000 rows on SQLite.
        insert_rows(self.session, core_table(Member), rows)
        del rows
        id_of: dict[str | None, int] = dict(plain_rows(
            self.session,
            select(Member.employee_id, Member.id).where(
                Member.programme_id == self.programme_id, Member.employee_id.in_([c.employee_id for c in chunk])),
            prepare=False,  # each chunk's list planned for itself (hrsync.store.bulk.plain_rows)
        ))
        invitees: list[Invitee] = []
        events = []
        for change in chunk:
            member_id = id_of[change.employee_id]
            events.append(self._event(member_id, "created" if change.kind == ChangeKind.CREATE else "pending", change))
            if change.new_status == MemberStatus.INVITED and change.draft is not None:
                invitees.append((member_id, change.draft.email, change.draft.start_date))
        insert_rows(self.session, core_table(MemberEvent), events)
        self._invite(invitees)


LINKS_REVOKED = "links_revoked"


def _revoke_links_to_old_addresses(
    session: Session, readdressed: list[tuple[int, str, str]], now: datetime
) -> list[RecordIssue]:
    """An address that changed takes its open links with it: a set-password or reset link sent to
    the old address must not open the account (whoever reads that mailbox now). A member whose
    invitation link died this way is named in a warning, so the administrator can invite again."""
    if not readdressed:
        return []
    revoked = revoke_member_links(session, [member_id for member_id, _old, _new in readdressed], now=now)
    issues = []
    for member_id, old, new in readdressed:
        if TokenPurpose.INVITATION in revoked.get(member_id, ()):
            employee_id, source_id = session.execute(
                select(Member.employee_id, Member.source_id).where(Member.id == member_id)
            ).one()
            issues.append(RecordIssue(
                Severity.WARNING, LINKS_REVOKED,
                f"The e-mail address changed from {old} to {new}: the invitation link sent to the old "
                "address no longer works. Use Invite again on the member's page to send one to the new address.",
                "email", employee_id, source_id,
            ))
    return issues


def _iso(value: Any) -> Any:
    """A date as the ISO text member events keep (JSON); anything else as it is."""
    return value.isoformat() if isinstance(value, date) else value


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _refresh_fingerprints(session: Session, fingerprints: dict[int, str]) -> None:
    """Store the new fingerprints of unchanged members (their values are what the draft says), leaving
    ``updated_at`` alone: nothing a person sees changed."""
    if not fingerprints:
        return
    table = core_table(Member)
    statement = (
        update(table).where(table.c.id == bindparam("member_id"))
        .values(fingerprint=bindparam("new_fingerprint"), updated_at=table.c.updated_at)
    )
    rows = [{"member_id": mid, "new_fingerprint": fp} for mid, fp in fingerprints.items()]
    for i in range(0, len(rows), IN_CHUNK):
        session.execute(statement, rows[i:i + IN_CHUNK])


def _bulk_update_members(session: Session, updates: list[dict[str, Any]]) -> None:
    """ORM bulk UPDATE by primary key, grouped by the set of columns each row changes."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for params in updates:
        groups.setdefault(tuple(sorted(params)), []).append(params)
    for rows in groups.values():
        session.execute(update(Member), rows)


