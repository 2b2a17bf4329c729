"""A tenant that hides employee numbers is refused at ``integration add`` and ``publish`` with a one-line
reason naming the intelliHR ID, and the intelliHR ID then works; a mapping that would skip everyone for
another reason (Email from a name) is refused too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.sync.conftest import API_KEY, TENANT, Install, _activate
from tests.sync.test_history_defects import SQLITE_ONLY

from hrsync.simulator import Simulator
from hrsync.store.db import upgrade

ALTERNATIVE = "--map employee_id=autoIncrementIntellihrId"


@pytest.fixture
def hidden(database_url: str, tmp_path: Path) -> Iterator[Install]:
    """An installation whose intelliHR tenant hides employee numbers (null for everyone)."""
    with Simulator(people=120, seed=7, tenant=TENANT, api_key=API_KEY, port=0, employee_numbers=False) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
        env.update(HRSYNC_DATA_DIR=str(tmp_path / "data"), HRSYNC_DATABASE_URL=database_url,
                   HRSYNC_INTELLIHR_BASE_URL=sim.base_url, HRSYNC_IMPORT_TIME_BUDGET="20")
        _activate(env)
        upgrade()
        yield Install(env=env, sim=sim, url=database_url)
        _activate({})


def _add(inst: Install, *maps: str) -> tuple[int, str, str]:
    proc = inst.cli("integration", "add", "--programme", "Acme", "--subdomain", TENANT, "--api-key", "-",
                    *maps, stdin=API_KEY + "\n")
    return proc.returncode, proc.stdout, proc.stderr


def test_add_refuses_the_default_key_of_a_tenant_without_employee_numbers(hidden: Install) -> None:
    hidden.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    code, _out, err = _add(hidden)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "employeeNumber" in err and "blank for all 120 sampled people" in err
    assert ALTERNATIVE in err
    # the alternative it names works: add, publish, import with everyone keyed by their intelliHR ID
    created = hidden.cli_json("integration", "add", "--programme", "Acme", "--subdomain", TENANT, "--api-key",
                              "-", "--map", "employee_id=autoIncrementIntellihrId", stdin=API_KEY + "\n")
    hidden.cli_json("integration", "publish", str(created["id"]))
    run = hidden.cli_json("import", str(created["id"]))
    assert run["created"] + run["pending"] > 0
    ids = {str(p["autoIncrementIntellihrId"]) for p in hidden.sim.directory.people()}
    assert set(hidden.members()) <= ids and len(hidden.members()) == run["created"] + run["pending"]


@SQLITE_ONLY
def test_add_refuses_a_mapping_that_skips_everyone_for_another_reason(install: Install) -> None:
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    failed = install.cli_json("integration", "add", "--programme", "Acme", "--subdomain", TENANT, "--api-key", "-",
                              "--map", "email=firstName", stdin=API_KEY + "\n", expect=2)
    assert failed["code"] == "skips_everyone"
    assert "Email (from 'firstName') is not an e-mail address" in failed["error"]


@SQLITE_ONLY
def test_publish_refuses_a_draft_whose_key_would_skip_everyone(hidden: Install, install: Install) -> None:
    """A draft added while the tenant still showed employee numbers, published after it hid them."""
    integration = install.setup_integration(publish=False)
    refused = hidden  # the same database and data directory, the tenant's new configuration
    assert refused.env["HRSYNC_DATABASE_URL"] == install.env["HRSYNC_DATABASE_URL"]
    proc = refused.cli("integration", "publish", str(integration))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert f"hrsync integration edit {integration} {ALTERNATIVE}" in proc.stderr
    assert refused.cli_json("integration", "show", str(integration))["status"] == "draft"
    refused.cli_json("integration", "edit", str(integration), "--map", "employee_id=autoIncrementIntellihrId")
    assert refused.cli_json("integration", "publish", str(integration))["status"] == "live"
