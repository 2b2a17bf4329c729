"""What one import writes to the database besides its members (issue 27: a fleet runs thousands of small
imports, and each statement and transaction of a run's fixed cost is paid thousands of times).

A small import writes its run row at the claim, before the apply (its phase, so the portal can show a long
apply) and at the finish; its planning phase rides on the apply's write. A read slower than the progress
interval still shows planning on its own. A programme fed by one integration never reads the list of its
doors (they only name the owners of other doors' members)."""

from __future__ import annotations

import re

from sqlalchemy import select
from tests.statements import recorded_statements
from tests.sync.conftest import Install, database_url, install

from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun
from hrsync.sync.execute import execute_run
from hrsync.sync.progress import PROGRESS_INTERVAL
from hrsync.sync.runs import request_run

__all__ = ["database_url", "install"]

_RUN_UPDATE = re.compile(r"^UPDATE import_run SET (.*?) WHERE", re.DOTALL)


def _import(install: Install, integration: int) -> tuple[int, list[str]]:
    with session_scope() as session:
        run_id = request_run(session, integration, trigger="cli").id
    with recorded_statements(install.url) as sent:
        outcome = execute_run(run_id)
    assert outcome is not None and outcome.status in ("succeeded", "succeeded_with_errors"), outcome
    return run_id, [" ".join(s.split()) for s in sent]


def _phase_writes(statements: list[str]) -> list[str]:
    """The columns each UPDATE of the run row sets, for those that set its phase."""
    sets = [m.group(1) for s in statements if (m := _RUN_UPDATE.match(s))]
    return [s for s in sets if re.search(r"\bphase=", s)]


def test_a_small_import_writes_its_phase_twice_and_never_reads_its_doors(install: Install) -> None:
    integration = install.setup_integration()
    for _ in range(2):  # the first import (everyone created) and an unchanged one
        run_id, statements = _import(install, integration)
        writes = _phase_writes(statements)
        # claim (fetching), applying with the planning counts carried along, finish (status and counts)
        assert len(writes) == 3, writes
        assert "worker_id=" in writes[0] and "processed=" in writes[1] and "status=" in writes[2], writes
        doors = [s for s in statements if s.startswith("SELECT integration.id, integration.kind FROM")]
        assert doors == [], "a one-door programme read its doors"
        with session_scope() as session:
            run = session.get(ImportRun, run_id)
            assert run is not None and run.phase == "done" and run.total == run.processed and run.total > 0


def test_a_read_slower_than_the_interval_shows_its_planning_phase(install: Install) -> None:
    integration = install.setup_integration()
    install.sim.faults.add("slow", times=1, delay=PROGRESS_INTERVAL * 2)
    run_id, statements = _import(install, integration)
    writes = _phase_writes(statements)
    assert len(writes) == 4, writes  # claim, planning, applying, finish
    assert "processed=" in writes[1] and "processed=" not in writes[2], writes
    with session_scope() as session:
        assert session.scalar(select(ImportRun.phase).where(ImportRun.id == run_id)) == "done"
