"""Names and field labels on the pages people read (issue 12, items 1 and 2), over real HTTP.

The walkthrough found "NoneÉlodie" and "WilliamsNone" in the members list, "Élodie None" on the
member's page, the start date twice in two formats and a field labelled "Custom.costcentre". The
``named`` fixture makes exactly those people in the intelliHR simulator (a blank family name, no
given name, a preferred name, a custom field and a date of birth), imports them through a mapping
that takes the custom field, and the tests read the members list, the member's page and the run
page as an administrator does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from tests.web.conftest import Portal

from hrsync.services.integrations import create_integration, publish
from hrsync.store import session_factory, session_scope
from hrsync.store.models import AdminUser, Member, Programme
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run

MAPPING = {
    "employee_id": "employeeNumber", "email": "primaryEmailAddress", "first_name": "firstName",
    "last_name": "lastName", "preferred_name": "preferredName", "date_of_birth": "dateOfBirth",
    "start_date": "job.startDate", "custom.costCentre": "custom.costCentre",
}
DATE_FORMAT = "MM/DD/YYYY"  # chosen for the integration; the programme's own setting is DD/MM/YYYY
BORN = date(1991, 4, 7)
BORN_SHOWN = "04/07/1991"


@dataclass
class Named:
    """The imported people the walkthrough tripped over, by what is special about them."""

    portal: Portal
    admin_email: str
    integration_id: int
    run_id: int
    no_family: Member      # "Élodie" with a blank last name
    no_given: Member       # "Williams" with no first name
    preferred: Member      # "Lo Martin": first name Élodie, preferred name Lo; cost centre, date of birth

    def client(self) -> httpx.Client:
        return self.portal.sign_in(self.admin_email)


def _member(programme_id: int, employee_id: str) -> Member:
    with session_factory()() as session:
        found = session.scalar(select(Member).where(Member.programme_id == programme_id,
                                                    Member.employee_id == employee_id))
        assert found is not None, f"{employee_id} was not imported"
        session.expunge(found)
        return found


@pytest.fixture(scope="module")
def named(portal: Portal) -> Iterator[Named]:
    directory = portal.sim.directory
    directory.hire(first_name="Élodie", last_name=" ", email="elodie@example.com",
                   employee_number="N-001", start_date=date(2024, 2, 1))
    williams = directory.hire(first_name="Will", last_name="Williams", email="williams@example.com",
                              employee_number="N-002")
    directory.change(williams["id"], firstName=None)
    lo = directory.hire(first_name="Élodie", last_name="Martin", email="lo@example.com", employee_number="N-003",
                        custom={"costCentre": "CC-042"}, start_date=date(2023, 11, 20))
    directory.change(lo["id"], preferredName="Lo", dateOfBirth=BORN.isoformat())

    programme_id, _, email = portal.new_admin()
    with session_scope() as session:
        programme = session.get(Programme, programme_id)
        admin = session.scalar(select(AdminUser).where(AdminUser.email == email))
        assert programme is not None and admin is not None
        integration = create_integration(session, programme, admin, subdomain="demo", api_key="sim-demo-key",
                                         mapping=MAPPING, date_format=DATE_FORMAT, leaver_threshold_pct=100.0)
        publish(session, integration, admin)
        integration_id = integration.id
    with session_scope() as session:
        run_id = request_run(session, integration_id, trigger="cli").id
    execute_run(run_id)
    yield Named(portal, email, integration_id, run_id, _member(programme_id, "N-001"),
                _member(programme_id, "N-002"), _member(programme_id, "N-003"))


def _link_text(html: str, member_id: int) -> str:
    found = re.search(rf'href="/members/{member_id}">([^<]*)</a>', html)
    assert found, f"member {member_id} is not linked on the page"
    return found.group(1)


def _text(html: str) -> str:
    """What a person reads: the body without tags, scripts or styles."""
    body = html.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_members_list_names_people_family_name_first_without_none(named: Named) -> None:
    client = named.client()
    for term, member, shown in (("N-001", named.no_family, "Élodie"), ("N-002", named.no_given, "Williams"),
                                ("N-003", named.preferred, "Martin, Lo")):
        page = client.get("/members", params={"q": term})
        assert page.status_code == 200
        assert _link_text(page.text, member.id) == shown
        assert "None" not in _text(page.text), term
    everyone = client.get("/members")
    assert "None" not in _text(everyone.text)
    assert "NoneÉlodie" not in everyone.text and "WilliamsNone" not in everyone.text


def test_a_members_page_has_one_name_human_labels_and_dates_in_the_chosen_format(named: Named) -> None:
    client = named.client()
    for member, heading in ((named.no_family, "Élodie"), (named.no_given, "Williams"), (named.preferred, "Lo Martin")):
        page = client.get(f"/members/{member.id}")
        assert page.status_code == 200
        assert re.search(rf"<h1>\s*{re.escape(heading)}\s*<span", page.text), heading
        assert f"<title>{heading}" in page.text
        assert "None" not in _text(page.text), heading
    page = _text(client.get(f"/members/{named.preferred.id}").text)
    assert "Cost centre CC-042" in page
    assert "Custom" not in page and "costCentre" not in page
    assert f"Date of birth {BORN_SHOWN}" in page and BORN.isoformat() not in page
    assert page.count("Start date") == 1
    assert "Start date 11/20/2023" in page and "2023-11-20" not in page
    assert "Preferred name Lo" in page and "First name Élodie" in page


def test_the_run_page_names_the_members_it_changed(named: Named) -> None:
    client = named.client()
    wanted = {named.no_family.id: "Élodie", named.no_given.id: "Williams", named.preferred.id: "Lo Martin"}
    found: dict[int, str] = {}
    for number in range(1, 10):  # the impact list pages 50 members at a time
        page = client.get(f"/integrations/{named.integration_id}/runs/{named.run_id}",
                          params={"kind": "created", "page": number})
        assert page.status_code == 200
        assert "None" not in _text(page.text)
        found.update({i: _link_text(page.text, i) for i in wanted if f'href="/members/{i}"' in page.text})
        if len(found) == len(wanted) or 'rel="next"' not in page.text:
            break
    assert found == wanted
