"""A BambooHR import that cannot read fails with the kind's failure row and changes no member: a key
BambooHR refuses, a company it does not know, throttling longer than the retry budget (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hrsync.domain.failures import FAILURES, FailureKind
from hrsync.simulator.bamboohr import BambooSimulator
from hrsync.store.models import ImportRun, Member

from .conftest import Install, session_scope
from .test_bamboohr_import_cli import KEY, bamboo_install

__all__ = ["bamboo_install"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hrsync.db'}"


def _members() -> list[tuple[object, ...]]:
    with session_scope() as session:
        return [tuple(r) for r in session.execute(select(Member.id, Member.status, Member.email, Member.updated_at))]


@pytest.mark.parametrize(("fault", "code", "kind", "says"), [
    ({"kind": "refused", "status": 401, "times": None}, "bad_key", FailureKind.CONFIGURATION,
     "BambooHR refused the API key"),
    ({"kind": "refused", "status": 404, "times": None}, "unknown_company", FailureKind.CONFIGURATION,
     "no BambooHR company 'acme'"),
    ({"kind": "rate_limit", "times": None, "retry_after": 600}, "rate_limited", FailureKind.TRANSIENT,
     "BambooHR kept rate-limiting"),
    ({"kind": "throttled", "times": None, "retry_after": 600}, "rate_limited", FailureKind.TRANSIENT,
     "BambooHR kept rate-limiting"),
])
def test_a_failed_read_has_the_kinds_failure_row_and_changes_nothing(
    bamboo_install: Install, fault: dict[str, object], code: str, kind: FailureKind, says: str
) -> None:
    install, sim = bamboo_install, bamboo_install.sim
    assert isinstance(sim, BambooSimulator)
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    created = install.cli_json("integration", "add", "--programme", "Acme", "--source", "bamboohr",
                               "--setting", "company_domain=acme", "--api-key", "-", stdin=KEY + "\n")
    integration = str(created["id"])
    install.cli_json("integration", "publish", integration)
    install.cli_json("import", integration)
    sim.company.change(150, workEmail="changed@acme.test")  # a change the failed run must not apply
    before = _members()
    sim.faults.add(str(fault["kind"]), **{k: v for k, v in fault.items() if k != "kind"})  # type: ignore[arg-type]

    failed = install.cli_json("import", integration, expect=1)

    assert failed["status"] == "failed" and says in failed["reason"], failed["reason"]
    assert KEY not in failed["reason"]
    with session_scope() as session:
        run = session.get(ImportRun, failed["id"])
        assert run is not None and run.failure_code == code
    assert FAILURES[code].kind == kind
    assert _members() == before
