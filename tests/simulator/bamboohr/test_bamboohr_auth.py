"""Who may call the BambooHR simulator, and in what format it answers, as BambooHR documents it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from xml.etree import ElementTree as ET

import httpx
import pytest

from hrsync.simulator.bamboohr import BambooSimulator

from .conftest import COMPANY, JSON_ACCEPT, KEY, admin, api


def _xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 - our own simulator's answer on loopback


@pytest.mark.parametrize("password", ["x", "anything at all", ""])
def test_the_key_is_the_basic_user_name_and_any_password_does(bamboo: BambooSimulator, password: str) -> None:
    r = httpx.get(f"{bamboo.company_url}/meta/fields", auth=(KEY, password), headers=JSON_ACCEPT)
    assert r.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,  # no key: 401
        "Basic " + base64.b64encode(b"wrong-key:x").decode(),
        "Basic " + base64.b64encode(f"x:{KEY}".encode()).decode(),  # the key as the password: refused
        f"Bearer {KEY}",
        "Basic not-base64!",
    ],
)
def test_a_missing_or_unknown_key_is_401(bamboo: BambooSimulator, authorization: str | None) -> None:
    headers = {**JSON_ACCEPT, **({"Authorization": authorization} if authorization else {})}
    r = httpx.get(f"{bamboo.company_url}/employees/directory", headers=headers)
    assert r.status_code == 401
    assert r.content == b"" and r.headers["X-BambooHR-Error-Message"]


def test_an_unknown_company_domain_is_404(bamboo: BambooSimulator) -> None:
    r = httpx.get(f"{bamboo.base_url}/not-{COMPANY}/v1/meta/fields", auth=(KEY, "x"), headers=JSON_ACCEPT)
    assert r.status_code == 404
    same = httpx.get(f"{bamboo.base_url}/{COMPANY.upper()}/v1/meta/fields", auth=(KEY, "x"), headers=JSON_ACCEPT)
    assert same.status_code == 200  # domains are not case-sensitive


def test_repeated_unknown_keys_disable_the_api_for_the_company(new_bamboo: Callable[..., BambooSimulator]) -> None:
    sim = new_bamboo(people=5, lockout_after=3)
    url = f"{sim.company_url}/meta/fields"
    assert [httpx.get(url, auth=("guess", "x")).status_code for _ in range(3)] == [401, 401, 401]
    locked = httpx.get(url, auth=(KEY, "x"), headers=JSON_ACCEPT)
    assert locked.status_code == 403  # even the right key, until the lock-out ends
    with admin(sim) as back:
        assert back.get("").json()["disabled"] is True
        assert back.delete("/lockout").status_code == 204
    assert httpx.get(url, auth=(KEY, "x"), headers=JSON_ACCEPT).status_code == 200


def test_a_good_key_resets_the_count_of_unknown_ones(new_bamboo: Callable[..., BambooSimulator]) -> None:
    sim = new_bamboo(people=5, lockout_after=3)
    url = f"{sim.company_url}/meta/fields"
    for _ in range(3):
        assert httpx.get(url, auth=("guess", "x")).status_code == 401
        assert httpx.get(url, auth=("guess", "x")).status_code == 401
        assert httpx.get(url, auth=(KEY, "x")).status_code == 200


def test_xml_unless_json_is_asked_for(bamboo: BambooSimulator) -> None:
    with api(bamboo, headers={}) as c:
        xml = c.get("/employees/directory")
        fields = c.get("/meta/fields", headers={"Accept": "application/xml"})
        one = c.get("/employees/101", params={"fields": "firstName,workEmail"})
        as_json = c.get("/employees/101", params={"fields": "firstName"}, headers=JSON_ACCEPT)
    assert xml.headers["Content-Type"].startswith("text/xml")
    root = _xml(xml.content)
    assert root.tag == "directory" and root.find("fieldset/field") is not None
    assert len(root.findall("employees/employee")) > 0
    first = _xml(fields.content).find("field")
    assert first is not None and first.get("alias") == "firstName"
    employee = _xml(one.content)
    assert employee.get("id") == "101"
    assert {f.get("id") for f in employee.iter("field")} == {"firstName", "workEmail"}
    assert as_json.json()["id"] == "101"


def test_report_body_is_json_only_with_exactly_application_json(bamboo: BambooSimulator) -> None:
    body = b'{"fields": ["firstName"]}'
    xml_body = (b'<report><title>t</title><fields><field id="firstName"/><field id="workEmail"/></fields>'
                b"<filters><employeeIds><employeeId>101</employeeId><employeeId>102</employeeId></employeeIds>"
                b"</filters></report>")
    with api(bamboo) as c:
        exact = c.post("/reports/custom?format=json", content=body, headers={"Content-Type": "application/json"})
        charset = c.post("/reports/custom?format=json", content=body,
                         headers={"Content-Type": "application/json; charset=UTF-8"})
        xml = c.post("/reports/custom?format=json", content=xml_body, headers={"Content-Type": "text/xml"})
    assert exact.status_code == 200
    assert charset.status_code == 400  # read as XML, as documented
    assert charset.headers["X-BambooHR-Error-Message"] == "Malformed XML"
    assert [e["id"] for e in xml.json()["employees"]] == ["101", "102"]
    assert [f["id"] for f in xml.json()["fields"]] == ["firstName", "workEmail"]


def test_wrong_method_is_refused(bamboo: BambooSimulator) -> None:
    with api(bamboo) as c:
        assert c.post("/employees/directory").status_code == 405
        assert c.get("/reports/custom").status_code == 405
        assert c.get("/no/such/thing").status_code == 404
