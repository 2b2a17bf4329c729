"""Link e-mails are addressed when they are sent, not when they were queued (issue 9).

An invitation goes to the member's address of the moment it is sent (HR may have corrected a typo
in between) and only while the member still waits for it; a queued password reset whose address
is no longer the member's is cancelled. The end-to-end test drives the real ``hrsync`` CLI, the
intelliHR simulator and a real SMTP server, and follows the link on the real portal.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.sync.conftest import Install, database_url, install

from hrsync.lifecycle.passwords import request_password_reset, set_member_password
from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.notify.outbox import queue_invitation
from hrsync.store import session_scope
from hrsync.store.models import AuthToken, Member, OutboxEmail, Programme

from .helpers import MemberMaker, Seed, free_port, outbox_rows

__all__ = ["database_url", "install"]

CORRECTED = "corrected.address@acme.test"
WELCOME = re.compile(r"/welcome/([A-Za-z0-9_\-]{20,})")
RESET = re.compile(r"/reset-password/([A-Za-z0-9_\-]{20,})")
NEW_PASSWORD = "a long enough new password"


@contextmanager
def _portal() -> Iterator[httpx.Client]:
    """The real portal (uvicorn on a loopback port) of the installation, and a browser-like client."""
    import uvicorn

    from hrsync.web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _kind(message: Any) -> str:
    return str(message.message.get("X-Hrsync-Kind"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_invitation_goes_to_the_address_hr_corrected_after_it_was_queued(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))  # no SMTP yet: the invitations wait in the outbox
    invited = sorted((m for m in install.members().values() if m["status"] == "invited"),
                     key=lambda m: m["employee_id"])
    fixed, leaving = invited[0], invited[1]
    people = {p["employeeNumber"]: p["id"] for p in install.sim.directory.people()}
    # HR corrects one new hire's address and another one leaves, before the mail goes out.
    install.sim.directory.change(people[fixed["employee_id"]], primaryEmailAddress=CORRECTED)
    install.sim.directory.terminate(people[leaving["employee_id"]])
    install.cli_json("import", str(integration))
    members = install.members()
    assert members[fixed["employee_id"]]["email"] == CORRECTED
    assert members[leaving["employee_id"]]["status"] == "leaver"

    with MailCatcher("127.0.0.1", free_port()) as mail:
        install.env["HRSYNC_SMTP_URL"] = mail.url
        install.cli_json("outbox", "send")
        received = list(mail.messages)

    recipients = [r for m in received for r in m.recipients]
    assert fixed["email"] not in recipients and leaving["email"] not in recipients
    invitations = [m for m in received if _kind(m) == "invitation"]
    assert [m.recipients for m in invitations if CORRECTED in m.recipients] == [(CORRECTED,)]
    still_invited = {m["email"] for m in members.values() if m["status"] == "invited"}
    assert sorted(m.recipients[0] for m in invitations) == sorted(still_invited)
    with session_scope() as session:
        query = select(OutboxEmail).where(OutboxEmail.kind == "invitation")
        rows = {row.member_id: row for row in session.scalars(query)}
        assert rows[fixed["id"]].to_address == CORRECTED and rows[fixed["id"]].status == "sent"
        assert rows[leaving["id"]].status == "failed"
        assert rows[leaving["id"]].last_error == (
            "cancelled: the member is no longer waiting for an invitation (now leaver)"
        )

    # The link in the corrected invitation works on the real portal.
    [message] = [m for m in invitations if m.recipients == (CORRECTED,)]
    match = WELCOME.search(message.text())
    assert match, message.text()
    with _portal() as client:
        page = client.get(f"/welcome/{match.group(1)}")
        assert page.status_code == 200 and CORRECTED in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text) or re.search(
            r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf
        done = client.post(f"/welcome/{match.group(1)}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                                               "csrf_token": csrf.group(1)})
        assert done.status_code == 303 and done.headers["location"] == "/me"
    assert install.members()[fixed["employee_id"]]["status"] == "active"


def _invite(factory: sessionmaker[Session], member_id: int) -> None:
    with factory.begin() as s:
        member = s.get(Member, member_id)
        programme = s.get(Programme, member.programme_id) if member else None
        assert member is not None and programme is not None
        assert queue_invitation(s, member, programme) is not None


def _reset_token(factory: sessionmaker[Session], email: str) -> str:
    with factory.begin() as s:
        request_password_reset(s, email)
    [row] = [r for r in outbox_rows(factory, kind="password_reset") if r.to_address == email and r.status == "queued"]
    match = RESET.search(row.body_text)
    assert match
    return match.group(1)


def test_a_member_who_set_a_password_before_the_invitation_went_out_gets_none(
    factory: sessionmaker[Session], seed: Seed, make_member: MemberMaker, mail: MailCatcher
) -> None:
    member_id = make_member(email="early@acme.example")
    _invite(factory, member_id)
    token = _reset_token(factory, "early@acme.example")  # "forgot password" before the invitation came
    with factory.begin() as s:
        assert set_member_password(s, token, NEW_PASSWORD) is not None

    report = send_due(factory, smtp_url=mail.url)

    assert report.sent == 0 and mail.messages == []
    [invitation] = outbox_rows(factory, kind="invitation")
    assert invitation.status == "failed" and (invitation.last_error or "").startswith("cancelled:")
    with factory() as s:  # and no invitation link was made
        assert s.scalars(select(AuthToken).where(AuthToken.purpose == "invitation")).all() == []


def test_a_password_reset_is_not_sent_to_an_address_the_member_no_longer_has(
    factory: sessionmaker[Session], seed: Seed, make_member: MemberMaker, mail: MailCatcher
) -> None:
    moved = make_member(email="old@acme.example", status="active")
    make_member(email="stays@acme.example", status="active")
    _reset_token(factory, "old@acme.example")
    _reset_token(factory, "stays@acme.example")
    with factory.begin() as s:  # what an import does when HR changes the address
        member = s.get(Member, moved)
        assert member is not None
        member.email = "new@acme.example"

    report = send_due(factory, smtp_url=mail.url)

    assert report.sent == 1 and report.cancelled == 1
    assert [m.recipients for m in mail.wait_for(1)] == [("stays@acme.example",)]
    rows = {r.to_address: r for r in outbox_rows(factory, kind="password_reset")}
    assert rows["old@acme.example"].status == "failed"
    assert rows["old@acme.example"].last_error == (
        "cancelled: the member's e-mail address changed after the reset was requested"
    )
