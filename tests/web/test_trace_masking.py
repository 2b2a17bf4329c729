"""Issue 22, item 2: a trace shows no more than the member page would.

Recognisable secrets are planted in the simulator's directory (a custom field intelliHR marks
``isSensitive`` and maps, a custom field nobody maps, phone, date of birth, street address) for a
member, a new hire who is not a member yet and a past employee who never was one. Every trace and
search route is then read as a user reads it: the portal's trace page and its *Find a person*
results (owner and read-only administrator), the JSON API with a read-scope token, and ``hrsync
trace`` as text, as ``--json`` and with ``--apply``. No secret appears in any of them; the stages say
present / blank / invalid instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.sync.conftest import HRSYNC
from tests.web.conftest import browser
from tests.web.conftest_b import PASSWORD, Tenant, import_now, make_tenant, sign_in

from hrsync.security.passwords import hash_password
from hrsync.services.api_tokens import create_api_token
from hrsync.services.integrations import update_mapping
from hrsync.store.db import session_factory, session_scope
from hrsync.store.models import AdminUser, Integration, Member

__all__ = ["browser"]

pytestmark = pytest.mark.slow

MAPPING = {
    "employee_id": "employeeNumber", "email": "primaryEmailAddress", "first_name": "firstName",
    "last_name": "lastName", "phone": "primaryPhoneNumber", "date_of_birth": "dateOfBirth",
    "address": "address.street",
    "custom.badge": "custom.badgeNumber",  # intelliHR marks Badge number sensitive (isSensitive)
    "custom.tshirt": "custom.tshirtSize",  # neither sensitive nor personal: the member page shows it
}


@dataclass
class Planted:
    role: str  # member | new hire | never a member
    employee_id: str
    last_name: str
    email: str
    secrets: tuple[str, ...]


@dataclass
class Scene:
    portal: Any
    tenant: Tenant
    viewer: str  # a read-only administrator's e-mail
    read_token: str
    people: list[Planted]

    @property
    def secrets(self) -> list[str]:
        return [s for p in self.people for s in p.secrets]


def _plant(sim: Any, person: dict[str, Any], role: str, n: int) -> Planted:
    badge, cost, phone = f"9182736{n}5", f"CC-UNMAPPED-{n}Q7X", f"0491 57{n} 159"
    typed = phone + (" <ext 9>" if n == 3 else "")  # not a valid phone: its warning would quote it
    born = f"19{60 + n}-07-2{n}"
    person = sim.directory.change(person["id"], primaryPhoneNumber=typed, dateOfBirth=born,
                                  customFields={"badgeNumber": int(badge), "costCentre": cost, "tshirtSize": "XXL"})
    day = born[8:]
    secrets = [badge, cost, phone, phone.replace(" ", ""), born, f"{day}/07/{born[:4]}", f"07/{day}/{born[:4]}"]
    street = ((person.get("addresses") or [{}])[0] or {}).get("street")
    if street:
        secrets.append(street)
    return Planted(role, person["employeeNumber"], person["lastName"], person["primaryEmailAddress"]["email"]
                   if isinstance(person.get("primaryEmailAddress"), dict) else person["primaryEmailAddress"],
                   tuple(secrets))


@pytest.fixture(scope="module")
def scene(portal: Any) -> Iterator[Scene]:
    tenant = make_tenant("Masked Perks", f"owner-{uuid.uuid4().hex[:6]}@masked.example", 100.0)
    viewer = f"viewer-{uuid.uuid4().hex[:6]}@masked.example"
    with session_scope() as session:
        integration = session.get(Integration, tenant.integration_id)
        owner = session.get(AdminUser, tenant.admin_id)
        assert integration is not None and owner is not None
        update_mapping(session, integration, owner, MAPPING)
        session.add(AdminUser(programme_id=tenant.programme_id, email=viewer, role="read_only",
                              password_hash=hash_password(PASSWORD)))
        read_token, _ = create_api_token(session, tenant.programme_id, "read only", created_by=owner,
                                         scopes=("read",))
    sim = portal.sim
    people = sim.directory.people()
    with_address = [p for p in people if p.get("addresses") and p.get("employeeNumber")]
    past = next(p for p in with_address if p["employmentStatus"] == "Past Staff")
    current = next(p for p in with_address if p["employmentStatus"] == "Current Staff")
    import_now(tenant.integration_id)
    with session_factory()() as session:
        members = {m.employee_id for m in session.scalars(select(Member).where(
            Member.programme_id == tenant.programme_id))}
    assert current["employeeNumber"] in members and past["employeeNumber"] not in members
    hired = sim.directory.hire(first_name="Nadia", last_name="Newhire", email="nadia.newhire@masked.example",
                               employee_number=f"NEW-{uuid.uuid4().hex[:5]}")
    sim.directory.change(current["id"], lastName="Masklow")  # the member has a change to explain
    planted = [_plant(sim, current, "member", 1), _plant(sim, hired, "new hire", 2),
               _plant(sim, past, "never a member", 3)]
    yield Scene(portal, tenant, viewer, read_token, planted)


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def _cli(scene: Scene, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}  # the portal fixture's HRSYNC_* settings: the same database and simulator
    return subprocess.run([HRSYNC, *args], env=env, capture_output=True, text=True, timeout=600)


def _stage_rows(body: dict[str, Any], key: str) -> dict[str, dict[str, str]]:
    stage = next(s for s in body["stages"] if s["key"] == key)
    return {r["label"]: r for r in stage["rows"]}


def test_no_trace_or_search_route_shows_a_planted_secret(scene: Scene) -> None:
    integration = scene.tenant.integration_id
    owner = sign_in(scene.portal.client(), scene.tenant.admin_email, PASSWORD)
    viewer = sign_in(scene.portal.client(), scene.viewer, PASSWORD)
    api = httpx.Client(base_url=scene.portal.base_url, timeout=120.0,
                       headers={"Authorization": f"Bearer {scene.read_token}"})
    scene.portal.clients.append(api)
    secrets = scene.secrets
    checked = 0
    for person in scene.people:
        emp = person.employee_id
        for who, client in (("owner", owner), ("read-only", viewer)):
            page = client.get(f"/integrations/{integration}/trace", params={"employee_id": emp})
            assert page.status_code == 200 and "data-trace" in page.text, (who, page.text[:300])
            assert _leaks(page.text, secrets) == [], f"{person.role}'s trace page ({who})"
            for q in (emp, person.last_name, person.email):  # the Find a person search
                found = client.get(f"/integrations/{integration}/trace", params={"q": q})
                assert found.status_code == 200 and "data-trace-results" in found.text
                assert emp in found.text, (who, q)
                assert _leaks(found.text, secrets) == [], f"search {q!r} ({who})"
            dashboard = client.get(f"/integrations/{integration}")
            assert _leaks(dashboard.text, secrets) == []
            checked += 5
        answer = api.get(f"/api/v1/integrations/{integration}/trace", params={"employee_id": emp})
        assert answer.status_code == 200, answer.text
        assert _leaks(answer.text, secrets) == [], f"{person.role}'s trace in the API"
        body = answer.json()
        mapped = _stage_rows(body, "mapped")
        if person.role == "never a member":  # the invalid phone: a warning that does not quote it
            assert _stage_rows(body, "validation")["Phone"]["status"] == "warning"
            assert mapped["Phone"]["value"] == "(left out)"
        else:
            assert mapped["Phone"]["value"] == "(present)" and mapped["Phone"]["status"] == "masked"
        assert mapped["Date of birth"]["value"] == "(present)"
        assert mapped["Badge"]["value"] == "(present)" and "sensitive" in mapped["Badge"]["note"]
        record = _stage_rows(body, "record")
        assert record["Cost centre"]["value"] == "(present)" and record["Cost centre"]["note"] == "not mapped"
        assert record["Primary phone number"]["value"] == "(present)"
        assert record["Employee number"]["value"] == emp  # the key explains every outcome
        # the member page shows a member's plain mapped values; nobody's page shows a stranger's
        assert mapped["Tshirt"]["value"] == ("XXL" if person.role == "member" else "(present)")
        text = _cli(scene, "trace", str(integration), emp)
        as_json = _cli(scene, "trace", str(integration), emp, "--json")
        assert text.returncode == 0 and as_json.returncode == 0, (text.stderr, as_json.stderr)
        for out in (text, as_json):
            assert _leaks(out.stdout + out.stderr, secrets) == [], f"{person.role}: hrsync trace {out.args}"
        assert json.loads(as_json.stdout)["outcome"] == body["outcome"]
        checked += 3
    outcomes = {p.role: api.get(f"/api/v1/integrations/{integration}/trace",
                                params={"employee_id": p.employee_id}).json()["outcome"] for p in scene.people}
    assert outcomes == {"member": "update", "new hire": "create", "never a member": "ignored"}
    # the member's change (last name and the planted values) is applied from the command line
    member = scene.people[0]
    applied = _cli(scene, "trace", str(integration), member.employee_id, "--apply", "--json")
    assert applied.returncode == 0, applied.stderr
    assert _leaks(applied.stdout + applied.stderr, secrets) == []
    changes = json.loads(applied.stdout)["trace"]["changes"]
    assert changes["last_name"][1] == "Masklow" and changes["phone"][1] == "(present)"
    assert checked == 3 * (2 * 5 + 3)


@pytest.mark.browser
def test_the_trace_page_shows_masked_values_at_a_laptop_and_a_phone_size(scene: Scene, browser: Any,
                                                                         artifacts_dir: Path) -> None:
    member = scene.people[0]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{scene.portal.base_url}/login?next=/integrations/{scene.tenant.integration_id}")
    page.get_by_label("E-mail address").fill(scene.viewer)  # the read-only administrator
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/integrations/{scene.tenant.integration_id}")
    page.get_by_label("Find a person").fill(member.employee_id)
    page.get_by_role("button", name="Search").click()
    page.locator("[data-trace-results]").get_by_role("link").first.click()
    page.locator("[data-trace]").wait_for()
    mapped = page.locator('[data-stage="mapped"]')
    phone = mapped.locator("tr", has_text="Phone")
    assert phone.locator("td").first.inner_text().strip() == "(present)"
    assert phone.get_attribute("data-row-status") == "masked"
    assert mapped.locator("tr", has_text="Tshirt").locator("td").first.inner_text().strip() == "XXL"
    for name, (width, height) in {"laptop": (1366, 900), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts_dir / f"trace-masked-{name}.png"), full_page=True)
        mapped.screenshot(path=str(artifacts_dir / f"trace-masked-{name}-mapped-values.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the trace page scrolls sideways at {name} size ({overflow}px)"
        text = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
        assert _leaks(text, scene.secrets) == [] and "None" not in text
    context.close()
