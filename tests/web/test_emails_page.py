"""The E-mails page counts pre-hires as scheduled for later, and the demo's received list is paged:
its cost does not grow with the outbox (same SQL statements) nor with the mail folder (one page parsed)."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.statements import recorded_statements
from tests.web.conftest import API_KEY, TENANT, Portal

from hrsync.store import session_scope
from hrsync.store.models import AdminUser, Member, OutboxEmail


def _programme_with_prehires(portal: Portal, prehires: int) -> tuple[int, str, date]:
    from hrsync.services.integrations import create_integration, publish

    _, _, email = portal.new_admin()
    first = date.today() + timedelta(days=10)
    with session_scope() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email_lower == email))
        integration = create_integration(session, admin.programme, admin, subdomain=TENANT, api_key=API_KEY)
        publish(session, integration, admin)
        for n in range(prehires):
            session.add(Member(programme_id=admin.programme_id, integration_id=integration.id, employee_id=f"P{n}",
                               email=f"p{n}-{uuid.uuid4().hex[:6]}@example.com", first_name="Pre", last_name="Hire",
                               status="pending", start_date=first + timedelta(days=n)))
        # without an e-mail address nobody can be invited
        session.add(Member(programme_id=admin.programme_id, integration_id=integration.id, employee_id="NOMAIL",
                           first_name="No", last_name="Mail", status="pending", start_date=first))
        return admin.programme_id, email, first


def test_pending_prehires_are_counted_as_scheduled_for_later(portal: Portal) -> None:
    _, email, first = _programme_with_prehires(portal, 3)
    page = portal.sign_in(email).get("/emails").text
    later = re.search(r'data-testid="later">(\d+)<', page)
    assert later and int(later.group(1)) == 3, page[:3000]
    assert f"3 pre-hires invited on their start date, the first on {first:%d/%m/%Y}" in page


def test_the_page_runs_the_same_statements_however_long_the_outbox(portal: Portal) -> None:
    programme_id, email, _ = _programme_with_prehires(portal, 1)
    client = portal.sign_in(email)
    client.get("/emails")
    with recorded_statements() as few:
        assert client.get("/emails").status_code == 200
    with session_scope() as session:
        for n in range(60):
            session.add(OutboxEmail(programme_id=programme_id, kind="invitation", to_address=f"q{n}@example.com",
                                    subject="s", body_text="b", dedup_key=f"t:{programme_id}:{n}", status="queued"))
    with recorded_statements() as many:
        page = client.get("/emails")
    assert page.status_code == 200
    assert len(many) == len(few), (len(few), len(many))
    assert page.text.count("<tr><td><strong>Invitation</strong></td>") == 50  # the newest 50 waiting rows


def _write_mail(folder: Path, programme_id: int, n: int) -> None:
    msg = EmailMessage()
    msg["From"] = "rewards@example.com"
    msg["To"] = f"person{n}@example.com"
    msg["Subject"] = f"Message {programme_id}-{n:03d}"
    msg["X-Hrsync-Programme"] = str(programme_id)
    msg.set_content(f"Body {n}")
    (folder / f"20260101T0000{n:02d}000000-{programme_id:03d}{n:03d}.eml").write_bytes(bytes(msg))


def test_the_demos_received_mail_is_paged_and_only_this_programmes(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HRSYNC_DEMO", "1")
    mine, email, _ = _programme_with_prehires(portal, 0)
    other, _, _ = _programme_with_prehires(portal, 0)
    folder = portal.data_dir / "mail"
    folder.mkdir(exist_ok=True)
    for n in range(45):
        _write_mail(folder, mine, n)
    for n in range(30):
        _write_mail(folder, other, n)
    client = portal.sign_in(email)

    first = client.get("/emails").text
    assert first.count("<li data-caught>") == 20
    assert f"Message {mine}-044" in first and f"Message {mine}-025" in first and f"Message {mine}-024" not in first
    assert f"Message {other}-" not in first
    assert 'href="/emails?page=2"' in first
    last = client.get("/emails?page=3").text
    assert last.count("<li data-caught>") == 5 and f"Message {mine}-000" in last
    assert 'rel="next"' not in last and 'href="/emails?page=2"' in last
    assert "No older e-mail" in client.get("/emails?page=9").text
