"""Scoping rules and value transforms through real imports from the simulator (decision 0026).

* an exclude rule keeps a group out (never created) and makes its members leavers, under the brake;
* a dry run counts the people of each rule, with names;
* a rule or transform change invalidates every fingerprint: the next import takes everyone the full
  way, and imports with and without the shortcut end the same (the twins of
  ``test_fingerprint_scenarios.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.sync.test_fingerprint_scenarios import Pair, _hire
from tests.sync.test_fingerprint_scenarios import pair as pair  # the fixture
from tests.sync.test_history_defects import SQLITE_ONLY

from hrsync.services.integrations import get_integration, update_shape
from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun

if TYPE_CHECKING:
    from conftest import Install

CASUAL = [{"effect": "exclude", "field": "custom.costCentre", "op": "equals", "values": ["CASUAL"],
           "label": "casual workers"}]


def _shape(factory: sessionmaker[Session] | None, integration_id: int, *, rules: Any = None,
           transforms: Any = None) -> None:
    """What the mapping step's save does: the one service function, in one transaction."""
    if factory is None:
        with session_scope() as session:
            update_shape(session, get_integration(session, integration_id), None,
                         scope_rules=rules, transforms=transforms)
        return
    with factory() as session, session.begin():
        update_shape(session, get_integration(session, integration_id), None, scope_rules=rules,
                     transforms=transforms)


def _plan_of(run_id: int) -> dict[str, Any]:
    with session_scope() as session:
        run = session.scalar(select(ImportRun).where(ImportRun.id == run_id))
        assert run is not None and isinstance(run.plan, dict)
        return run.plan


def _statuses(install: Install) -> dict[str, str]:
    return {e: m["status"] for e, m in install.members().items()}


@SQLITE_ONLY
def test_an_exclude_rule_keeps_a_group_out_and_turns_its_members_into_leavers_under_the_brake(
    install: Install,
) -> None:
    d = install.sim.directory
    people = [p for p in d.people() if p.get("employeeNumber")]
    integration = install.setup_integration()
    # set through the command line (the wizard's mapping step calls the same service function)
    bad = install.cli_json("integration", "shape", str(integration), "--rules", "-", expect=2,
                           stdin=json.dumps([{"effect": "exclude", "field": "custom.costCentre", "op": "like"}]))
    assert bad["code"] == "shape"
    shown = install.cli_json("integration", "shape", str(integration), "--rules", "-", stdin=json.dumps(CASUAL))
    assert shown["scope_rules"][0]["label"] == "casual workers" and shown["transforms"] == {}
    shaped = install.cli_json("integration", "shape", str(integration), "--transforms", "-",
                              stdin=json.dumps({"first_name": {"type": "upper"}}))
    assert shaped["transforms"] == {"first_name": {"type": "upper"}} and shaped["scope_rules"] == shown["scope_rules"]
    outsiders = people[:3]
    for p in outsiders:
        d.change(p["id"], customFields={"costCentre": "casual"})  # compared ignoring case
    first = install.cli_json("import", str(integration))
    assert first["status"] in ("succeeded", "succeeded_with_errors"), first
    members = _statuses(install)
    assert members, "the first import created members"
    assert not {p["employeeNumber"] for p in outsiders} & set(members)  # never created
    firsts = [m["first_name"] for m in install.cli_json("members", "--programme", "Acme") if m["first_name"]]
    assert firsts and all(f == f.upper() for f in firsts)  # the transform set through the CLI applied

    # members who become casual workers become leavers, and nobody else changes status
    active = [p for p in people[3:] if members.get(p["employeeNumber"]) in ("active", "invited")]
    newly_casual = active[:4]
    for p in newly_casual:
        d.change(p["id"], customFields={"costCentre": "CASUAL"})
    preview = install.cli_json("import", str(integration), "--dry-run")
    scope = _plan_of(preview["id"])["scope"]
    assert scope[0]["people"] == 7 and scope[0]["leavers"] == 4 and scope[0]["label"] == "casual workers"
    assert len(scope[0]["examples"]) == 5 and all(scope[0]["examples"])
    assert _statuses(install) == members  # a dry run changes nothing

    second = install.cli_json("import", str(integration))
    assert second["leavers"] == 4 and second["created"] == 0, second
    after = _statuses(install)
    assert {e for e, s in after.items() if s != members[e]} == {p["employeeNumber"] for p in newly_casual}
    assert all(after[p["employeeNumber"]] == "leaver" for p in newly_casual)
    assert not {p["employeeNumber"] for p in outsiders} & set(after)

    # a mass exclusion is held by the brake: no member changes until someone approves it
    many = [p for p in active[4:] if after.get(p["employeeNumber"]) in ("active", "invited")][:30]
    for p in many:
        d.change(p["id"], customFields={"costCentre": "Casual"})
    held = install.cli_json("import", str(integration), expect=1)
    assert held["status"] == "held" and held["leavers"] == 30, held
    assert _plan_of(held["id"])["scope"][0]["leavers"] == 30
    assert _statuses(install) == after

    # the rule removed: the excluded members are reinstated, the outsiders become members
    install.cli_json("run", "reject", str(held["id"]))
    assert install.cli_json("integration", "shape", str(integration), "--clear")["scope_rules"] == []
    back = install.cli_json("import", str(integration))
    assert back["reinstated"] == 4 and back["leavers"] == 0, back
    assert {p["employeeNumber"] for p in outsiders} <= set(install.members())


@SQLITE_ONLY
def test_a_rule_on_a_job_field_fetches_job_details(install: Install) -> None:
    integration = install.setup_integration()
    _shape(None, integration, rules=[{"effect": "exclude", "field": "job.workType", "op": "equals",
                                      "values": ["Temporary/Casual"]}])
    preview = install.cli_json("import", str(integration), "--dry-run")
    plan = _plan_of(preview["id"])
    [rule] = plan["scope"]
    assert rule["people"] > 0 and rule["examples"]  # the work type was read (it lives on /jobs)
    people = plan["people"]
    # nobody excluded is created (no member yet): each is counted as excluded by the rules, not as inactive
    assert 0 < people["excluded"] <= rule["people"], people  # (a person with a record error is skipped)
    assert people["created"] + people["pending"] + rule["people"] <= people["read"]
    assert preview["excluded"] == people["excluded"] and preview["ignored"] == people["ignored"]  # the run's counts
    _shape(None, integration, rules=[])
    everyone = install.cli_json("import", str(integration), "--dry-run")
    assert everyone["excluded"] == 0 and _plan_of(everyone["id"])["people"]["excluded"] == 0
    # without the rule the excluded people are created, or ignored if inactive: never were they inactive ones
    assert people["ignored"] <= everyone["ignored"] <= people["ignored"] + people["excluded"]
    # a value from memory decides nobody: the preview keeps the values that come closest, for the review
    _shape(None, integration, rules=[{"effect": "exclude", "field": "job.workType", "op": "equals",
                                      "values": ["casual"]}])
    missed = install.cli_json("import", str(integration), "--dry-run")
    [nobody] = _plan_of(missed["id"])["scope"]
    assert nobody["people"] == 0 and nobody["seen_any"] and nobody["seen"][0] == ["Temporary/Casual", rule["people"]]
    assert missed["excluded"] == 0


def test_a_rule_change_takes_everyone_the_full_way_and_ends_as_without_the_shortcut(pair: Pair) -> None:
    ids = _hire(pair, 6, custom={"costCentre": "A"})
    for person in ids[:2]:
        pair.sim.directory.change(person, customFields={"costCentre": "B"})
    for twin in (pair.ours, pair.theirs):
        _shape(twin.factory, twin.integration_id, rules=[
            {"effect": "exclude", "field": "custom.costCentre", "op": "equals", "values": ["B"]}])
    assert pair.run()["created"] == 4
    assert pair.run()["unchanged"] == 4 and pair.settled == [4]
    # the same people, the same values; only the rule changes (the field stays in the basis)
    for twin in (pair.ours, pair.theirs):
        _shape(twin.factory, twin.integration_id, rules=[
            {"effect": "exclude", "field": "custom.costCentre", "op": "equals", "values": ["A"]}])
    counts = pair.run()
    assert counts["leavers"] == 4 and counts["created"] == 2 and pair.settled == [0]
    assert pair.run()["unchanged"] == 6 and pair.settled == [6]


def test_a_transform_change_takes_everyone_the_full_way_and_ends_as_without_the_shortcut(pair: Pair) -> None:
    _hire(pair, 4)
    assert pair.run()["created"] == 4
    assert pair.run()["unchanged"] == 4 and pair.settled == [4]
    for twin in (pair.ours, pair.theirs):
        _shape(twin.factory, twin.integration_id, transforms={"first_name": {"type": "upper"}})
    counts = pair.run()
    assert counts["updated"] == 4 and pair.settled == [0]
    assert pair.ours.sql("SELECT DISTINCT first_name FROM member") == [("ANA",)]
    assert pair.run()["unchanged"] == 4 and pair.settled == [4]
    for twin in (pair.ours, pair.theirs):
        _shape(twin.factory, twin.integration_id, transforms=None)
    assert pair.run()["updated"] == 4 and pair.settled == [0]
