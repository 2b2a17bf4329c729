"""The manual door over real HTTP (issue 23, item 2): ``POST /api/v1/members`` and its changes need the
``members`` scope; the portal's form adds, edits, marks ineligible and eligible again; read-only
administrators cannot; an import never touches a manual member and reports its ID as owned elsewhere.
Ownership shows on the member's page."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select
from tests.web.conftest_b import PASSWORD, World, csrf_of, import_now, members_of, post_form, sign_in, world

from hrsync.security.passwords import hash_password
from hrsync.store import session_factory, session_scope
from hrsync.store.models import ActivityLog, AdminUser, ImportIssue, MemberEvent, OutboxEmail

__all__ = ["world"]

TOKENS = "/settings/api-tokens"
SHOWN = re.compile(r"data-new-token>(hrs_[A-Za-z0-9_\-]+)<")


def _admin(world: World, role: str = "administrator") -> httpx.Client:
    email = f"admin-{uuid.uuid4().hex[:8]}@acme.example"
    with session_scope() as session:
        session.add(AdminUser(programme_id=world.acme.programme_id, email=email, password_hash=hash_password(PASSWORD),
                              role=role))
    return sign_in(world.client(), email, PASSWORD)


def _token(client: httpx.Client, scopes: list[str]) -> str:
    page = client.get(TOKENS)
    answer = client.post(TOKENS, data={"name": f"t-{uuid.uuid4().hex[:6]}", "scopes": scopes,
                                       "expires_in_days": "30", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303, answer.text[:800]  # Post/Redirect/Get: the next page shows it once
    match = SHOWN.search(client.get(TOKENS).text)
    assert match
    return match.group(1)


def _imported(world: World) -> tuple[str, str]:
    member = next(m for m in members_of(world.acme.programme_id) if m.door == "integration" and m.email)
    assert member.employee_id and member.email
    return member.employee_id, member.email


def test_the_api_adds_and_changes_manual_members_with_the_members_scope(world: World) -> None:
    admin = _admin(world)
    api = world.client(headers={"Authorization": f"Bearer {_token(admin, ['read', 'members'])}"})
    reader = world.client(headers={"Authorization": f"Bearer {_token(admin, ['read', 'import'])}"})
    body = {"employee_id": "API-1", "email": "api.one@acme.example", "first_name": "Ada"}

    refused = reader.post("/api/v1/members", json=body)
    assert refused.status_code == 403 and "'members' scope" in refused.json()["detail"]

    created = api.post("/api/v1/members", json=body)
    assert created.status_code == 201, created.text
    member = created.json()
    assert (member["door"], member["integration_id"], member["status"]) == ("manual", None, "invited")
    with session_factory()() as session:
        invitations = session.scalars(select(OutboxEmail).where(OutboxEmail.member_id == member["id"],
                                                                OutboxEmail.kind == "invitation")).all()
        logged = session.scalars(select(ActivityLog.action).where(ActivityLog.programme_id == world.acme.programme_id,
                                                                  ActivityLog.action == "member_added")).all()
    assert len(invitations) == 1 and invitations[0].to_address == "api.one@acme.example" and logged

    employee_id, email = _imported(world)
    clash = api.post("/api/v1/members", json={**body, "employee_id": employee_id, "email": "x@acme.example"})
    assert clash.status_code == 409 and clash.json()["code"] == "owned_elsewhere"
    assert "intelliHR integration #" in clash.json()["detail"]
    assert api.post("/api/v1/members", json={**body, "employee_id": "API-2", "email": email.upper()}
                    ).json()["code"] == "owned_elsewhere"
    bad = api.post("/api/v1/members", json={**body, "employee_id": "API-3", "email": "not an address"})
    assert (bad.status_code, bad.json()["code"]) == (409, "invalid_email") and "Email" in bad.json()["detail"]

    edited = api.patch(f"/api/v1/members/{member['id']}", json={"last_name": "Lovelace"})
    assert edited.status_code == 200 and edited.json()["last_name"] == "Lovelace"
    imported_id = next(m.id for m in members_of(world.acme.programme_id) if m.employee_id == employee_id)
    foreign = api.patch(f"/api/v1/members/{imported_id}", json={"first_name": "Mallory"})
    assert foreign.status_code == 409 and foreign.json()["code"] == "owned_elsewhere"
    assert api.patch("/api/v1/members/999999", json={"first_name": "X"}).status_code == 404

    gone = api.post(f"/api/v1/members/{member['id']}/ineligible")
    assert gone.status_code == 200 and gone.json()["status"] == "leaver" and gone.json()["access_until"]
    again = api.post(f"/api/v1/members/{member['id']}/ineligible")
    assert again.status_code == 409 and again.json()["code"] == "not_eligible"
    back = api.post(f"/api/v1/members/{member['id']}/eligible")
    assert back.status_code == 200 and (back.json()["status"], back.json()["access_until"]) == ("active", None)
    with session_factory()() as session:
        kinds = session.scalars(select(MemberEvent.kind).where(MemberEvent.member_id == member["id"])
                                .order_by(MemberEvent.id)).all()
    assert kinds == ["added_by_hand", "edited_by_hand", "made_ineligible", "made_eligible"]

    read_only = _admin(world, role="read_only")
    weak = world.client(headers={"Authorization": f"Bearer {_token(read_only, ['read'])}"})
    assert weak.post("/api/v1/members", json={**body, "employee_id": "API-4", "email": "four@acme.example"}
                     ).status_code == 403


def test_the_portal_form_adds_edits_and_marks_a_member_and_imports_leave_it_alone(world: World) -> None:
    admin = _admin(world)
    listing = admin.get("/members").text
    assert 'href="/members/new"' in listing
    employee_id, _email = _imported(world)
    taken = post_form(admin, "/members/new", "/members/new",
                      {"employee_id": employee_id, "email": "form.taken@acme.example", "invite": "1"})
    assert taken.status_code == 400 and "already belongs to a member owned by the intelliHR integration" in taken.text

    added = post_form(admin, "/members/new", "/members/new",
                      {"employee_id": "FORM-1", "email": "form.one@acme.example", "first_name": "Fay", "invite": "1"})
    assert added.status_code == 303, added.text[:800]
    page_path = added.headers["location"]
    page = admin.get(page_path).text
    assert "Added by hand" in page and "The administrators (added by hand)" in page
    assert "data-mark-ineligible" in page and "data-edit-member" in page
    member_id = int(page_path.rsplit("/", 1)[1])

    edited = post_form(admin, f"{page_path}/edit", f"{page_path}/edit",
                       {"employee_id": "FORM-1", "email": "fay@acme.example", "first_name": "Fay", "last_name": "Ng"})
    assert edited.status_code == 303
    assert post_form(admin, page_path, f"{page_path}/ineligible").status_code == 303
    page = admin.get(page_path).text
    assert "Leaver since" in page and "data-mark-eligible" in page
    assert post_form(admin, page_path, f"{page_path}/eligible").status_code == 303
    page = admin.get(page_path).text
    assert "Eligible again" in page and "Marked ineligible" in page and "Edited by hand" in page

    read_only = _admin(world, role="read_only")
    assert 'href="/members/new"' not in read_only.get("/members").text
    assert "data-mark-ineligible" not in read_only.get(page_path).text
    assert post_form(read_only, "/members", "/members/new",
                     {"employee_id": "RO-1", "email": "ro@acme.example"}).status_code == 403
    imported_id = next(m.id for m in members_of(world.acme.programme_id) if m.employee_id == employee_id)
    imported_page = admin.get(f"/members/{imported_id}").text
    assert "intelliHR integration #" in imported_page and "data-edit-member" not in imported_page

    # The intelliHR directory hires someone with the manual member's employee ID: the import skips them.
    world.sim.directory.hire(first_name="Imposter", last_name="Hire", email="imposter@acme.example",
                             employee_number="FORM-1")
    run_id = import_now(world.acme.integration_id)
    with session_factory()() as session:
        issues = session.scalars(select(ImportIssue).where(ImportIssue.run_id == run_id)).all()
    assert [i.code for i in issues if i.employee_id == "FORM-1"] == ["owned_elsewhere"]
    assert [i for i in issues if i.code == "vanished" and i.employee_id in ("FORM-1", "API-1")] == []
    page = admin.get(page_path).text
    assert "Another integration&#39;s import met this member" in page or "Another integration's import met" in page
    mine = next(m for m in members_of(world.acme.programme_id) if m.id == member_id)
    assert (mine.email, mine.last_name, mine.door, mine.status) == ("fay@acme.example", "Ng", "manual", "active")


def test_invite_again_on_the_members_page_sends_a_new_invitation_once_the_first_is_out(world: World) -> None:
    """The ``links_revoked`` warning says "Use Invite again on the member's page": the button is there for
    an invited member who has not set a password, refused while an invitation still waits, logged in words."""
    from hrsync.domain.activity_words import sentence

    admin = _admin(world)
    member = next(m for m in members_of(world.acme.programme_id)
                  if m.door == "integration" and m.status == "invited" and m.email and not m.password_hash)
    page = f"/members/{member.id}"
    assert "data-invite-again" in admin.get(page).text
    with session_scope() as session:  # an earlier invitation is still waiting: a second would only duplicate it
        waiting = session.scalars(select(OutboxEmail).where(OutboxEmail.member_id == member.id,
                                                            OutboxEmail.kind == "invitation")).all()
        assert [row.status for row in waiting] == ["queued"]  # the import's invitation (nothing is sent here)
    refused = post_form(admin, page, f"/members/{member.id}/invite")
    assert refused.status_code == 303
    assert "already waiting to be sent" in admin.get(page).text

    with session_scope() as session:  # it went out (to the address that has since changed, say)
        for row in session.scalars(select(OutboxEmail).where(OutboxEmail.member_id == member.id)):
            row.status = "sent"
    sent = post_form(admin, page, f"/members/{member.id}/invite")
    assert sent.status_code == 303
    assert "A new invitation is on its way" in admin.get(page).text
    with session_scope() as session:
        queued = session.scalars(select(OutboxEmail).where(
            OutboxEmail.member_id == member.id, OutboxEmail.kind == "invitation", OutboxEmail.status == "queued")).all()
        logged = session.scalars(select(ActivityLog).where(ActivityLog.action == "reinvited_member",
                                                           ActivityLog.programme_id == world.acme.programme_id)).all()
        assert len(queued) == 1 and queued[0].to_address == member.email
        assert [sentence(row.action, row.detail) for row in logged] == [
            f"sent member {member.employee_id} a new invitation"]

    reader = _admin(world, "read_only")
    assert "data-invite-again" not in reader.get(page).text
    assert post_form(reader, page, f"/members/{member.id}/invite").status_code == 403
