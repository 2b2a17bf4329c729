"""Seeded data for the import-history, members, tokens, API and member-page tests.

Builds on ``portal`` from ``tests/web/conftest.py`` (the real portal served by uvicorn on a
loopback port, a fresh SQLite file and the intelliHR simulator per module) and adds the embedded
import worker of :mod:`hrsync.jobs.embedded`, so *Import data now* runs for real. Test modules
import ``world`` (and the helpers) from here by name.

Two programmes share the simulator:

* **Acme** — its integration never holds a run (threshold 100 %); one finished import with
  errors exists before the tests start.
* **Globex** — its integration holds a run as soon as a few people leave (threshold 1 %); the
  fixture leaves it with one imported run and one **held** run, and both are another programme's
  objects for Acme's administrator (tenant isolation).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from hrsync.jobs.embedded import EmbeddedScheduler
from hrsync.services.api_tokens import create_api_token
from hrsync.services.integrations import create_integration, publish
from hrsync.services.programmes import create_programme
from hrsync.simulator import Simulator
from hrsync.store import session_factory, session_scope
from hrsync.store.models import ImportRun, Integration, Member
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run

PASSWORD = "correct horse battery staple"
SIM_KEY = "sim-demo-key"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Tenant:
    programme_id: int
    admin_id: int
    admin_email: str
    integration_id: int
    token: str
    token_id: int
    run_ids: list[int] = field(default_factory=list)


@dataclass
class World:
    """A's live ``portal`` plus two seeded programmes, their runs and an import worker."""

    portal: Any
    scheduler: EmbeddedScheduler
    acme: Tenant
    globex: Tenant
    held_run_id: int

    @property
    def base_url(self) -> str:
        return str(self.portal.base_url)

    @property
    def sim(self) -> Simulator:
        return self.portal.sim  # type: ignore[no-any-return]

    def client(self, **kwargs: Any) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, timeout=60.0, **kwargs)
        self.portal.clients.append(client)
        return client

    def admin_client(self, tenant: Tenant) -> httpx.Client:
        return sign_in(self.client(), tenant.admin_email, PASSWORD)

    def api(self, tenant: Tenant | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {tenant.token}"} if tenant else {}
        return self.client(headers=headers)


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html) or CSRF_META.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Client:
    page = client.get("/login")
    assert page.status_code == 200, page.text[:500]
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text),
                                         "next": "/integrations"})
    assert answer.status_code == 303, answer.text[:500]
    return client


def post_form(client: httpx.Client, page_path: str, action: str, data: dict[str, str] | None = None
              ) -> httpx.Response:
    """Submit a form the way a browser does: read the page (for its CSRF token), then post."""
    page = client.get(page_path)
    assert page.status_code == 200, f"{page_path}: {page.status_code}"
    return client.post(action, data={**(data or {}), "csrf_token": csrf_of(page.text)})


def wait_for_run(run_id: int, *, timeout: float = 120.0) -> ImportRun:
    """Poll the run row until it stops moving (the worker runs on another thread)."""
    deadline = time.monotonic() + timeout
    while True:
        with session_factory()() as session:
            run = session.get(ImportRun, run_id)
            assert run is not None
            if run.status not in ("queued", "running"):
                return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is still {run.status}")
        time.sleep(0.1)


def wait_for_decision(run_id: int, *, timeout: float = 120.0) -> ImportRun:
    """Poll the run row until a worker applied the decision asked for on it (it is no longer held)."""
    deadline = time.monotonic() + timeout
    while True:
        with session_factory()() as session:
            run = session.get(ImportRun, run_id)
            assert run is not None
            if run.status != "held":
                return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is still held")
        time.sleep(0.1)


def import_now(integration_id: int) -> int:
    """One import in the foreground, the way ``hrsync import`` runs it."""
    with session_scope() as session:
        run = request_run(session, integration_id, trigger="cli")
        run_id = run.id
    execute_run(run_id)
    return run_id


def make_tenant(name: str, email: str, threshold: float) -> Tenant:
    with session_scope() as session:
        programme, admin = create_programme(session, name, admin_email=email, admin_name=f"{name} Admin",
                                            password=PASSWORD)
        integration = create_integration(session, programme, admin, subdomain="demo", api_key=SIM_KEY,
                                         leaver_threshold_pct=threshold)
        publish(session, integration, admin)
        raw, token = create_api_token(session, programme.id, f"{name} CI", created_by=admin,
                                      scopes=("read", "import", "approve", "members"))
        return Tenant(programme.id, admin.id, email, integration.id, raw, token.id)


def leave(sim: Simulator, start: int, count: int) -> None:
    """``count`` current employees from position ``start`` on leave the company (yesterday)."""
    left = 0
    for person in sim.directory.people()[start:]:
        if person["employmentStatus"] == "Current Staff":
            sim.directory.terminate(person["id"])
            left += 1
            if left == count:
                return


@pytest.fixture(scope="module")
def world(portal: Any) -> Iterator[World]:
    acme = make_tenant("Acme Perks", "admin@acme.example", 100.0)
    globex = make_tenant("Globex Rewards", "admin@globex.example", 1.0)
    acme.run_ids.append(import_now(acme.integration_id))
    globex.run_ids.append(import_now(globex.integration_id))
    # Six people leave (the brake needs at least 5): Globex's brake (1 %) holds its next import;
    # Acme's (100 %) never does.
    leave(portal.sim, 60, 6)
    held = import_now(globex.integration_id)
    with session_factory()() as session:
        run = session.get(ImportRun, held)
        assert run is not None and run.status == "held", run and run.status
    globex.run_ids.append(held)
    scheduler = EmbeddedScheduler(session_factory(), send_outbox=False, closedown=False).start(loop=False)
    try:
        yield World(portal, scheduler, acme, globex, held)
    finally:
        scheduler.stop()


def members_of(programme_id: int) -> list[Member]:
    with session_factory()() as session:
        return list(session.scalars(select(Member).where(Member.programme_id == programme_id)))


def set_integration(integration_id: int, **values: object) -> None:
    with session_scope() as session:
        session.execute(update(Integration).where(Integration.id == integration_id).values(**values))
