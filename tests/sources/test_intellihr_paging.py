"""Each person exactly once while the directory shifts under the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hrsync.sources.intellihr import IntelliHRSource

from .conftest import KEY, TENANT
from .helpers import raw_list


def _read(sim: Any, concurrency: int = 4) -> list[str]:
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url, concurrency=concurrency) as source:
        return [p.source_id for p in source.people()]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_growth_during_paging_misses_nobody(new_sim: Callable[..., Any], concurrency: int) -> None:
    sim = new_sim(people=1000)
    sim.faults.add("grow", times=3, after=2, count=7)
    ids = _read(sim, concurrency)
    at_end = {p["id"] for p in raw_list(sim.base_url)}
    assert len(at_end) > 1000, "the fault should have grown the directory"
    assert len(ids) == len(set(ids)), "nobody twice"
    assert at_end <= set(ids), "nobody present at the end is missed"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_shrinking_during_paging_misses_nobody(new_sim: Callable[..., Any], concurrency: int) -> None:
    sim = new_sim(people=1000)
    sim.faults.add("shrink", times=3, after=2, count=7)
    ids = _read(sim, concurrency)
    at_end = {p["id"] for p in raw_list(sim.base_url)}
    assert len(at_end) < 1000, "the fault should have shrunk the directory"
    assert len(ids) == len(set(ids)), "nobody twice"
    assert at_end <= set(ids), "nobody present at the end is missed"


def test_hires_and_leavers_between_reads_show_up(new_sim: Callable[..., Any]) -> None:
    sim = new_sim(people=120)
    first = set(_read(sim))
    hired = sim.directory.hire(first_name="Ngaio", last_name="Marsh", email="ngaio@example.com",
                               employee_number="E-NEW-1")
    hired_id = hired["id"]
    gone = next(iter(sorted(first)))
    sim.directory.remove(gone)
    second = _read(sim)
    assert len(second) == len(set(second))
    assert hired_id in second
    assert gone not in second
    assert set(second) == (first - {gone}) | {hired_id}
