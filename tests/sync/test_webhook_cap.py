"""A holder of the webhook URL posts deliveries as fast as they like: past HRSYNC_WEBHOOK_RUNS_PER_HOUR
one-person runs in an hour, the integration gets one full import instead, and no more entries."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hrsync.jobs.webhooks import process_due
from hrsync.store.db import session_factory
from hrsync.store.types import utcnow
from hrsync.sync.execute import execute_run

from .webhook_world import HookWorld, start_world

CAP = 3


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookWorld]:
    yield from start_world(tmp_path_factory.mktemp("cap"), HRSYNC_WEBHOOK_RUNS_PER_HOUR=str(CAP),
                           HRSYNC_WEBHOOK_DELAY_SECONDS="0")


def test_deliveries_past_the_cap_become_one_full_import(world: HookWorld) -> None:
    people = world.sim.directory.ids()
    assert len(people) > CAP + 1
    url = world.hook_url()
    delivered = 0
    for _ in range(6):  # six rounds of a delivery for every person: 48 deliveries, 48 hints
        for person in people:
            answer = httpx.post(url, json={"id": person, "event": "person.updated",
                                           "links": {"self": f"{world.sim.base_url}/people/{person}"}})
            assert answer.status_code == 202 and answer.json() == {"queued": True}
            delivered += 1
        process_due(session_factory(), utcnow())
    one_person, [full] = world.runs("webhook"), world.runs("schedule")
    assert len(one_person) == CAP, [(r.id, r.status) for r in one_person]
    assert all(r.status == "succeeded" and r.created == 1 for r in one_person)
    assert full.status == "queued" and not full.dry_run and len(world.runs()) == CAP + 1
    outcome = execute_run(full.id, factory=session_factory())  # as the worker it was handed to
    assert outcome is not None and outcome.status == "succeeded"
    assert len(world.members()) == len(people)  # the whole directory was read: everyone is a member
    assert world.hint_count() == 0 and len(world.runs()) == CAP + 1 < delivered
