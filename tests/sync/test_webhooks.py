"""intelliHR webhooks end to end, over real HTTP: the simulator delivers its directory changes to a portal
on real uvicorn, hrsync queues them as hints, and the worker re-fetches and applies one person at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from hrsync.jobs.embedded import EmbeddedScheduler
from hrsync.jobs.webhooks import process_due
from hrsync.sources.intellihr.webhooks import EVENTS
from hrsync.store.db import session_factory, session_scope
from hrsync.store.models import AdminUser, Integration, OutboxEmail, WebhookSubscription
from hrsync.store.types import utcnow

from .webhook_world import HookWorld, start_world, wait_until

LATER = timedelta(hours=1)  # "now" for a pass that must find every queued hint due


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookWorld]:
    yield from start_world(tmp_path_factory.mktemp("hooks"))


def drain(world: HookWorld) -> dict[str, object]:
    """Let the simulator finish delivering, then run the worker's step as if the delay had passed."""
    assert world.sim.webhooks.wait_idle(60), "the simulator did not finish delivering"
    return process_due(session_factory(), utcnow() + LATER).to_dict()


def test_publishing_subscribes_every_event_at_a_tokened_url(world: HookWorld) -> None:
    subs = world.sim.webhooks.subscriptions()
    assert sorted(s["webhookEvent"]["event"] for s in subs) == sorted(EVENTS)
    assert all(s["isEnabled"] and s["source"] == "hrsync" for s in subs)
    url = world.hook_url()
    assert url.startswith(f"{world.base_url}/hooks/intellihr/")
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    with session_scope() as session:
        row = session.query(WebhookSubscription).one()
        assert row.state == "registered" and sorted(row.subscription_ids) == sorted(s["id"] for s in subs)
        assert row.token_hash != token and token not in str(row.subscription_ids)


def test_a_hire_is_a_member_invited_within_seconds_without_a_scheduled_run(world: HookWorld) -> None:
    scheduler = EmbeddedScheduler(session_factory(), tick=3600, send_outbox=False, closedown=False).start()
    try:
        hired = httpx.post(f"{world.sim.url}/_sim/people", json={
            "first_name": "Nia", "last_name": "Hook", "email": "nia.hook@example.com", "employee_number": "W-1"})
        assert hired.status_code == 201, hired.text
        person_id = hired.json()["id"]
        member = wait_until(lambda: world.members().get(person_id), what="the hired person to become a member")
    finally:
        scheduler.stop()
    assert member.status == "invited" and member.email == "nia.hook@example.com"
    runs = world.runs()
    assert {r.trigger for r in runs} == {"webhook"}, [(r.id, r.trigger) for r in runs]
    assert runs[0].status == "succeeded" and runs[0].created == 1, (runs[0].status, runs[0].reason)
    with session_scope() as session:
        row = session.query(WebhookSubscription).one()
        assert row.last_delivery_at is not None
        kinds = {kind for (kind,) in session.query(OutboxEmail.kind).filter(OutboxEmail.run_id == runs[0].id)}
        invited = session.query(OutboxEmail).filter(OutboxEmail.kind == "invitation",
                                                    OutboxEmail.to_address == "nia.hook@example.com").count()
    assert invited == 1  # the new member is invited
    assert "run_summary" not in kinds  # but one person's webhook run e-mails no summary to the administrator


def test_a_burst_of_100_events_for_one_person_is_one_refetch(world: HookWorld) -> None:
    person = world.sim.directory.hire(first_name="Bo", last_name="Burst", email="bo@example.com",
                                      employee_number="W-2")
    drain(world)
    assert world.members()[person["id"]].email == "bo@example.com"
    before = world.fetches_of(person["id"])
    for n in range(100):
        world.sim.directory.change(person["id"], primaryEmailAddress=f"bo{n}@example.com")
    assert world.sim.webhooks.wait_idle(60)
    hints = world.hints()
    assert [(h.subject, h.deliveries) for h in hints] == [(f"person:{person['id']}", 100)]
    report = drain(world)
    assert len(report["applied"]) == 1, report  # type: ignore[arg-type]
    assert world.fetches_of(person["id"]) - before == 1
    run = world.runs("webhook")[-1]
    assert (run.status, run.updated) == ("succeeded", 1), (run.status, run.reason, run.unchanged, run.errors)
    assert world.members()[person["id"]].email == "bo99@example.com"
    assert world.hint_count() == 0


def test_a_forged_delivery_is_404_and_changes_nothing(world: HookWorld) -> None:
    # a member of its own, so the test holds whichever of this module's tests ran before it
    person = world.sim.directory.hire(first_name="Fay", last_name="Forge", email="fay@example.com",
                                      employee_number="W-F")
    drain(world)
    before = {k: (m.status, m.first_name) for k, m in world.members().items()}
    assert person["id"] in before
    runs = len(world.runs())
    some = person["id"]
    for url in (f"{world.base_url}/hooks/intellihr/not-a-token",
                world.hook_url()[:-4] + "AAAA",  # one character group off
                f"{world.base_url}/hooks/intellihr/"):
        answer = httpx.post(url, json={"id": some, "event": "person.deleted", "timestamp": "2026-01-01T00:00:00Z"})
        assert answer.status_code in (404, 405), (url, answer.status_code)
    assert world.hint_count() == 0
    drain(world)
    assert {k: (m.status, m.first_name) for k, m in world.members().items()} == before
    assert len(world.runs()) == runs


def test_a_replayed_delivery_changes_nothing_a_refetch_would_not(world: HookWorld) -> None:
    person = world.sim.directory.hire(first_name="Rae", last_name="Play", email="rae@example.com",
                                      employee_number="W-3")
    drain(world)
    member = world.members()[person["id"]]
    delivered = [d for d in world.sim.webhooks.deliveries if d.payload.get("id") == person["id"]]
    assert delivered
    for d in delivered * 3:  # the same deliveries again, three times
        assert httpx.post(d.url, json=d.payload).status_code == 202
    report = drain(world)
    assert len(report["applied"]) == 1, report  # type: ignore[arg-type]
    run = world.runs("webhook")[-1]
    assert run.status == "succeeded" and (run.created, run.updated, run.leavers) == (0, 0, 0), run.reason
    again = world.members()[person["id"]]
    assert (again.status, again.first_name, again.email, again.updated_at) == (
        member.status, member.first_name, member.email, member.updated_at)


def test_person_deleted_while_the_person_is_still_there_changes_nothing(world: HookWorld) -> None:
    person = world.sim.directory.hire(first_name="Ida", last_name="Stay", email="ida@example.com",
                                      employee_number="W-4")
    drain(world)
    before = world.members()[person["id"]]
    forged = {"id": person["id"], "event": "person.deleted", "timestamp": "2026-01-01T00:00:00+00:00"}
    assert httpx.post(world.hook_url(), json=forged).status_code == 202
    drain(world)
    after = world.members()[person["id"]]
    assert (after.status, after.updated_at) == (before.status, before.updated_at)


def test_person_deleted_follows_the_vanished_rule(world: HookWorld) -> None:
    with session_scope() as session:
        session.get(Integration, world.integration_id).vanished_are_leavers = True  # type: ignore[union-attr]
    try:
        person = world.sim.directory.hire(first_name="Lea", last_name="Gone", email="lea@example.com",
                                          employee_number="W-5")
        keeper = world.sim.directory.hire(first_name="Kit", last_name="Kept", email="kit@example.com",
                                          employee_number="W-6")
        drain(world)
        assert world.members()[person["id"]].status == "invited"
        world.sim.directory.remove(person["id"])
        world.sim.directory.remove(keeper["id"])  # gone too, but nobody tells hrsync: untouched here
        world.sim.webhooks.wait_idle(60)
        world.sim.webhooks.deliveries.clear()
        # only the first deletion is delivered: drop the second's hint to prove nobody else is touched
        with session_scope() as session:
            from hrsync.store.models import WebhookHint

            session.query(WebhookHint).filter(WebhookHint.subject == f"person:{keeper['id']}").delete()
        drain(world)
        members = world.members()
        assert members[person["id"]].status == "leaver"
        assert members[keeper["id"]].status == "invited"
    finally:
        with session_scope() as session:
            session.get(Integration, world.integration_id).vanished_are_leavers = False  # type: ignore[union-attr]


def test_pausing_removes_the_subscriptions_and_the_old_url_is_404(world: HookWorld) -> None:
    from hrsync.services.integrations import pause, resume

    old = world.hook_url()
    with session_scope() as session:
        pause(session, session.get(Integration, world.integration_id), session.get(AdminUser, world.admin_id))  # type: ignore[arg-type]
    assert world.sim.webhooks.subscriptions() == []
    assert httpx.post(old, json={"id": "x", "event": "person.created"}).status_code == 404
    with session_scope() as session:
        assert session.query(WebhookSubscription).one().state == "removed"
        resume(session, session.get(Integration, world.integration_id), session.get(AdminUser, world.admin_id))  # type: ignore[arg-type]
    new = world.hook_url()
    assert new != old and len(world.sim.webhooks.subscriptions()) == len(EVENTS)


def test_a_delivery_for_nobody_holds_nothing_and_emails_nobody(world: HookWorld) -> None:
    """Issue 22: a one-person run for somebody the HR system does not know is judged by that person's
    change alone (none), never as "the HR system returned nobody" for the whole programme."""
    before = {k: (m.status, m.updated_at) for k, m in world.members().items()}
    assert before
    with session_scope() as session:
        mails = session.query(OutboxEmail).count()
    nobody = {"id": "0badc0de-0000-4000-8000-000000000000", "event": "person.updated",
              "timestamp": "2026-01-01T00:00:00+00:00"}
    assert httpx.post(world.hook_url(), json=nobody).status_code == 202
    report = drain(world)
    assert len(report["applied"]) == 1, report  # type: ignore[arg-type]
    run = world.runs("webhook")[-1]
    assert run.status == "succeeded", run.reason
    assert (run.created, run.updated, run.leavers, run.warnings) == (0, 0, 0, 0)
    assert {k: (m.status, m.updated_at) for k, m in world.members().items()} == before
    assert not [r for r in world.runs() if r.status == "held"]
    with session_scope() as session:
        assert session.query(OutboxEmail).count() == mails
