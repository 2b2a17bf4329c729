"""Fixtures for the BambooHR simulator's tests: real simulators on loopback and clients that talk to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from hrsync.simulator.bamboohr import BambooSimulator

COMPANY = "acme"
KEY = "bamboo-test-key"
TODAY = date(2026, 3, 2)  # fixed, so statuses and dates never depend on the day the suite runs
JSON_ACCEPT = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def shared_bamboo() -> Iterator[BambooSimulator]:
    """A 300-person simulator for read-only tests of one module (faults cleared after each test)."""
    with BambooSimulator(people=300, seed=1, company=COMPANY, api_key=KEY, today=TODAY) as sim:
        yield sim


@pytest.fixture
def bamboo(shared_bamboo: BambooSimulator) -> Iterator[BambooSimulator]:
    yield shared_bamboo
    shared_bamboo.faults.clear()
    shared_bamboo.api.enable()


@pytest.fixture
def new_bamboo() -> Iterator[Callable[..., BambooSimulator]]:
    """Fresh simulators for tests that change the company; all stopped at the end."""
    started: list[BambooSimulator] = []

    def start(people: int = 60, seed: int = 1, **kwargs: Any) -> BambooSimulator:
        kwargs.setdefault("today", TODAY)
        sim = BambooSimulator(people=people, seed=seed, company=COMPANY, api_key=KEY, **kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def api(sim: BambooSimulator, **kwargs: Any) -> httpx.Client:
    """A client authenticated as BambooHR documents it (the key as the Basic user name, any password)."""
    kwargs.setdefault("headers", JSON_ACCEPT)
    return httpx.Client(base_url=sim.company_url, auth=(KEY, "x"), timeout=10, **kwargs)


def admin(sim: BambooSimulator) -> httpx.Client:
    """The simulator's back door, over HTTP as a test in another process would use it."""
    return httpx.Client(base_url=f"{sim.url}/_sim", timeout=10)


def report(c: httpx.Client, fields: list[str], *, only_current: bool = True, **body: Any) -> dict[str, Any]:
    params = {"format": "JSON", "onlyCurrent": "true" if only_current else "false"}
    r = c.post("/reports/custom", params=params, json={"title": "test", "fields": fields, **body})
    assert r.status_code == 200, r.headers
    out: dict[str, Any] = r.json()
    return out


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}
