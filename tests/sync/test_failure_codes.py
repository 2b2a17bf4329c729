"""A failed run stores why as a code from the failure table, next to its sentence for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from hrsync.domain.failures import FAILURES, FailureKind
from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun, Integration, Member
from hrsync.sync.execute import INTERNAL_REASON, execute_run
from hrsync.sync.runs import request_run

if TYPE_CHECKING:
    from conftest import Install


def _run(run_id: int) -> ImportRun:
    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def _members() -> list[tuple[object, ...]]:
    with session_scope() as session:
        return [tuple(r) for r in session.execute(select(Member.id, Member.status, Member.updated_at))]


def test_a_key_the_hr_system_refuses_fails_the_run_with_bad_key(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = _members()
    install.sim.faults.add("refused", status=401, times=None)  # the key was revoked in intelliHR

    failed = install.cli_json("import", str(integration), expect=1)

    assert failed["status"] == "failed" and "API key" in failed["reason"]
    run = _run(failed["id"])
    assert run.failure_code == "bad_key"
    assert FAILURES[run.failure_code].kind == FailureKind.CONFIGURATION
    assert _members() == before


def test_a_crash_fails_the_run_as_internal_and_changes_no_member(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = _members()

    def broken_source(_integration: Integration) -> object:
        raise RuntimeError("a bug in opening the source")

    with session_scope() as session:
        run_id = request_run(session, integration).id
    outcome = execute_run(run_id, source_factory=broken_source)  # type: ignore[arg-type]

    assert outcome is not None and outcome.status == "failed"
    assert outcome.reason == INTERNAL_REASON and outcome.failure_code == "internal"
    assert _run(run_id).failure_code == "internal"
    assert _members() == before


def test_a_successful_run_has_no_failure_code(install: Install) -> None:
    integration = install.setup_integration()
    done = install.cli_json("import", str(integration))
    assert done["status"] in ("succeeded", "succeeded_with_errors")
    assert _run(done["id"]).failure_code is None
