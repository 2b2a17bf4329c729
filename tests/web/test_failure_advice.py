"""A failed run says why and what to do: on its page, in the history, in the API and in the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from tests.web.conftest_b import World, world

from hrsync.domain.failures import failure
from hrsync.store import session_scope
from hrsync.store.models import ImportRun

__all__ = ["world"]

REASON = "intelliHR refused the API key (401)."


@pytest.fixture(scope="module")
def failed_run(world: World) -> int:
    """A finished, failed run of Acme's integration with the failure code the runner stores."""
    with session_scope() as session:
        run = ImportRun(integration_id=world.acme.integration_id, programme_id=world.acme.programme_id,
                        trigger="schedule", status="failed", phase="done", reason=REASON, failure_code="bad_key")
        session.add(run)
        session.flush()
        return run.id


def test_the_run_page_and_the_history_show_the_reason_and_the_advice(world: World, failed_run: int) -> None:
    advice = failure("bad_key").advice_for("intelliHR")
    client = world.admin_client(world.acme)
    base = f"/integrations/{world.acme.integration_id}/runs"
    page = client.get(f"{base}/{failed_run}")
    assert page.status_code == 200
    assert "This import failed; no member was changed." in page.text and REASON in page.text
    assert 'data-failure-code="bad_key"' in page.text and advice in page.text
    history = client.get(base)
    assert REASON in history.text and advice in history.text


def test_the_api_gives_the_failure_code_kind_and_advice(world: World, failed_run: int) -> None:
    body = world.api(world.acme).get(f"/api/v1/runs/{failed_run}").json()
    assert body["failure_code"] == "bad_key" and body["failure_kind"] == "configuration"
    assert body["advice"] == failure("bad_key").advice_for("intelliHR")
    ok = world.api(world.acme).get(f"/api/v1/runs/{world.acme.run_ids[0]}").json()
    assert ok["failure_code"] is None and ok["advice"] is None


def test_the_cli_line_of_a_failed_import_ends_with_its_code_and_advice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hrsync.cli.main import cli
    from hrsync.config import reset_settings_cache

    monkeypatch.setenv("HRSYNC_IMPORT_TIME_BUDGET", "2")
    reset_settings_cache()
    world.sim.faults.add("server_error", status=500, times=None, after=1)
    try:
        result = CliRunner().invoke(cli, ["import", str(world.acme.integration_id), "--json"])
    finally:
        world.sim.faults.clear()
        monkeypatch.delenv("HRSYNC_IMPORT_TIME_BUDGET")
        reset_settings_cache()
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout.splitlines()[0])
    assert payload["status"] == "failed"
    row = failure(payload["failure_code"])
    assert payload["advice"] == row.advice_for("intelliHR") and payload["failure_kind"] == row.kind
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"hrsync: failed ({payload['failure_code'] or 'internal'}): ")
    assert line.endswith(f" — {row.advice_for('intelliHR')}")
