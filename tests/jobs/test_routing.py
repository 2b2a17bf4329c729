"""Which queue a run takes (issue 27, ``hrsync.jobs.routing``): the size of the integration's last
whole-directory read, the set-up wizard's preview included, one person's runs not counted."""

from __future__ import annotations

from hrsync.jobs.routing import is_large_run
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run
from hrsync.sync.trace import apply_person

from .conftest import Install, activate


def _queued(install: Install, integration_id: int) -> int:
    with install.factory.begin() as session:
        return request_run(session, integration_id, trigger="schedule").id


def _cancel(install: Install, run_id: int) -> None:
    from hrsync.store.models import ImportRun

    with install.factory.begin() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        run.status = "failed"


def test_a_preview_sizes_a_new_integration_and_a_one_person_run_does_not_shrink_it(install: Install) -> None:
    """The simulator has 60 people; the line is set at 50. Before any read the integration is small; its
    preview (a dry run of everyone) makes its first import large; a one-person run (1 read) afterwards
    leaves it large; with the line above the directory it is small again."""
    install.env["HRSYNC_LARGE_IMPORT_PEOPLE"] = "50"
    activate(install.env)
    (iid,) = install.add_live(1)

    first = _queued(install, iid)
    assert not is_large_run(first)  # nothing read yet: the import queue
    _cancel(install, first)

    with install.factory.begin() as session:
        preview = request_run(session, iid, trigger="preview", dry_run=True).id
    outcome = execute_run(preview)
    assert outcome is not None and install.runs(iid)[-1].total == 60 and install.runs(iid)[-1].number is None

    run = _queued(install, iid)
    assert is_large_run(run)  # sized by the preview, before its first real import
    _cancel(install, run)

    employee_id = next(p["employeeNumber"] for p in install.sim.directory.people() if p.get("employeeNumber"))
    applied = apply_person(install.factory, iid, employee_id)  # a one-person run: total 1
    assert install.runs(iid)[-1].trigger == "single" and install.runs(iid)[-1].total is not None
    assert install.runs(iid)[-1].total < 50, applied

    assert is_large_run(_queued(install, iid))  # still the preview's 60 people, not the one-person run's

    install.env["HRSYNC_LARGE_IMPORT_PEOPLE"] = "61"
    activate(install.env)
    assert not is_large_run(install.runs(iid)[-1].id)
