"""The fingerprint shortcut changes nothing but the time an import takes.

Generated histories (the directory rules, the clock, the close-down and the held-run decisions of
:mod:`tests.sync.test_history_model`) are imported into two databases copied from one template: one
with the shortcut (``execute_run`` as ``hrsync import`` calls it) and its twin with
``skip_unchanged=False``, which drafts every person in full. After every step both must hold the same
runs (status, every count, reason, stored plan), the same errors and warnings (every field and
message), the same member rows (every column but the password hash, fingerprints included) and the
same member events and invitations. Besides the directory's changes the histories change the mapping
(its order, extra fields, another status table), whether blanks clear values, the rules version and
the schema (a migration down to 0005 and back: every fingerprint gone), so every way a fingerprint is
invalidated is taken too. The histories count how many people were settled by fingerprint, so a
shortcut that never fired would fail the test.

Budget: ``HRSYNC_MODEL_EXAMPLES`` / 5 histories (default 60) of up to 25 steps.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from alembic import command
from hypothesis import settings
from hypothesis.stateful import precondition, rule, run_state_machine_as_test
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from tests.sync.run_by_url import approve_run, execute_run, reject_run
from tests.sync.test_history_model import (
    EMAILS,
    EMPS,
    EXAMPLES,
    PASSWORD,
    Histories,
    Parts,
    _settings,
    mail,  # noqa: F401  (fixtures of the histories)
    simulator,  # noqa: F401
    sqlite_parts,  # noqa: F401
)

from hrsync.domain import DEFAULT_MAPPING, fingerprint
from hrsync.lifecycle.closedown import run_closedown
from hrsync.lifecycle.passwords import set_member_password
from hrsync.lifecycle.tokens import TokenPurpose
from hrsync.services import manual_members as manual_door
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import get_integration, update_mapping, update_settings
from hrsync.services.manual_members import ManualValues, add_member
from hrsync.store.db import alembic_config, dispose_engines, session_factory, upgrade
from hrsync.store.models import ImportIssue, ImportRun, Member, MemberEvent, OutboxEmail, Programme
from hrsync.store.tokens import issue_token
from hrsync.store.types import utcnow
from hrsync.sync.runs import RunBlocked, request_run

MAPPINGS: dict[str, tuple[dict[str, str], dict[str, str] | None]] = {
    "default": (dict(DEFAULT_MAPPING), {}),
    "reordered": (dict(reversed(list(DEFAULT_MAPPING.items()))), {}),
    "more fields": ({**DEFAULT_MAPPING, "preferred_name": "preferredName", "start_date": "job.startDate",
                     "gender": "gender"}, {}),
    "names swapped": ({**DEFAULT_MAPPING, "first_name": "lastName", "last_name": "firstName"}, {}),
    "exiting are leavers": (dict(DEFAULT_MAPPING), {"Exiting Staff": "inactive"}),
}
TALLY: Counter[str] = Counter()
SELDOM = st.sampled_from([False, False, False, True])  # what invalidates every fingerprint: now and then
STEPS = 25


class Twins(Histories):
    """The histories, imported with the shortcut and, into a twin database, without it."""

    def __init__(self) -> None:
        super().__init__()
        self.twin_url, self._drop_twin = self.parts.fresh()
        self.twin = session_factory(self.twin_url)
        self.twin_held: int | None = None
        self.flipped: dict[str, str | None] = {}  # HR record → the first name before its flip
        self.rules_version = fingerprint.RULES_VERSION

    def teardown(self) -> None:
        fingerprint.RULES_VERSION = self.rules_version  # type: ignore[misc]
        super().teardown()
        self._drop_twin()

    # -- imports and decisions, in both ------------------------------------------------------------

    @rule(twice=st.booleans())
    def import_now(self, twice: bool) -> None:
        for _ in range(2 if twice else 1):
            ours = self._run(self.factory, self.url, skip_unchanged=True)
            theirs = self._run(self.twin, self.twin_url, skip_unchanged=False)
            assert ours == theirs
            TALLY[f"runs {'blocked' if ours is None else ours[1]}"] += 1
            if ours is not None and ours[1] == "held":
                self.held = (ours[0], None, self.today)  # type: ignore[assignment]
                self.twin_held = theirs[0] if theirs else None
            self.both_agree()

    def _run(self, factory: sessionmaker[Session], url: str, *, skip_unchanged: bool) -> tuple[Any, ...] | None:
        with factory() as session, session.begin():
            try:
                run_id = request_run(session, self.parts.integration_id, trigger="cli").id
            except RunBlocked:
                return None
        outcome = execute_run(run_id, url=url, skip_unchanged=skip_unchanged)
        assert outcome is not None
        return run_id, outcome.status, outcome.counts

    @precondition(lambda self: self.held is not None)
    @rule()
    def approve(self) -> None:
        assert self.held is not None and self.twin_held is not None
        ours = approve_run(self.held[0], url=self.url)
        theirs = approve_run(self.twin_held, url=self.twin_url)
        self.held = self.twin_held = None
        assert (ours.status, ours.counts) == (theirs.status, theirs.counts)
        self.both_agree()

    @precondition(lambda self: self.held is not None)
    @rule()
    def reject(self) -> None:
        assert self.held is not None and self.twin_held is not None
        assert reject_run(self.held[0], url=self.url).status == reject_run(self.twin_held, url=self.twin_url).status
        self.held = self.twin_held = None

    @rule(days=st.sampled_from([1, 2, 7, 15, 61]))
    def days_pass(self, days: int) -> None:
        super().days_pass(days)
        run_closedown(self.twin)
        if self.held is None:
            self.twin_held = None
        self.both_agree()

    # -- what invalidates fingerprints --------------------------------------------------------------

    @rule(name=st.sampled_from(sorted(MAPPINGS)), now=SELDOM)
    def change_mapping(self, name: str, now: bool) -> None:
        if not now:
            return
        mapping, status_map = MAPPINGS[name]
        TALLY["mapping changes"] += 1
        for factory in (self.factory, self.twin):
            with factory() as session, session.begin():
                integration = get_integration(session, self.parts.integration_id)
                update_mapping(session, integration, None, mapping, status_map=status_map)

    @rule(on=st.booleans(), now=SELDOM)
    def blanks_clear_values(self, on: bool, now: bool) -> None:
        if not now:
            return
        for factory in (self.factory, self.twin):
            with factory() as session, session.begin():
                update_settings(session, get_integration(session, self.parts.integration_id), None,
                                blanks_clear_values=on)

    @rule(now=SELDOM)
    def rules_change(self, now: bool) -> None:
        """A release that changes validation bumps the rules version: no stored fingerprint matches."""
        if not now:
            return
        fingerprint.RULES_VERSION += 1  # type: ignore[misc]
        TALLY["rules changes"] += 1

    @rule(now=SELDOM)
    def migration(self, now: bool) -> None:
        """The schema goes down to 0005 (no fingerprint column) and up again: every fingerprint is gone."""
        if not now:
            return
        TALLY["migrations"] += 1
        for url in (self.url, self.twin_url):
            dispose_engines()
            command.downgrade(alembic_config(url), "0005")
            upgrade(url)
        dispose_engines()
        self.factory, self.twin = session_factory(self.url), session_factory(self.twin_url)
        with self.factory() as session:
            assert session.scalar(text("SELECT count(*) FROM member WHERE fingerprint IS NOT NULL")) == 0

    # -- the people themselves ------------------------------------------------------------------------

    @rule(data=st.data(), first=st.sampled_from(["B0b", "Ana<", "   "]))
    def rename_badly(self, data: st.DataObject, first: str) -> None:
        """A value with a warning (a digit or markup in a name): that person is drafted every time."""
        person = self._pick(data)
        if person is not None:
            self.directory.change(person.sid, firstName=first)

    @rule(data=st.data(), back=st.booleans())
    def flip_with_a_warning(self, data: st.DataObject, back: bool) -> None:
        """A person changes their name while another value gets a warning, then goes back (and is
        imported each time): a member updated from a draft with issues must not keep the fingerprint
        of what it was before."""
        TALLY["flips"] += 1
        flipped = [p for p in self._visible() if p.sid in self.flipped]
        if back and flipped:
            person = data.draw(st.sampled_from(flipped))
            TALLY["flips back"] += 1
            self.directory.change(person.sid, firstName=self.flipped.pop(person.sid), lastName="Test")
        else:
            person = self._pick(data, lambda p: p.sid not in self.flipped)
            if person is None:
                return
            self.flipped[person.sid] = person.first
            self.directory.change(person.sid, firstName="Flip", lastName="Te5t")
        self.import_now(twice=False)

    @rule(data=st.data())
    def member_accepts(self, data: st.DataObject) -> None:
        """An invited or pending member sets a password (in both databases: the member becomes active)."""
        with self.factory() as session:
            ids = sorted(session.scalars(select(Member.id).where(Member.status.in_(("invited", "pending")))))
        if not ids:
            return
        member_id = data.draw(st.sampled_from(ids))
        for factory in (self.factory, self.twin):
            with factory() as session, session.begin():
                raw, _row = issue_token(session, TokenPurpose.INVITATION, member_id=member_id,
                                        expires_at=utcnow() + timedelta(days=14))
                session.flush()
                assert set_member_password(session, raw, PASSWORD) is not None

    # -- the manual door, in both ----------------------------------------------------------------------
    # The model's own manual-door rules check the model's members, which the twins do not keep: here the
    # same hand-added member goes into both databases (or is refused in both), and the directory now and
    # then lists someone with its ID or address, so the shortcut meets members it does not own.

    @rule(data=st.data(), clash=st.sampled_from(["employee ID", "e-mail", "none"]))
    def add_by_hand(self, data: st.DataObject, clash: str) -> None:
        emp = data.draw(st.sampled_from(EMPS))
        email = data.draw(st.sampled_from(EMAILS))
        added = {_add_by_hand(factory, emp, email) for factory in (self.factory, self.twin)}
        assert len(added) == 1, f"{emp} / {email}: added in one twin, refused in the other"
        TALLY["added by hand" if added == {True} else "refused by hand"] += 1
        if added == {True} and clash != "none":
            self.hire(emp=emp if clash == "employee ID" else None, email=email if clash == "e-mail" else None,
                      first=None, start=0, then_import=False)
        self.import_now(twice=False)

    @rule(data=st.data(), eligible=st.booleans())
    def decide_by_hand(self, data: st.DataObject, eligible: bool) -> None:
        statuses = ("leaver",) if eligible else ("invited", "active")
        with self.factory() as session:
            emps = sorted(session.scalars(select(Member.employee_id).where(
                Member.door == "manual", Member.status.in_(statuses))))
        if not emps:
            return
        emp = data.draw(st.sampled_from(emps))
        decide = manual_door.mark_eligible if eligible else manual_door.mark_ineligible
        outcomes = {_decide_by_hand(factory, emp, decide) for factory in (self.factory, self.twin)}
        assert len(outcomes) == 1, outcomes
        self.both_agree()

    def mark_ineligible(self, data: st.DataObject) -> None:  # type: ignore[override]
        pass

    def mark_eligible(self, data: st.DataObject) -> None:  # type: ignore[override]
        pass

    # The model's own mail and password rules are not mirrored (tokens differ between the twins).
    def deliver_mail(self) -> None:  # type: ignore[override]
        pass

    def accept_invitation(self, data: st.DataObject) -> None:  # type: ignore[override]
        pass

    def forgot_password(self, data: st.DataObject) -> None:  # type: ignore[override]
        pass

    def members_agree_with_the_model(self) -> None:  # type: ignore[override]
        pass

    # -- the comparison ---------------------------------------------------------------------------------

    def both_agree(self) -> None:
        ours, theirs = _state(self.factory), _state(self.twin)
        for part in ours:
            assert ours[part] == theirs[part], part
        with self.factory() as session:
            TALLY["members with a fingerprint"] += session.scalar(
                text("SELECT count(*) FROM member WHERE fingerprint IS NOT NULL")) or 0


def _add_by_hand(factory: sessionmaker[Session], emp: str, email: str) -> bool:
    with factory() as session, session.begin():
        programme = session.scalars(select(Programme)).one()
        try:
            add_member(session, programme, ManualValues(emp, email), None)
        except ServiceError as exc:
            assert exc.code == "owned_elsewhere", exc
            return False
    return True


def _decide_by_hand(factory: sessionmaker[Session], emp: str, decide: Any) -> str:
    with factory() as session, session.begin():
        programme = session.scalars(select(Programme)).one()
        member = session.scalars(select(Member).where(Member.door == "manual", Member.employee_id == emp)).one()
        try:
            decide(session, programme, member, None)
        except ServiceError as exc:
            return exc.code or "refused"
    return "done"


def _state(factory: sessionmaker[Session]) -> dict[str, Any]:
    member_columns = [c for c in Member.__table__.columns if c.name != "password_hash"]
    with factory() as session:
        return {
            "runs": session.execute(select(
                ImportRun.id, ImportRun.number, ImportRun.status, ImportRun.created, ImportRun.updated,
                ImportRun.unchanged, ImportRun.leavers, ImportRun.reinstated, ImportRun.pending, ImportRun.errors,
                ImportRun.warnings, ImportRun.ignored, ImportRun.processed, ImportRun.total, ImportRun.reason,
                ImportRun.failure_code, ImportRun.plan,
            ).order_by(ImportRun.id)).all(),
            "issues": sorted(session.execute(select(
                ImportIssue.run_id, ImportIssue.severity, ImportIssue.code, ImportIssue.message, ImportIssue.field,
                ImportIssue.employee_id, ImportIssue.source_id,
            )).all()),
            "members": session.execute(select(*member_columns).order_by(Member.id)).all(),
            "events": session.execute(select(
                MemberEvent.id, MemberEvent.member_id, MemberEvent.run_id, MemberEvent.kind, MemberEvent.changes,
                MemberEvent.actor, MemberEvent.created_at,
            ).order_by(MemberEvent.id)).all(),
            "invitations": session.execute(select(OutboxEmail.member_id, OutboxEmail.to_address).where(
                OutboxEmail.kind == "invitation").order_by(OutboxEmail.id)).all(),
        }


class _Settled(logging.Handler):
    """Counts the people the shortcut settled, from the runner's debug log."""

    def emit(self, record: logging.LogRecord) -> None:
        settled = getattr(record, "settled", None)
        if settled is not None:
            TALLY["people settled by fingerprint"] += int(settled)
        if "reading everyone again" in record.getMessage():
            TALLY["second reads"] += 1


@pytest.fixture
def settled_log() -> Iterator[None]:
    handler = _Settled(logging.DEBUG)
    logger = logging.getLogger("hrsync.sync.execute")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_the_shortcut_changes_no_outcome(sqlite_parts: Parts, settled_log: None, artifacts_dir: Path) -> None:  # noqa: F811
    TALLY.clear()
    machine = type("TwinsHere", (Twins,), {"parts": sqlite_parts})
    examples = max(EXAMPLES // 5, 1)
    run_state_machine_as_test(machine, settings=settings(_settings(examples), stateful_step_count=STEPS))
    (artifacts_dir / "fingerprint-equivalence.txt").write_text(f"{dict(TALLY)}\n", encoding="utf-8")
    print("fingerprint equivalence", dict(TALLY))
    # The histories must have exercised the shortcut, or passing would prove nothing.
    assert TALLY["people settled by fingerprint"] >= examples and TALLY["runs held"] >= 1, TALLY
    assert min(TALLY["mapping changes"], TALLY["rules changes"], TALLY["migrations"]) >= 1, TALLY
