"""Fixtures for simulator tests: real simulators on loopback and httpx clients that talk to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from hrsync.simulator import Simulator

TENANT = "demo"
KEY = "sim-demo-key"
AUTH = {"Authorization": f"Bearer {KEY}", "Tenant": TENANT}
TODAY = date(2026, 3, 2)  # fixed, so statuses and dates never depend on the day the suite runs


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[Simulator]:
    """A 200-person simulator for read-only tests of one module (faults cleared after each test)."""
    with Simulator(people=200, seed=1, tenant=TENANT, api_key=KEY, today=TODAY) as sim:
        yield sim


@pytest.fixture
def sim(shared_sim: Simulator) -> Iterator[Simulator]:
    yield shared_sim
    shared_sim.faults.clear()


@pytest.fixture
def new_sim() -> Iterator[Callable[..., Simulator]]:
    """Fresh simulators for tests that change the directory; all stopped at the end."""
    started: list[Simulator] = []

    def start(people: int = 200, seed: int = 1, **kwargs: Any) -> Simulator:
        kwargs.setdefault("today", TODAY)
        simulator = Simulator(people=people, seed=seed, tenant=TENANT, api_key=KEY, **kwargs).start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers=AUTH, timeout=10) as c:
        yield c


def api(simulator: Simulator) -> httpx.Client:
    """An authenticated client for ``simulator`` (caller closes it, or uses ``with``)."""
    return httpx.Client(base_url=simulator.base_url, headers=AUTH, timeout=10)


def all_people(c: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        body = c.get("/people", params={"limit": 100, "page": page, **params}).raise_for_status().json()
        out.extend(body["data"])
        if page >= body["meta"]["pagination"]["total_pages"]:
            return out
        page += 1
