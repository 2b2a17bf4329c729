"""The at-most-daily summary e-mail of a SCIM integration's changes (docs/scim.md, "Summary e-mail").

An identity provider's real requests against a live ``hrsync serve``, then the scheduler's own pass
(:class:`hrsync.jobs.loop.PeriodicLoop`, as embedded mode and ``hrsync scheduler`` run it) over a
real SMTP server: two passes within 24 hours send one e-mail, with the counts of what happened; a
pass a day later, with nothing new, sends none; two schedulers passing at the same moment send one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.scim.conftest import ENTERPRISE, PATCH_OP, USER, Scim
from tests.sync.conftest import mail  # noqa: F401 - a real SMTP server

from hrsync.config import reset_settings_cache
from hrsync.jobs.loop import PeriodicLoop
from hrsync.notify.catcher import MailCatcher
from hrsync.store import session_factory
from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun, Integration, RunStatus, RunTrigger
from hrsync.sync.runs import next_run_number


def _user(n: int) -> dict[str, Any]:
    return {"schemas": [USER, ENTERPRISE], "userName": f"p{n}@acme.test",
            "name": {"givenName": "Pat", "familyName": f"Lee{'x' * n}"},
            "emails": [{"value": f"p{n}@acme.test", "type": "work"}], ENTERPRISE: {"employeeNumber": f"E{n}"}}


def _active(value: bool) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": value}]}


def _summaries(mail: MailCatcher) -> list[Any]:  # noqa: F811
    return [m for m in mail.messages if m.message.get("X-Hrsync-Kind") == "scim_summary"]


def test_one_summary_a_day_with_the_counts_and_none_when_nothing_happened(
        scim: Scim, mail: MailCatcher, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    began = datetime.now(UTC)
    with scim.client() as client:
        ids = []
        for n in range(1, 7):
            created = client.post("/Users", json=_user(n))
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        assert client.post("/Users", json={**_user(9), "emails": [{"value": "p1@acme.test", "type": "work"}]}
                           ).status_code == 409  # refused: the address is taken
        answers = [client.patch(f"/Users/{i}", json=_active(False)).status_code for i in ids[:5]]
        assert answers == [200, 200, 200, 200, 202]  # the fifth passes the leaver safeguard: held
        assert client.patch(f"/Users/{ids[0]}", json=_active(True)).status_code == 200  # reinstated
        title = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Chef"}]}
        assert client.patch(f"/Users/{ids[5]}", json=title).status_code == 200  # updated

    monkeypatch.setenv("HRSYNC_SMTP_URL", mail.url)
    reset_settings_cache()
    loops = [PeriodicLoop(session_factory(), lambda run_id: True, closedown=False, webhook_hints=False)
             for _ in range(2)]  # two schedulers (two serve processes, or serve and `hrsync scheduler`)
    # a pass while the hour of these changes is still going: nothing to say yet (its quiet answer is
    # remembered for this hour only, and must not hide the changes once the hour is over)
    early = loops[0].run_once(began)  # every change came after this moment, so none is in an hour before it
    assert early.steps["push_summaries"] == {"sent": 0, "nothing_to_say": 1}, early.steps
    hour_later = datetime.now(UTC) + timedelta(hours=1)  # the hour of these changes is over
    with ThreadPoolExecutor(2) as pool:  # their passes at the same moment
        first = list(pool.map(lambda loop: loop.run_once(hour_later), loops))
    assert sorted(r.steps["push_summaries"]["sent"] for r in first) == [0, 1]
    # the next hour's changes (the clock of this test runs ahead of the server's, so they are written
    # as the door's hourly history entry of that hour): within 24 hours of the summary, not sent yet
    with session_scope() as session:
        programme_id = session.get_one(Integration, scim.integration_id).programme_id
        session.add(ImportRun(integration_id=scim.integration_id, programme_id=programme_id,
                              trigger=RunTrigger.SCIM.value, status=RunStatus.SUCCEEDED.value, phase="done",
                              created_at=hour_later + timedelta(minutes=5), created=2, processed=2, total=2,
                              number=next_run_number(session, scim.integration_id)))
    second = loops[0].run_once(hour_later + timedelta(hours=2))
    assert [r.errors for r in (*first, second)] == [{}, {}, {}]
    assert second.steps["push_summaries"]["sent"] == 0
    sent = _summaries(mail)
    assert len(sent) == 1 and sent[0].recipients == ("owner@acme.test",)  # who set the integration up
    text = sent[0].text()
    for label, count in (("Created", 6), ("Updated", 1), ("Deactivated (leavers)", 4), ("Reinstated", 1),
                         ("Refused requests", 1), ("Deactivations held for approval", 1)):
        assert f"{label + ':':<34}{count}" in text, (label, text)
    assert "Acme: SCIM changes since" in sent[0].subject and "held for approval" in sent[0].subject
    with session_scope() as session:
        integration = session.get_one(Integration, scim.integration_id)
        assert integration.summary_sent_at is not None and integration.summary_until is not None

    # a day later, a restarted scheduler sends the next hour's changes, once
    again = PeriodicLoop(session_factory(), lambda run_id: True, closedown=False, webhook_hints=False)
    later = again.run_once(hour_later + timedelta(hours=25))
    assert later.errors == {} and later.steps["push_summaries"]["sent"] == 1
    assert len(_summaries(mail)) == 2
    assert f"{'Created:':<34}2" in _summaries(mail)[1].text() and f"{'Updated:':<34}0" in _summaries(mail)[1].text()
    # and when nothing happened since: none
    last = again.run_once(hour_later + timedelta(hours=50))
    assert last.errors == {} and last.steps["push_summaries"] == {"sent": 0, "nothing_to_say": 1}
    assert len(_summaries(mail)) == 2
