"""The fingerprint shortcut, one situation at a time: each is imported into two databases, with the
shortcut and without (``execute_run(skip_unchanged=False)``), and both must end the same; the
shortcut must also have settled the people it may settle, and no one it may not.

The generated histories of ``test_fingerprint_equivalence.py`` cover the combinations; these are the
situations a wrong shortcut would get wrong first, written out so that they are always taken.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from alembic import command
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker
from tests.sync.test_fingerprint_equivalence import _state

from hrsync.config import reset_settings_cache
from hrsync.domain import fingerprint
from hrsync.lifecycle.closedown import run_closedown
from hrsync.services.integrations import create_integration, get_integration, publish, update_mapping
from hrsync.services.programmes import create_programme
from hrsync.simulator import Simulator
from hrsync.sources.base import Source, SourcePerson
from hrsync.sources.registry import source_for
from hrsync.store.db import alembic_config, dispose_engines, session_factory, upgrade
from hrsync.store.models import Integration, Member
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run

TENANT, KEY = "prints", "sim-key-for-prints-1"
DAY0 = date(2031, 3, 3)


@dataclass
class Twin:
    url: str
    factory: sessionmaker[Session]
    integration_id: int
    skip_unchanged: bool

    def run(self, **options: Any) -> dict[str, Any]:
        with self.factory() as session, session.begin():
            run_id = request_run(session, self.integration_id, trigger="cli").id
        outcome = execute_run(run_id, factory=self.factory, skip_unchanged=self.skip_unchanged, **options)
        assert outcome is not None
        return {"status": outcome.status, **outcome.counts}

    def sql(self, statement: str) -> Any:
        with self.factory() as session, session.begin():
            result = session.execute(text(statement))
            return result.all() if result.returns_rows else None


@dataclass
class Pair:
    sim: Simulator
    ours: Twin  # with the shortcut
    theirs: Twin  # without
    settled: list[int]

    def run(self, **options: Any) -> dict[str, Any]:
        self.settled.clear()
        a = self.ours.run(**options)
        ours_settled = list(self.settled)  # the twin logs its own (none)
        b = self.theirs.run(**options)
        self.settled[:] = ours_settled
        assert a == b
        assert _state(self.ours.factory) == _state(self.theirs.factory)
        return a

    def both(self, statement: str) -> None:
        self.ours.sql(statement)
        self.theirs.sql(statement)


class _Settled(logging.Handler):
    def __init__(self, into: list[int]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "settled", None) is not None:
            self.into.append(int(record.settled))  # type: ignore[attr-defined]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("HRSYNC_")}
    clock = time_machine.travel(f"{DAY0.isoformat()}T12:00:00+00:00", tick=False)
    clock.start()
    settled: list[int] = []
    handler = _Settled(settled)
    logger = logging.getLogger("hrsync.sync.execute")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    with Simulator(people=0, seed=5, tenant=TENANT, api_key=KEY, port=0) as sim:
        sim.directory.set_today(DAY0)
        os.environ.update(HRSYNC_DATA_DIR=str(tmp_path / "data"), HRSYNC_INTELLIHR_BASE_URL=sim.base_url)
        reset_settings_cache()
        template = tmp_path / "template.db"
        upgrade(f"sqlite:///{template}")
        with session_factory(f"sqlite:///{template}")() as session, session.begin():
            programme, admin = create_programme(session, "Prints", admin_email="owner@acme.test",
                                                password="a long enough password", timezone="UTC")
            integration = create_integration(session, programme, admin, subdomain=TENANT, api_key=KEY)
            publish(session, integration, admin)
            integration_id = integration.id
        dispose_engines()
        twins = []
        for name, skip in (("ours", True), ("theirs", False)):
            shutil.copy(template, tmp_path / f"{name}.db")
            url = f"sqlite:///{tmp_path / name}.db"
            twins.append(Twin(url, session_factory(url), integration_id, skip))
        try:
            yield Pair(sim, twins[0], twins[1], settled)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            clock.stop()
            dispose_engines()
            for key in [k for k in os.environ if k.startswith("HRSYNC_")]:
                del os.environ[key]
            os.environ.update(saved)
            reset_settings_cache()


def _hire(pair: Pair, n: int, **extra: Any) -> list[str]:
    ids = []
    for i in range(n):
        made = pair.sim.directory.hire(first_name="Ana", last_name="Test", email=f"p{i}@acme.test",
                                       employee_number=f"E{i}", status="Current Staff",
                                       start_date=DAY0 - timedelta(days=30), **extra)
        ids.append(made["id"])
    return ids


def test_unchanged_people_are_settled_and_a_changed_one_is_not(pair: Pair) -> None:
    ids = _hire(pair, 5)
    assert pair.run()["created"] == 5 and pair.settled == [0]
    assert pair.run()["unchanged"] == 5 and pair.settled == [5]
    pair.sim.directory.change(ids[0], firstName="Bea")
    assert pair.run()["updated"] == 1 and pair.settled == [4]
    assert pair.ours.sql("SELECT count(*) FROM member WHERE fingerprint IS NULL") == [(0,)]


def test_a_member_updated_with_a_warning_forgets_its_fingerprint(pair: Pair) -> None:
    [person] = _hire(pair, 1)
    pair.run()
    pair.sim.directory.change(person, firstName="Flip", lastName="Te5t")  # a new name, a warning
    assert pair.run()["updated"] == 1
    assert pair.ours.sql("SELECT fingerprint FROM member") == [(None,)]
    pair.sim.directory.change(person, firstName="Ana", lastName="Test")  # back as it was first
    counts = pair.run()
    assert counts["updated"] == 1 and pair.settled == [0]  # the name goes back, not "unchanged"


def test_warnings_are_repeated_every_import(pair: Pair) -> None:
    [person] = _hire(pair, 1)
    pair.sim.directory.change(person, lastName="Te5t")
    assert pair.run()["warnings"] == 1
    assert pair.run()["warnings"] == 1 and pair.settled == [0]


def test_a_pre_hire_whose_day_comes_is_invited_not_settled(pair: Pair) -> None:
    pair.sim.directory.hire(first_name="Pre", last_name="Hire", email="pre@acme.test", employee_number="P1",
                            status="Upcoming Staff", start_date=DAY0 + timedelta(days=3))
    assert pair.run()["pending"] == 1
    assert pair.run()["unchanged"] == 1 and pair.settled == [1]  # pending stays pending
    with time_machine.travel(f"{(DAY0 + timedelta(days=3)).isoformat()}T12:00:00+00:00", tick=False):
        pair.sim.directory.set_today(DAY0 + timedelta(days=3))
        counts = pair.run()  # before the close-down's pass: the import starts them
    assert counts["updated"] == 1 and pair.settled == [0]
    assert pair.ours.sql("SELECT status FROM member") == [("invited",)]


def test_a_leaver_deleted_by_the_close_down_is_not_kept_by_a_fingerprint(pair: Pair) -> None:
    [person] = _hire(pair, 1)
    pair.run()
    pair.sim.directory.terminate(person, end_date=DAY0 - timedelta(days=1))
    assert pair.run()["leavers"] == 1
    assert pair.run()["unchanged"] == 1 and pair.settled == [1]
    later = DAY0 + timedelta(days=61)
    with time_machine.travel(f"{later.isoformat()}T12:00:00+00:00", tick=False):
        pair.sim.directory.set_today(later)
        run_closedown(pair.ours.factory)
        run_closedown(pair.theirs.factory)
        counts = pair.run()
    assert counts["unchanged"] == 0 and pair.settled == [0]


@pytest.mark.parametrize("change", ["mapping", "blanks", "rules", "migration"])
def test_every_invalidation_drafts_everyone_again(pair: Pair, change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _hire(pair, 3)
    pair.run()
    pair.run()
    assert pair.settled == [3]
    if change == "mapping":
        for twin in (pair.ours, pair.theirs):
            with twin.factory() as session, session.begin():
                integration = get_integration(session, twin.integration_id)
                update_mapping(session, integration, None, {**integration.mapping, "preferred_name": "preferredName"})
    elif change == "blanks":
        pair.both("UPDATE integration SET blanks_clear_values = 1")
    elif change == "rules":
        monkeypatch.setattr(fingerprint, "RULES_VERSION", fingerprint.RULES_VERSION + 1)
    else:
        for twin in (pair.ours, pair.theirs):
            dispose_engines()
            command.downgrade(alembic_config(twin.url), "0005")
            upgrade(twin.url)
            twin.factory = session_factory(twin.url)
        assert pair.ours.sql("SELECT count(*) FROM member WHERE fingerprint IS NOT NULL") == [(0,)]
    assert pair.run()["unchanged"] == 3 and pair.settled == [0]
    assert pair.run()["unchanged"] == 3 and pair.settled == [3]  # fingerprinted again on the full path


class _Meanwhile:
    """The integration's real source, with something happening to the store half-way through the read
    (another writer, as a second integration of the programme would be)."""

    def __init__(self, source: Source, action: Any) -> None:
        self.source = source
        self.action = action

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def people(self, **options: Any) -> Iterator[SourcePerson]:
        for n, person in enumerate(self.source.people(**options)):
            if n == 1 and self.action is not None:
                self.action()
                self.action = None  # once: the second read sees the store as it is
            yield person


def test_a_member_changed_during_the_read_sends_the_import_back_to_drafting_everyone(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    _hire(pair, 3)
    pair.run()
    pair.run()
    for twin in (pair.ours, pair.theirs):
        def meddle(factory: sessionmaker[Session] = twin.factory) -> None:
            with factory() as session, session.begin():
                session.execute(update(Member).where(Member.employee_id == "E0")
                                .values(first_name="Someone else", fingerprint=None))

        def opened(integration: Integration, meddle: Any = meddle) -> Source:
            return _Meanwhile(source_for(integration, consume=True), meddle)  # type: ignore[return-value]

        twin.skip_unchanged = twin is pair.ours
        with twin.factory() as session, session.begin():
            run_id = request_run(session, twin.integration_id, trigger="cli").id
        outcome = execute_run(run_id, factory=twin.factory, source_factory=opened,
                              skip_unchanged=twin.skip_unchanged)
        assert outcome is not None and outcome.counts["updated"] == 1, outcome
    assert "reading everyone again in full" in caplog.text
    assert _state(pair.ours.factory) == _state(pair.theirs.factory)
    with pair.ours.factory() as session:
        assert session.scalar(select(Member.first_name).where(Member.employee_id == "E0")) == "Ana"
