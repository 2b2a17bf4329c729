"""The trace of one person: fetched live from the simulator over HTTP, planned by the import's own
planner, explained in stages, applied as a ``single`` run.

The property test generates small directories full of the cases the planner decides across records
(shared employee IDs and addresses, address swaps, leavers, pre-hires, inactive strangers) and checks
that, for every person, the trace's planned outcome is the outcome the next full import gives them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import reset_settings_cache
from hrsync.domain.masking import PRESENT
from hrsync.services.integrations import create_integration, publish, update_shape
from hrsync.services.programmes import create_programme
from hrsync.simulator import Simulator
from hrsync.store.db import dispose_engines, session_factory, upgrade
from hrsync.store.models import ImportIssue, ImportRun, Integration, Member, MemberEvent
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run
from hrsync.sync.trace import VANISHED_NOTE, apply_person, trace_person

TENANT, KEY = "traces", "sim-key-for-traces-1"
DAY0 = date(2031, 3, 3)
EVENT_OUTCOME = {"created": "create", "pending": "pending", "leaver": "leaver", "reinstated": "reinstate",
                 "updated": "update"}


@dataclass
class World:
    sim: Simulator
    template: Path
    tmp: Path
    integration_id: int
    factory: sessionmaker[Session] | None = None
    copies: int = 0

    def fresh(self) -> sessionmaker[Session]:
        """A new database copied from the template (one programme, one live integration); the directory emptied."""
        for person_id in list(self.sim.directory.ids()):
            self.sim.directory.remove(person_id)
        self.copies += 1
        target = self.tmp / f"db{self.copies}.db"
        shutil.copy(self.template, target)
        self.factory = session_factory(f"sqlite:///{target}")
        return self.factory

    def hire(self, emp: str, email: str, *, first: str = "Ana", status: str = "Current Staff",
             start: date | None = None) -> str:
        made = self.sim.directory.hire(first_name=first, last_name="Test", email=email, employee_number=emp,
                                       status=status, start_date=start or DAY0 - timedelta(days=30))
        return str(made["id"])

    def run(self) -> int:
        assert self.factory is not None
        with self.factory() as session, session.begin():
            run_id = request_run(session, self.integration_id, trigger="cli").id
        outcome = execute_run(run_id, factory=self.factory)
        assert outcome is not None
        return run_id

    def outcome_in_run(self, run_id: int, source_id: str) -> str:
        """What a full import did to the person with this HR record, read from what it recorded."""
        assert self.factory is not None
        # the stored issue names the person by their own ID in the source (intelliHR's number)
        own = {str(p["id"]): str(p["autoIncrementIntellihrId"]) for p in self.sim.directory.people()}
        with self.factory() as session:
            errors = session.scalars(select(ImportIssue).where(
                ImportIssue.run_id == run_id, ImportIssue.severity == "error",
                ImportIssue.source_id == own.get(source_id, source_id))).all()
            if errors:
                return "skipped"
            member = session.scalars(select(Member).where(Member.source_id == source_id)).first()
            if member is None:
                return "ignored"
            kinds = session.scalars(select(MemberEvent.kind).where(
                MemberEvent.run_id == run_id, MemberEvent.member_id == member.id)).all()
            return EVENT_OUTCOME[kinds[0]] if kinds else "unchanged"

    def trace(self, emp: str) -> Any:
        assert self.factory is not None
        return trace_person(self.factory, self.integration_id, emp)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("trace")
    saved = {k: v for k, v in os.environ.items() if k.startswith("HRSYNC_")}
    clock = time_machine.travel(f"{DAY0.isoformat()}T12:00:00+00:00", tick=False)
    clock.start()
    with Simulator(people=0, seed=5, tenant=TENANT, api_key=KEY, port=0) as sim:
        sim.directory.set_today(DAY0)
        os.environ.update(HRSYNC_DATA_DIR=str(tmp / "data"), HRSYNC_INTELLIHR_BASE_URL=sim.base_url)
        reset_settings_cache()
        template = tmp / "template.db"
        upgrade(f"sqlite:///{template}")
        with session_factory(f"sqlite:///{template}")() as session, session.begin():
            programme, admin = create_programme(session, "Traces", admin_email="owner@acme.test",
                                                password="a long enough password", timezone="UTC")
            integration = create_integration(session, programme, admin, subdomain=TENANT, api_key=KEY)
            publish(session, integration, admin)
            integration_id = integration.id
        dispose_engines()
        try:
            yield World(sim, template, tmp, integration_id)
        finally:
            clock.stop()
            dispose_engines()
            for key in [k for k in os.environ if k.startswith("HRSYNC_")]:
                del os.environ[key]
            os.environ.update(saved)
            reset_settings_cache()


def _stage(trace: Any, key: str) -> Any:
    return next(s for s in trace.stages if s.key == key)


def test_a_new_person_is_explained_stage_by_stage_and_unmapped_fields_are_masked(world: World) -> None:
    world.fresh()
    world.hire("E1", "ana@acme.test")
    trace = world.trace("E1")
    assert trace.found and trace.outcome == "create" and "will be invited" in trace.reason
    assert [s.key for s in trace.stages] == ["record", "validation", "mapped", "scoping", "outcome"]
    record = {r.label: r for r in _stage(trace, "record").rows}
    assert record["First name"].value == "Ana"  # mapped: shown
    assert record["Primary phone number"].value == PRESENT  # not mapped (and personal): masked
    assert record["Primary phone number"].note == "personal"
    assert record["Date of birth"].value == PRESENT
    assert {r.label: r.value for r in _stage(trace, "mapped").rows}["Email"] == "ana@acme.test"
    assert _stage(trace, "scoping").summary.startswith("No scoping rules")
    assert VANISHED_NOTE in trace.notes
    # the trace changed nothing
    assert world.factory is not None
    with world.factory() as session:
        assert session.scalars(select(Member)).all() == []
        assert session.scalars(select(ImportRun)).all() == []


def test_an_update_a_leaver_with_its_clock_and_a_validation_warning(world: World) -> None:
    world.fresh()
    smith = world.hire("E1", "smith@acme.test")
    leaving = world.hire("E2", "leaving@acme.test")
    world.run()
    world.sim.directory.change(smith, lastName="Jones", firstName="Fl1p")  # a bad first name: a warning
    world.sim.directory.terminate(leaving, DAY0 - timedelta(days=2))
    update = world.trace("E1")
    assert update.outcome == "update" and "last name Test → Jones" in update.reason
    validation = {r.label: r for r in _stage(update, "validation").rows}
    assert validation["First name"].status == "warning" and "imported without it" in validation["First name"].note
    leaver = world.trace("E2")
    last_day = DAY0 - timedelta(days=2)
    assert leaver.outcome == "leaver"
    assert f"primary job ended {(last_day + timedelta(days=1)).isoformat()}, exclusive end date" in leaver.reason
    clock = {r.label: r.value for r in _stage(leaver, "closedown").rows}
    assert clock["Personal data deleted on"] == (DAY0 + timedelta(days=60)).isoformat()
    assert clock["Access until"] == (DAY0 + timedelta(days=59)).isoformat()


def test_nobody_found_and_an_address_held_by_someone_else(world: World) -> None:
    world.fresh()
    one = world.hire("E1", "one@acme.test")
    world.run()
    assert world.trace("E404").outcome == "not_found"
    world.hire("E2", "one@acme.test")  # two people with one address: both skipped, found live
    shared = world.trace("E2")
    assert shared.outcome == "skipped" and "also used by employee ID 'E1'" in shared.reason
    world.sim.directory.remove(one)  # E1's member vanished but keeps the address
    taken = world.trace("E2")
    assert taken.outcome == "skipped" and "already belongs to the member with employee ID 'E1'" in taken.reason


def test_a_scoping_rule_is_a_stage_and_its_outcome_is_the_full_imports(world: World) -> None:
    factory = world.fresh()
    ana = world.hire("E1", "ana@acme.test", first="Ana")
    zed = world.hire("E2", "zed@acme.test", first="Zed")
    world.run()
    with factory() as session, session.begin():
        integration = session.get(Integration, world.integration_id)
        assert integration is not None
        update_shape(session, integration, None, transforms=None, scope_rules=[
            {"effect": "exclude", "field": "firstName", "op": "equals", "values": ["zed"], "label": "Zeds"}])
    newcomer = world.hire("E3", "zed.two@acme.test", first="Zed")  # never a member: left out by the rule
    try:
        excluded, kept, stranger = world.trace("E2"), world.trace("E1"), world.trace("E3")
        scoping = _stage(excluded, "scoping")
        assert scoping.status == "warning" and "Excluded by the rule: Exclude Zeds" in scoping.summary
        assert "treated as inactive" not in scoping.summary and "excluded by your rules" in scoping.summary
        assert _stage(kept, "scoping").status == "ok" and kept.outcome == "unchanged"
        assert excluded.outcome == "leaver" and "excluded by your rules" in excluded.reason
        # not "ignored" (inactive): the run counts this person as excluded by your rules, and so does the trace
        assert stranger.outcome == "excluded" and stranger.outcome_label == "Excluded by your rules"
        assert "excluded by your rules" in stranger.reason and "'Current Staff'" not in stranger.reason
        assert _stage(stranger, "outcome").rows[0].value == "Excluded by your rules"
        run_id = world.run()
        assert world.outcome_in_run(run_id, zed) == "leaver" and world.outcome_in_run(run_id, ana) == "unchanged"
        assert world.outcome_in_run(run_id, newcomer) == "ignored"  # no member made
        with factory() as session:
            run = session.get(ImportRun, run_id)
            assert run is not None and (run.excluded, run.ignored) == (1, 0)
    finally:
        with factory() as session, session.begin():
            integration = session.get(Integration, world.integration_id)
            assert integration is not None
            integration.scope_rules = None


def test_applying_one_person_is_a_single_run_that_leaves_everyone_else_alone(world: World) -> None:
    factory = world.fresh()
    a = world.hire("E1", "a@acme.test")
    world.hire("E2", "b@acme.test")
    world.run()
    world.sim.directory.change(a, lastName="Jones")
    gone = world.hire("E3", "c@acme.test")
    world.sim.directory.remove(gone)  # not in the directory at all: irrelevant to E1
    outcome = apply_person(factory, world.integration_id, "E1")
    assert outcome.status == "succeeded" and outcome.counts["updated"] == 1
    assert outcome.counts["leavers"] == 0 and outcome.counts["warnings"] == 0  # nobody "vanished"
    with factory() as session:
        run = session.get(ImportRun, outcome.id)
        assert run is not None and run.trigger == "single"
        members = {m.employee_id: m for m in session.scalars(select(Member))}
        assert members["E1"].last_name == "Jones" and members["E2"].status in ("invited", "active")
    assert world.trace("E1").outcome == "unchanged"


def test_an_address_swap_is_applied_whole_from_either_side(world: World) -> None:
    factory = world.fresh()
    a = world.hire("E1", "a@acme.test")
    b = world.hire("E2", "b@acme.test")
    world.run()
    world.sim.directory.change(a, primaryEmailAddress="b@acme.test")
    world.sim.directory.change(b, primaryEmailAddress="a@acme.test")
    assert world.trace("E1").outcome == "update"
    outcome = apply_person(factory, world.integration_id, "E1")
    assert outcome.counts["updated"] == 2, outcome
    with factory() as session:
        assert {m.employee_id: m.email for m in session.scalars(select(Member))} == {
            "E1": "b@acme.test", "E2": "a@acme.test"}


_person = st.tuples(
    st.sampled_from(["E1", "E2", "E3", "E4"]),
    st.sampled_from(["a@acme.test", "b@acme.test", "c@acme.test", "d@acme.test", "e@acme.test"]),
    st.sampled_from(["Current Staff", "Upcoming Staff", "Past Staff"]),
)
_edit = st.tuples(
    st.integers(0, 5),
    st.sampled_from(["email", "name", "leave", "remove"]),
    st.sampled_from(["a@acme.test", "b@acme.test", "c@acme.test", "d@acme.test", "e@acme.test"]),
)


@settings(max_examples=int(os.environ.get("HRSYNC_TRACE_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(people=st.lists(_person, min_size=1, max_size=5), edits=st.lists(_edit, max_size=4))
def test_a_traces_outcome_is_the_outcome_of_the_next_full_import(
    world: World, people: list[tuple[str, str, str]], edits: list[tuple[int, str, str]]
) -> None:
    world.fresh()
    ids = []
    for emp, email, status in people:
        start = DAY0 + timedelta(days=10) if status == "Upcoming Staff" else None
        ids.append(world.hire(emp, email, status="Current Staff" if status == "Past Staff" else status, start=start))
        if status == "Past Staff":
            world.sim.directory.terminate(ids[-1], DAY0 - timedelta(days=1))
    world.run()
    present = list(ids)
    for index, kind, email in edits:
        if not present:
            break
        person = present[index % len(present)]
        if kind == "email":
            world.sim.directory.change(person, primaryEmailAddress=email)
        elif kind == "name":
            world.sim.directory.change(person, lastName="Changed")
        elif kind == "leave":
            try:
                world.sim.directory.terminate(person, DAY0 - timedelta(days=1))
            except ValueError:
                pass  # already ended
        else:
            world.sim.directory.remove(person)
            present.remove(person)
    traces = {emp: world.trace(emp) for emp in sorted({p[0] for p in people})}
    run_id = world.run()
    with world.factory() as session:  # type: ignore[misc]
        run = session.get(ImportRun, run_id)
        assert run is not None
        if run.status == "held":
            return  # the brake held the whole import: nothing to compare it with (a single run is never held)
    for emp, trace in traces.items():
        if not trace.found:
            continue
        assert trace.outcome == world.outcome_in_run(run_id, trace.source_id), (emp, trace.reason)
