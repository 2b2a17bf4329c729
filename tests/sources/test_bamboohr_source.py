"""The BambooHR source against the BambooHR simulator over real HTTP: the company domain as people type
it, the connection check and its failure rows, field discovery, everyone's status and dates, throttling,
and one person looked up live."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from hrsync.config import reset_settings_cache
from hrsync.simulator import Simulator
from hrsync.simulator.bamboohr import BambooSimulator
from hrsync.sources.bamboohr.domain import validate_company_domain
from hrsync.sources.bamboohr.source import BASE_URL, BambooHRSource, base_url
from hrsync.sources.base import FieldGroup, Lifecycle, SourceError

COMPANY, KEY = "acme", "bamboo-source-key"
TODAY = date(2026, 3, 2)
FIELDS = ["employeeNumber", "workEmail", "firstName", "lastName", "customShirtSize", "4003", "terminationDate"]


@pytest.fixture
def bamboo(monkeypatch: pytest.MonkeyPatch) -> Iterator[BambooSimulator]:
    with BambooSimulator(people=80, seed=3, company=COMPANY, api_key=KEY, today=TODAY, lockout_after=3) as sim:
        monkeypatch.setenv("HRSYNC_BAMBOOHR_BASE_URL", sim.base_url)
        monkeypatch.setenv("HRSYNC_IMPORT_TIME_BUDGET", "20")
        reset_settings_cache()
        yield sim
    reset_settings_cache()


def source(company: str = COMPANY, key: str = KEY, **kwargs: object) -> BambooHRSource:
    return BambooHRSource(company, key, today=TODAY, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["acme", " ACME ", "acme.bamboohr.com", "https://acme.bamboohr.com",
                                   "https://Acme.BambooHR.com/", "https://acme.bamboohr.com/home/index.php",
                                   "http://acme.bamboohr.com"])
def test_company_domain_as_people_type_it(typed: str) -> None:
    assert validate_company_domain(typed) == "acme"


@pytest.mark.parametrize(("typed", "says"), [
    ("", "empty"), ("acme.example.com", "not a BambooHR address"), ("acme.bamboohr.com.evil.test", "not a BambooHR"),
    ("https://user:pw@acme.bamboohr.com", "user name or password"), ("acme.bamboohr.com:8443", "port"),
    ("acme.bamboohr.com/?x=1", "query"), ("ftp://acme.bamboohr.com", "not a BambooHR web address"),
    ("-acme", "not a company domain"), ("acmé", "characters"), ("api.bamboohr.com", "not a company domain"),
    ("10.0.0.1", "not a BambooHR"),
])
def test_other_hosts_are_refused_with_what_to_type(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        validate_company_domain(typed)
    assert "e.g. 'mycompany' for https://mycompany.bamboohr.com" in str(caught.value)


def test_base_url_defaults_to_bamboohrs_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HRSYNC_BAMBOOHR_BASE_URL", raising=False)
    assert base_url() == BASE_URL == "https://api.bamboohr.com/api/gateway.php"
    monkeypatch.setenv("HRSYNC_BAMBOOHR_BASE_URL", "http://127.0.0.1:9/api/gateway.php/")
    assert base_url() == "http://127.0.0.1:9/api/gateway.php"


def test_check_accepts_the_right_company_and_key(bamboo: BambooSimulator) -> None:
    with source("https://acme.bamboohr.com") as s:
        assert s.check().ok
    assert bamboo.stats.count("/api/gateway.php/acme/v1/meta/fields", 200) == 1


@pytest.mark.parametrize(("company", "key", "code"), [
    (COMPANY, "wrong-key", "bad_key"),
    ("another", KEY, "unknown_company"),
    ("not a domain", KEY, "invalid_company_domain"),
    (COMPANY, "has spaces in it", "bad_key"),
])
def test_check_failures(bamboo: BambooSimulator, company: str, key: str, code: str) -> None:
    with source(company, key) as s:
        result = s.check()
    assert (result.ok, result.code) == (False, code)
    assert result.reason and KEY not in result.reason


def test_a_company_locked_after_unknown_keys_is_refused_credentials(bamboo: BambooSimulator) -> None:
    for _ in range(3):
        assert source(key="guess").check().code == "bad_key"
    result = source().check()
    assert (result.ok, result.code) == (False, "bad_credentials")
    assert "disabled API access" in (result.reason or "")


def test_check_says_when_the_server_is_not_bamboohr(monkeypatch: pytest.MonkeyPatch) -> None:
    with Simulator(people=3, seed=1) as intellihr:
        result = BambooHRSource(COMPANY, KEY, base=f"{intellihr.url}/api/gateway.php").check()
    assert (result.ok, result.code) == (False, "not_bamboohr")
    assert "HRSYNC_BAMBOOHR_BASE_URL" in (result.reason or "")


def test_fields_offer_standard_and_custom_fields_by_their_names(bamboo: BambooSimulator) -> None:
    with source() as s:
        fields = {f.key: f for f in s.fields()}
    assert {"id", "employeeNumber", "workEmail", "firstName", "lastName", "hireDate", "terminationDate",
            "department", "jobTitle", "location", "supervisor"} <= set(fields)
    custom = {k: f.label for k, f in fields.items() if f.group == FieldGroup.CUSTOM}
    assert custom == {"customShirtSize": "Shirt size", "customCostCentre": "Cost centre", "4003": "Rewards opt-in"}
    assert fields["4003"].kind == "boolean" and fields["hireDate"].kind == "date"


def test_everyone_with_status_and_dates(bamboo: BambooSimulator) -> None:
    company = bamboo.company
    left, leaving, rehired, starting = 105, 106, 107, 108
    company.terminate(left, (TODAY - timedelta(days=5)).isoformat())
    company.terminate(leaving, (TODAY + timedelta(days=9)).isoformat())
    company.terminate(rehired, "2020-01-31")
    company.rehire(rehired, (TODAY - timedelta(days=30)).isoformat())
    company.change(starting, hireDate=(TODAY + timedelta(days=4)).isoformat())
    company.change(109, terminationDate="2010-01-01")  # older than the hire date: an earlier employment
    with source() as s:
        people = {p.source_id: p for p in s.people(fields=FIELDS)}
    assert len(people) == company.total  # active and inactive alike
    gone = people[str(left)]
    assert (gone.employment_status, gone.lifecycle) == ("Inactive", Lifecycle.INACTIVE)
    assert gone.job_end_date == TODAY - timedelta(days=4)  # exclusive: the day after the last day
    soon = people[str(leaving)]
    assert (soon.employment_status, soon.lifecycle) == ("Active", Lifecycle.ACTIVE)
    assert soon.job_end_date == TODAY + timedelta(days=10)
    assert soon.values["terminationDate"] == (TODAY + timedelta(days=9)).isoformat()
    back = people[str(rehired)]
    assert back.lifecycle == Lifecycle.ACTIVE and back.job_end_date is None
    assert back.job_start_date == TODAY - timedelta(days=30)
    new = people[str(starting)]
    assert (new.employment_status, new.lifecycle) == ("Active (future hire date)", Lifecycle.PENDING)
    assert people["109"].lifecycle == Lifecycle.ACTIVE and people["109"].values["terminationDate"] is None
    row = company.get(110)
    assert people["110"].values == {
        "employeeNumber": row.employee_number, "workEmail": row.work_email, "firstName": row.first_name,
        "lastName": row.last_name, "customShirtSize": row.custom["customShirtSize"], "4003": row.custom["4003"],
        "terminationDate": None,
    }
    inactive = {p.source_id for p in people.values() if p.lifecycle == Lifecycle.INACTIVE}
    assert inactive == {str(e.id) for e in company.employees.values() if e.status(TODAY) == "Inactive"}
    # two reports, whatever the number of people
    assert bamboo.stats.count("/api/gateway.php/acme/v1/reports/custom") == 2


def test_the_status_table_can_be_overridden(bamboo: BambooSimulator) -> None:
    bamboo.company.change(108, hireDate=(TODAY + timedelta(days=4)).isoformat())
    with source(status_map={"Active (future hire date)": "active", "Current Staff": "inactive"}) as s:
        person = next(p for p in s.people(fields=["employeeNumber"]) if p.source_id == "108")
    assert person.lifecycle == Lifecycle.ACTIVE


def test_throttling_is_retried_honouring_retry_after(bamboo: BambooSimulator) -> None:
    bamboo.faults.add("rate_limit", times=1, retry_after=1)
    bamboo.faults.add("throttled", after=1, times=1)
    with source() as s:
        people = list(s.people(fields=["employeeNumber"]))
    assert len(people) == bamboo.company.total
    assert bamboo.stats.count(status=429) == 1 and bamboo.stats.count(status=503) == 1


def test_throttling_beyond_the_budget_fails_the_read_cleanly(bamboo: BambooSimulator) -> None:
    bamboo.faults.add("rate_limit", times=None, retry_after=60)
    with source(time_budget=5) as s, pytest.raises(SourceError) as caught:
        list(s.people(fields=["employeeNumber"]))
    assert caught.value.code == "rate_limited"
    assert "BambooHR kept rate-limiting" in caught.value.reason


def test_a_report_of_another_shape_is_refused(bamboo: BambooSimulator) -> None:
    bamboo.faults.add("not_json", times=None)
    with source() as s, pytest.raises(SourceError) as caught:
        list(s.people(fields=["employeeNumber"]))
    assert caught.value.code == "not_bamboohr"


def test_find_people_by_id_employee_number_and_work_email(bamboo: BambooSimulator) -> None:
    row = bamboo.company.get(115)
    assert row.work_email and row.employee_number
    with source() as s:
        by_id = s.find_people("id", "115")
        by_number = s.find_people("employeeNumber", row.employee_number)
        by_email = s.find_people("workEmail", row.work_email.upper())
        nobody = s.find_people("workEmail", "nobody@nowhere.test")
        unknown_id = s.find_people("id", "99999")
        with pytest.raises(ValueError):
            s.find_people("department", "Sales")
    found = [[p.source_id for p in people] for people in (by_id, by_number, by_email)]
    assert found == [["115"]] * 3
    assert by_id[0].values["workEmail"] == row.work_email and "customCostCentre" in by_id[0].values
    assert nobody == unknown_id == []
