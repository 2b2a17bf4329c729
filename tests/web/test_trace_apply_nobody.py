"""Issue 22: applying the trace of somebody the HR system does not know, over HTTP (the JSON API and the
portal's form) against a live portal and the simulator. It made a held one-person run ("the HR system
returned nobody while the programme has … members"), blocked every import with 409 and e-mailed the
owners; now it is refused, and nothing is run, held or sent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from tests.web.conftest_b import Tenant, import_now, make_tenant, post_form, sign_in

from hrsync.store import session_factory
from hrsync.store.models import ImportRun, Member, OutboxEmail

from .conftest_b import PASSWORD


@pytest.fixture(scope="module")
def tenant(portal: Any) -> Tenant:
    made = make_tenant("Nobody Perks", "admin@nobody.example", 10.0)
    made.run_ids.append(import_now(made.integration_id))
    return made


def _state(tenant: Tenant) -> tuple[list[tuple[int, str, str]], int, list[tuple[str, str]]]:
    with session_factory()() as session:
        runs = [(r.id, r.trigger, r.status) for r in session.scalars(
            select(ImportRun).where(ImportRun.integration_id == tenant.integration_id).order_by(ImportRun.id))]
        mails = int(session.scalar(select(func.count()).select_from(OutboxEmail)) or 0)
        members = sorted((m.employee_id or "", m.status) for m in session.scalars(
            select(Member).where(Member.programme_id == tenant.programme_id)))
    return runs, mails, members


def _client(portal: Any, **kwargs: Any) -> Any:
    import httpx

    client = httpx.Client(base_url=portal.base_url, timeout=60.0, **kwargs)
    portal.clients.append(client)
    return client


def test_applying_nobody_is_refused_over_the_api_and_the_portal_and_runs_nothing(portal: Any, tenant: Tenant
                                                                                  ) -> None:
    before = _state(tenant)
    assert before[2] and all(status != "held" for _, _, status in before[0])

    client = sign_in(_client(portal), tenant.admin_email, PASSWORD)
    page = f"/integrations/{tenant.integration_id}/trace?employee_id=NOBODY-HERE"
    answer = post_form(client, page, f"/integrations/{tenant.integration_id}/trace/apply",
                       {"employee_id": "NOBODY-HERE"})
    assert answer.status_code == 303, answer.text[:300]
    shown = client.get(answer.headers["location"]).text
    assert "Nobody with employee ID" in shown and "nothing was applied" in shown.lower()
    assert _state(tenant) == before  # no run (held or not), no e-mail, no member touched

    api = _client(portal, headers={"Authorization": f"Bearer {tenant.token}"})
    answer = api.post(f"/api/v1/integrations/{tenant.integration_id}/trace/apply",
                      params={"employee_id": "NOBODY-HERE"})
    assert answer.status_code == 404, answer.text
    detail = answer.json()["detail"]
    assert "Nobody with employee ID 'NOBODY-HERE'" in detail and "nothing was applied" in detail.lower()
    assert _state(tenant) == before

    started = api.post(f"/api/v1/integrations/{tenant.integration_id}/runs", json={"dry_run": True})
    assert started.status_code == 202, started.text  # the next import is not refused with 409
