"""The E-mails page: what waits in this programme's outbox, and (demo) what the catcher received —
never another programme's."""

from __future__ import annotations

import re

import pytest
from tests.web.conftest import _free_port
from tests.web.conftest_b import World, world

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import outbox_backlog, send_due
from hrsync.store import session_factory

__all__ = ["world"]


def _emails(world: World, tenant) -> str:  # type: ignore[no-untyped-def]
    response = world.admin_client(tenant).get("/emails")
    assert response.status_code == 200
    return response.text


def _due_in_db(programme_id: int) -> int:
    with session_factory()() as session:
        return int(outbox_backlog(session, programme_id=programme_id)["due_now"])


def _due_on_page(page: str) -> int:
    match = re.search(r'data-testid="due-now">(\d+)<', page)
    assert match, page[:2000]
    return int(match.group(1))


def test_queued_invitations_show_for_their_programme_only(world: World) -> None:
    acme_page, globex_page = _emails(world, world.acme), _emails(world, world.globex)
    # both imports invited their new members; no SMTP here, so the invitations wait
    assert "No mail server is configured" in acme_page
    row = "<tr><td><strong>Invitation</strong></td>"
    assert row in acme_page and row in globex_page
    acme_due, globex_due = _due_in_db(world.acme.programme_id), _due_in_db(world.globex.programme_id)
    assert acme_due != globex_due  # Globex also has its held-run notice queued
    assert (_due_on_page(acme_page), _due_on_page(globex_page)) == (acme_due, globex_due)


def test_demo_lists_received_mail_of_its_own_programme(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRSYNC_DEMO", "1")
    catcher = MailCatcher("127.0.0.1", _free_port(), folder=world.portal.data_dir / "mail").start()
    try:
        report = send_due(session_factory(), smtp_url=catcher.url, limit=10_000)
        assert report.sent > 0
    finally:
        catcher.stop()
    acme_page, globex_page = _emails(world, world.acme), _emails(world, world.globex)
    assert "Received by the demo mail catcher" in acme_page
    assert "You&#39;re invited to Acme Perks" in acme_page or "You're invited to Acme Perks" in acme_page
    assert "Acme Perks" not in globex_page.split("Received by the demo mail catcher")[1]
    assert "Globex Rewards" not in acme_page.split("Received by the demo mail catcher")[1]
