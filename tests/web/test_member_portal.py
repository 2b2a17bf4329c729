"""The member-facing pages: the invitation link sets a password and signs the member in, sign in
and out, forgotten password, and a leaver's access limited to their own account pages."""

from __future__ import annotations

import re

from sqlalchemy import select
from tests.web.conftest import _free_port
from tests.web.conftest_b import World, csrf_of, import_now, world

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.store import session_factory
from hrsync.store.models import Member, OutboxEmail

__all__ = ["world"]

NEW_PASSWORD = "plenty of words make it strong"
WELCOME_LINK = re.compile(r"/welcome/([A-Za-z0-9_\-]{20,})")


_RECEIVED: dict[tuple[str, str], str] = {}  # (programme id, recipient) -> token from the e-mail


def _invitation(programme_id: int, skip: int = 0) -> tuple[Member, str]:
    """An invited member and the token of the invitation e-mail they received (over real SMTP:
    the link is made when the e-mail is sent, so it is never in the database)."""
    with session_factory()() as session:
        member = session.scalars(
            select(Member)
            .join(OutboxEmail, OutboxEmail.member_id == Member.id)
            .where(Member.programme_id == programme_id, OutboxEmail.kind == "invitation",
                   Member.status == "invited")
            .order_by(Member.id).offset(skip).limit(1)
        ).one()
    key = (str(programme_id), str(member.email))
    if key not in _RECEIVED:
        with MailCatcher("127.0.0.1", _free_port()) as mail:
            send_due(session_factory(), smtp_url=mail.url, limit=100_000)
            for message in mail.messages:
                match = WELCOME_LINK.search(message.text())
                if message.message.get("X-Hrsync-Kind") == "invitation" and match:
                    _RECEIVED[(str(message.message.get("X-Hrsync-Programme")), message.recipients[0])] = match.group(1)
    return member, _RECEIVED[key]


def _set_password(world: World, token: str, password: str = NEW_PASSWORD) -> tuple[object, object]:
    client = world.client()
    page = client.get(f"/welcome/{token}")
    assert page.status_code == 200, page.text[:500]
    answer = client.post(f"/welcome/{token}", data={"password": password, "confirm": password,
                                                    "csrf_token": csrf_of(page.text)})
    return client, answer


def test_the_invitation_link_sets_a_password_signs_in_and_works_once(world: World) -> None:
    member, token = _invitation(world.acme.programme_id)
    client = world.client()
    page = client.get(f"/welcome/{token}")
    assert page.status_code == 200 and member.email in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    short = client.post(f"/welcome/{token}", data={"password": "short", "confirm": "short",
                                                   "csrf_token": csrf_of(page.text)})
    assert short.status_code == 400 and "at least 10 characters" in short.text  # the link still works
    done = client.post(f"/welcome/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                                  "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/me"
    assert "hrsync_member=" in done.headers["set-cookie"] and "HttpOnly" in done.headers["set-cookie"]
    home = client.get("/me")
    assert home.status_code == 200 and f"Hello, {member.first_name}" in home.text and member.email in home.text
    with session_factory()() as session:
        assert session.get(Member, member.id).status == "active"  # type: ignore[union-attr]
    reused = world.client().get(f"/welcome/{token}")
    assert reused.status_code == 404 and "no longer valid" in reused.text


def test_query_string_form_of_the_link_also_works(world: World) -> None:
    member, token = _invitation(world.acme.programme_id, skip=1)
    client = world.client()
    page = client.get("/member/set-password", params={"token": token})
    assert page.status_code == 200 and member.email in page.text
    done = client.post("/member/set-password", data={"token": token, "password": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD, "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303 and client.get("/me").status_code == 200


def test_sign_in_and_out_and_member_sessions_are_not_admin_sessions(world: World) -> None:
    member, token = _invitation(world.acme.programme_id, skip=2)
    _set_password(world, token)
    client = world.client()
    page = client.get("/member/login")
    wrong = client.post("/member/login", data={"email": member.email, "password": "not the password at all",
                                               "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 400 and "not right" in wrong.text
    assert client.get("/me").status_code == 303
    ok = client.post("/member/login", data={"email": member.email.upper(), "password": NEW_PASSWORD,
                                            "csrf_token": csrf_of(page.text)})
    assert ok.status_code == 303 and ok.headers["location"] == "/me"
    assert client.get("/me").status_code == 200
    # A member is no administrator, and an administrator is no member.
    assert client.get("/members").status_code == 303
    assert client.get("/settings/api-tokens").status_code == 303
    admin = world.admin_client(world.acme)
    assert admin.get("/me").status_code == 303
    out = client.post("/member/logout", data={"csrf_token": csrf_of(client.get("/me").text)})
    assert out.status_code == 303 and client.get("/me").status_code == 303


def test_forgot_password_answers_the_same_either_way(world: World) -> None:
    member, _ = _invitation(world.acme.programme_id, skip=3)
    client = world.client()
    answers = []
    for email in (member.email, "nobody-at-all@nowhere.example"):
        page = client.get("/member/forgot-password")
        answer = client.post("/member/forgot-password", data={"email": email, "csrf_token": csrf_of(page.text)})
        assert answer.status_code == 200
        answers.append(answer.text.replace(email, ""))
    assert answers[0] == answers[1]
    with session_factory()() as session:
        resets = session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "password_reset")).all()
    assert [r.to_address for r in resets] == [member.email]
    link = re.search(r"/reset-password/([A-Za-z0-9_\-]{20,})", resets[0].body_text)
    assert link
    page = client.get(f"/reset-password/{link.group(1)}")
    assert page.status_code == 200 and "Choose a new password" in page.text


def test_a_leaver_keeps_only_their_own_account_pages(world: World) -> None:
    member, token = _invitation(world.acme.programme_id, skip=4)
    client, answer = _set_password(world, token)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert client.get("/me/offers").status_code == 200  # type: ignore[attr-defined]
    person = next(p for p in world.sim.directory.people() if p["employeeNumber"] == member.employee_id)
    world.sim.directory.terminate(person["id"])
    import_now(world.acme.integration_id)
    with session_factory()() as session:
        left = session.get(Member, member.id)
        assert left is not None and left.status == "leaver" and left.access_until is not None
    home = client.get("/me")  # type: ignore[attr-defined]
    assert home.status_code == 200 and "Your account is closing" in home.text
    for page in ("history", "balance", "vouchers", "security", "help"):
        assert client.get(f"/me/{page}").status_code == 200, page  # type: ignore[attr-defined]
    offers = client.get("/me/offers")  # type: ignore[attr-defined]
    assert offers.status_code == 403 and "no longer available" in offers.text
    assert 'href="/me/offers"' not in home.text
    # Once the window is over they are signed out and cannot sign in again.
    from datetime import date, timedelta

    from sqlalchemy import update

    from hrsync.store import session_scope

    with session_scope() as session:
        session.execute(update(Member).where(Member.id == member.id)
                        .values(access_until=date.today() - timedelta(days=1)))
    assert client.get("/me").status_code == 303  # type: ignore[attr-defined]
    login = world.client()
    page = login.get("/member/login")
    closed = login.post("/member/login", data={"email": member.email, "password": NEW_PASSWORD,
                                               "csrf_token": csrf_of(page.text)})
    assert closed.status_code == 403 and "closed" in closed.text


def test_the_current_password_check_is_throttled_like_sign_in(world: World) -> None:
    """A stolen member session cannot guess the current password: five wrong ones lock the change
    (and signing in) for 15 minutes, and then even the right one is refused."""
    member, token = _invitation(world.acme.programme_id, skip=6)
    client, _ = _set_password(world, token)
    answers = []
    try:
        for attempt in range(12):
            page = client.get("/me/security")
            answers.append(client.post("/me/security", data={
                "current": f"a wrong guess number {attempt}", "password": "another long password here",
                "confirm": "another long password here", "csrf_token": csrf_of(page.text)}).status_code)
        assert answers[:4] == [400] * 4 and set(answers[5:]) == {429}, answers
        page = client.get("/me/security")
        right = client.post("/me/security", data={
            "current": NEW_PASSWORD, "password": "another long password here",
            "confirm": "another long password here", "csrf_token": csrf_of(page.text)})
        assert right.status_code == 429 and "paused for 15 minutes" in right.text
        sign_in = world.client()
        form = sign_in.get("/member/login")
        refused = sign_in.post("/member/login", data={"email": member.email, "password": NEW_PASSWORD,
                                                      "csrf_token": csrf_of(form.text)})
        assert refused.status_code == 429
    finally:
        world.portal.reset_throttle()
    page = client.get("/me/security")
    changed = client.post("/me/security", data={
        "current": NEW_PASSWORD, "password": "another long password here",
        "confirm": "another long password here", "csrf_token": csrf_of(page.text)})
    assert changed.status_code == 303
