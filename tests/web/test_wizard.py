"""The setup wizard over real HTTP against the intelliHR simulator: every step, saved as it goes."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.web.conftest import API_KEY, TENANT, Portal, csrf_of, wait_until


def _integration(integration_id: int) -> Any:
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        session.expunge(integration)
        return integration


def _start(portal: Portal, client: httpx.Client, **overrides: str) -> int:
    data = {"frequency": "weekly", "schedule_time": "07:30", "weekday": "tuesday", "month_day": "1",
            "date_format": "YYYY-MM-DD", "welcome_email": "on", **overrides}
    response = portal.post_form(client, "/integrations/new/intellihr", "/integrations/new/intellihr", data)
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/integrations/(\d+)/setup/authorize", response.headers["location"])
    assert match
    return int(match.group(1))


def _authorize(portal: Portal, client: httpx.Client, integration_id: int, key: str = API_KEY,
               subdomain: str = TENANT) -> httpx.Response:
    return portal.post_form(client, f"/integrations/{integration_id}/setup/authorize",
                            f"/integrations/{integration_id}/authorize",
                            {"subdomain": subdomain, "api_key": key}, headers={"Accept": "application/json"})


@pytest.fixture
def admin_email(portal: Portal) -> str:
    """A programme per test: one intelliHR account is connected once per programme."""
    return portal.new_admin()[2]


def test_explore_search_finds_intellihr_and_its_card_opens_the_wizard(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    page = client.get("/integrations")
    assert page.status_code == 200
    assert "My integrations" in page.text and "Explore integrations" in page.text
    found = client.get("/integrations", params={"tab": "explore", "q": "intelliHR"})
    assert 'data-integration="intellihr"' in found.text
    assert 'href="/integrations/new/intellihr"' in found.text
    missing = client.get("/integrations", params={"tab": "explore", "q": "workday"})
    assert 'data-integration="intellihr"' not in missing.text
    assert "No integration matches" in missing.text
    setup = client.get("/integrations/new/intellihr")
    assert setup.status_code == 200
    assert "Initial setup" in setup.text
    assert re.search(r'id="welcome_email" name="welcome_email" type="checkbox" checked', setup.text)
    assert "Recommended." in setup.text


def test_initial_setup_saves_a_draft_that_resumes_at_authorize(portal: Portal) -> None:
    _, _, email = portal.new_admin(timezone="Australia/Brisbane")
    client = portal.sign_in(email)
    integration_id = _start(portal, client)
    integration = _integration(integration_id)
    assert integration.status == "draft"
    assert integration.wizard_step == "authorize"
    schedule = (integration.frequency, integration.schedule_time, integration.schedule_day)
    assert schedule == ("weekly", "07:30", "tuesday")
    assert integration.date_format == "YYYY-MM-DD" and integration.welcome_email is True
    assert integration.mapping["employee_id"] == "employeeNumber"
    assert integration.status_map["Past Staff"] == "inactive"
    mine = client.get("/integrations?tab=mine")
    assert f'href="/integrations/{integration_id}/setup/authorize"' in mine.text
    explore = client.get("/integrations?tab=explore&q=intellihr")
    assert f'href="/integrations/{integration_id}/setup/authorize"' in explore.text  # the card resumes the draft
    assert "Australia/Brisbane" in client.get(f"/integrations/{integration_id}/setup/initial").text


def test_bad_schedule_is_refused_with_the_services_reason(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    response = portal.post_form(client, "/integrations/new/intellihr", "/integrations/new/intellihr",
                                {"frequency": "daily", "schedule_time": "25:99", "date_format": "DD/MM/YYYY"})
    assert response.status_code == 400
    assert "must be HH:MM" in response.text


def test_wrong_key_shows_intellihrs_reason_and_stores_nothing(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    response = _authorize(portal, client, integration_id, key="definitely-not-the-key")
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["code"] == "bad_key"
    assert body["reason"]
    assert _integration(integration_id).secret_encrypted is None
    # Without script: the fallback page shows the same reason next to the form.
    page = portal.post_form(client, f"/integrations/{integration_id}/authorize",
                            f"/integrations/{integration_id}/authorize",
                            {"subdomain": TENANT, "api_key": "definitely-not-the-key"})
    assert page.status_code == 400
    assert "intelliHR did not accept these details" in page.text
    assert body["reason"].split(":")[0][:30] in page.text.replace("&#39;", "'")
    bad_sub = _authorize(portal, client, integration_id, subdomain="https://demo.intellihr.net.evil.test")
    assert bad_sub.json()["code"] == "invalid_subdomain"
    assert "is not an intelliHR address" in bad_sub.json()["reason"]
    save = portal.post_form(client, f"/integrations/{integration_id}/setup/authorize",
                            f"/integrations/{integration_id}/setup/authorize")
    assert save.headers["location"].endswith("/setup/authorize")  # cannot move on unauthorized


ARTICLE_FORM = "  https://Demo.intelliHR.net/ "  # as the intelliHR article writes it, pasted with spaces


def test_the_articles_url_form_authorizes_and_stores_the_bare_tenant(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    check = client.get(f"/integrations/{integration_id}/authorize/subdomain", params={"subdomain": ARTICLE_FORM})
    assert check.json() == {"ok": True, "subdomain": TENANT, "url": f"https://{TENANT}.intellihr.net",
                            "reason": None, "code": None}
    # Without script, a wrong key re-renders the form: its preview shows the normalised address.
    page = portal.post_form(client, f"/integrations/{integration_id}/authorize",
                            f"/integrations/{integration_id}/authorize",
                            {"subdomain": ARTICLE_FORM, "api_key": "definitely-not-the-key"})
    assert page.status_code == 400 and "intelliHR refused the API key" in page.text
    assert re.search(r'id="url-preview"[^>]*>https://demo\.intellihr\.net</div>', page.text), page.text
    assert "https://https://" not in page.text and ".intellihr.net.intellihr.net" not in page.text
    ok = _authorize(portal, client, integration_id, subdomain=ARTICLE_FORM)
    assert ok.status_code == 200, ok.text
    assert ok.json()["url"] == f"https://{TENANT}.intellihr.net"
    assert _integration(integration_id).settings == {"subdomain": TENANT} and TENANT == "demo"
    again = portal.post_form(client, f"/integrations/{integration_id}/reauthorize",
                             f"/integrations/{integration_id}/authorize",
                             {"subdomain": "DEMO.intellihr.net", "api_key": API_KEY, "mode": "reauthorize"},
                             headers={"Accept": "application/json"})
    assert again.json()["ok"] is True and _integration(integration_id).settings == {"subdomain": "demo"}
    page = client.get(f"/integrations/{integration_id}/setup/authorize")
    assert 'id="m-url-preview" aria-live="polite">https://demo.intellihr.net</div>' in page.text


@pytest.mark.parametrize("typed", ["evil.example.com", "demo.intellihr.net.evil.test", "10.0.0.1",
                                   "demo.intellihr.net:8443", "https://user:pass@demo.intellihr.net/",
                                   "https://demo.intellihr.net/people", "demo.intellihr.net?x=1"])
def test_another_host_is_refused_at_once_before_the_key_is_asked_for_or_checked(
    portal: Portal, admin_email: str, typed: str
) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    before = portal.sim.stats.count()
    # What the modal's Next asks (no key yet): refused with one line saying what to type.
    check = client.get(f"/integrations/{integration_id}/authorize/subdomain", params={"subdomain": typed}).json()
    assert check["ok"] is False and check["code"] == "invalid_subdomain" and check["url"] == ""
    assert "your-company" in check["reason"] and "\n" not in check["reason"]
    assert "user:pass" not in check["reason"]
    # Posted anyway (no script, or a hand-made request), with the right key: the key is never checked.
    for key in ("", API_KEY):
        refused = _authorize(portal, client, integration_id, key=key, subdomain=typed)
        assert refused.status_code == 400
        assert refused.json() == {"ok": False, "reason": check["reason"], "code": "invalid_subdomain"}
    assert portal.sim.stats.count() == before  # intelliHR (the simulator) was never contacted
    stored = _integration(integration_id)
    assert stored.settings is None and stored.secret_encrypted is None
    page = portal.post_form(client, f"/integrations/{integration_id}/authorize",
                            f"/integrations/{integration_id}/authorize", {"subdomain": typed, "api_key": API_KEY})
    assert page.status_code == 400
    assert 'id="url-preview" aria-live="polite" hidden>' in page.text  # no address is previewed


def test_the_subdomain_check_is_only_for_the_programmes_own_integrations(portal: Portal, admin_email: str) -> None:
    owner = portal.sign_in(admin_email)
    integration_id = _start(portal, owner)
    _, _, stranger_email = portal.new_admin(programme="Other Co")
    stranger = portal.sign_in(stranger_email)
    answer = stranger.get(f"/integrations/{integration_id}/authorize/subdomain", params={"subdomain": "demo"})
    assert answer.status_code == 404
    anonymous = portal.client().get(f"/integrations/{integration_id}/authorize/subdomain",
                                    params={"subdomain": "demo"})
    assert anonymous.status_code in (302, 303, 401) or "/login" in str(anonymous.url)


def test_the_whole_wizard_to_live_then_revoke(portal: Portal, admin_email: str, worker: object) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)

    ok = _authorize(portal, client, integration_id)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"ok": True, "url": f"https://{TENANT}.intellihr.net", "last4": API_KEY[-4:]}
    stored = _integration(integration_id)
    assert stored.secret_encrypted and API_KEY not in stored.secret_encrypted
    page = client.get(f"/integrations/{integration_id}/setup/authorize")
    assert "Your intelliHR account is authorized" in page.text
    assert API_KEY not in page.text
    save = portal.post_form(client, f"/integrations/{integration_id}/setup/authorize",
                            f"/integrations/{integration_id}/setup/authorize")
    assert save.headers["location"] == f"/integrations/{integration_id}/setup/mapping"
    assert _integration(integration_id).wizard_step == "mapping"

    mapping = client.get(f"/integrations/{integration_id}/setup/mapping")
    assert mapping.status_code == 200
    assert "Unique key" in mapping.text
    assert re.search(r'<option value="employeeNumber" selected>', mapping.text)
    assert 'optgroup label="Person custom fields"' in mapping.text
    custom = re.findall(r'name="extra" value="(custom\.[^"]+)"', mapping.text)
    assert custom, "the simulator's custom fields are offered"
    for status in ("Current Staff", "Upcoming Staff", "Past Staff"):
        assert status in mapping.text

    form = {"map.employee_id": "employeeNumber", "map.email": "", "map.first_name": "firstName",
            "map.last_name": "lastName", "status_name_0": "Current Staff", "status_value_0": "active"}
    missing = portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                               f"/integrations/{integration_id}/setup/mapping", form)
    assert missing.status_code == 400
    assert re.search(r'<p class="error-text" id="err-email">Email must be mapped', missing.text)

    form.update({"map.email": "primaryEmailAddress", "extra": custom[0],
                 "status_name_1": "Exiting Staff", "status_value_1": "inactive"})
    saved = portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                             f"/integrations/{integration_id}/setup/mapping", form)
    assert saved.status_code == 303, saved.text[:3000]
    assert saved.headers["location"] == f"/integrations/{integration_id}/setup/review"
    stored = _integration(integration_id)
    assert stored.mapping["email"] == "primaryEmailAddress"
    assert custom[0] in stored.mapping.values()
    assert stored.status_map["Exiting Staff"] == "inactive"

    review = client.get(f"/integrations/{integration_id}/setup/review")
    assert "data-preview-start" in review.text and "data-autosubmit" not in review.text  # a click starts it
    preview = portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                               f"/integrations/{integration_id}/setup/preview")
    assert preview.status_code == 303
    review = wait_until(lambda: (page := client.get(f"/integrations/{integration_id}/setup/review"))
                        and "data-preview-counts" in page.text and page, what="the preview")  # a worker runs it
    created = re.search(r'data-count="created">(\d+)<', review.text)
    assert created and int(created.group(1)) > 50
    assert "New members: examples" in review.text
    assert review.text.index("data-preview-counts") < review.text.index(">Publish<")
    from hrsync.store.db import session_scope
    from hrsync.store.models import Member

    with session_scope() as session:
        assert session.query(Member).count() == 0  # a preview changes nothing

    published = portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                                 f"/integrations/{integration_id}/setup/publish")
    assert published.headers["location"] == f"/integrations/{integration_id}"
    live = _integration(integration_id)
    assert live.status == "live" and live.next_run_at is not None and live.wizard_step is None
    dashboard = client.get(f"/integrations/{integration_id}")
    assert "intelliHR is live" in dashboard.text
    assert "Weekly on Tuesday at 07:30" in dashboard.text
    for tool in ("Import data now", "Import history", "Edit", "Pause", "Re-authorize", "Revoke access"):
        assert tool in dashboard.text
    assert f'href="/integrations/{integration_id}/import"' in dashboard.text
    assert f'href="/integrations/{integration_id}/runs"' in dashboard.text

    confirm = client.get(f"/integrations/{integration_id}/revoke")
    assert "Revoke access to intelliHR?" in confirm.text
    revoked = client.post(f"/integrations/{integration_id}/revoke", data={"csrf_token": csrf_of(confirm.text)})
    assert revoked.status_code == 303
    gone = _integration(integration_id)
    assert gone.secret_encrypted is None and gone.status == "revoked" and gone.next_run_at is None
    assert gone.mapping["email"] == "primaryEmailAddress"
    dashboard = client.get(f"/integrations/{integration_id}")
    assert "Access is revoked" in dashboard.text
    assert "revoked access" in dashboard.text
    assert "published the integration" in dashboard.text
    assert admin_email in dashboard.text

    again = portal.post_form(client, f"/integrations/{integration_id}/reauthorize",
                             f"/integrations/{integration_id}/authorize",
                             {"subdomain": TENANT, "api_key": API_KEY, "mode": "reauthorize"})
    assert again.headers["location"] == f"/integrations/{integration_id}/reauthorize"
    back = _integration(integration_id)
    assert back.status == "live" and back.secret_encrypted  # live before the revoke: live again
    assert back.next_run_at is not None and back.status_before_revoke is None
    assert back.mapping == gone.mapping  # re-authorizing keeps the mapping
    page = client.get(f"/integrations/{integration_id}/reauthorize").text
    assert "The integration is live again: scheduled imports resume." in page
    assert "Finish setup" not in page
    paused = portal.post_form(client, f"/integrations/{integration_id}", f"/integrations/{integration_id}/pause")
    assert paused.status_code == 303 and _integration(integration_id).status == "paused"
    resumed = portal.post_form(client, f"/integrations/{integration_id}", f"/integrations/{integration_id}/resume")
    assert resumed.status_code == 303 and _integration(integration_id).status == "live"
    text = client.get(f"/integrations/{integration_id}").text
    assert "paused scheduled imports" in text and "resumed scheduled imports" in text
    assert "live again, scheduled imports resumed" in text


def test_editing_a_live_integration_returns_to_its_dashboard(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client, frequency="manual")
    _authorize(portal, client, integration_id)
    portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                     f"/integrations/{integration_id}/setup/publish")
    assert _integration(integration_id).status == "live"
    edit = portal.post_form(client, f"/integrations/{integration_id}/setup/initial",
                            f"/integrations/{integration_id}/setup/initial",
                            {"frequency": "monthly", "schedule_time": "05:00", "month_day": "15",
                             "date_format": "DD/MM/YYYY"})
    assert edit.headers["location"] == f"/integrations/{integration_id}"
    edited = _integration(integration_id)
    assert (edited.frequency, edited.schedule_day, edited.welcome_email) == ("monthly", "15", False)
    assert "Monthly on day 15 at 05:00" in client.get(f"/integrations/{integration_id}").text


def test_mapping_lists_person_and_job_custom_fields_by_their_human_names(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    assert _authorize(portal, client, integration_id).status_code == 200
    page = client.get(f"/integrations/{integration_id}/setup/mapping")
    assert page.status_code == 200
    html = page.text
    person = html.index('optgroup label="Person custom fields"')
    job = html.index('optgroup label="Job custom fields"')
    assert person < job
    # human names, not api names; sensitive fields marked; disabled definitions left out
    assert re.search(r'<option value="custom\.costCentre" >Cost centre</option>', html)
    assert re.search(r'<option value="job\.custom\.jobCostCode" >Job cost code</option>', html)
    assert re.search(r'<option value="custom\.badgeNumber" >[^<]+ \(sensitive\)</option>', html)
    assert "legacyPayrollCode" not in html and "oldGrade" not in html
    assert re.search(r'<legend><strong>Job custom fields</strong></legend>', html)
    assert 'name="extra" value="job.custom.shiftPattern"' in html

    form = {"map.employee_id": "employeeNumber", "map.email": "primaryEmailAddress",
            "map.job_title": "job.custom.jobCostCode", "extra": "job.custom.shiftPattern",
            "status_name_0": "Current Staff", "status_value_0": "active"}
    saved = portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                             f"/integrations/{integration_id}/setup/mapping", form)
    assert saved.status_code == 303, saved.text[:3000]
    stored = _integration(integration_id)
    assert stored.mapping["job_title"] == "job.custom.jobCostCode"
    assert stored.mapping["custom.job_shiftPattern"] == "job.custom.shiftPattern"


def test_the_mapping_step_suggests_real_values_and_keeps_what_was_typed_without_its_script(
    portal: Portal, admin_email: str
) -> None:
    import json

    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    assert _authorize(portal, client, integration_id).status_code == 200
    step = f"/integrations/{integration_id}/setup/mapping"
    page = client.get(step)
    sample = json.loads(re.search(r'id="mapping-sample">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert sample["fields"]["firstName"]["filled"] == sample["sampled"] > 0
    assert sample["fields"]["job.workType"]["measured"] is False  # a job detail: asked for when chosen
    assert all(not f["values"] for key, f in sample["fields"].items()
               if key in ("primaryEmailAddress", "dateOfBirth", "firstName"))  # contact, personal, unique
    values = client.get(f"{step}/values", params={"field": "job.workType"}).json()
    assert ["Temporary/Casual", values["values"][[v for v, _ in values["values"]].index("Temporary/Casual")][1]] \
        in values["values"] and all(n > 0 for _, n in values["values"])
    assert client.get(f"{step}/values", params={"field": "primaryEmailAddress"}).json()["values"] == []
    assert client.get(f"{step}/values", params={"field": "nonsense"}).status_code == 404

    form = {"map.employee_id": "employeeNumber", "map.email": "primaryEmailAddress", "map.first_name": "firstName",
            "map.last_name": "lastName", "rule_0_effect": "exclude", "rule_0_field": "job.workType",
            "rule_0_op": "equals", "rule_0_values": "Temporary/Casual", "rule_0_label": "casual workers",
            "t_0_target": "first_name", "t_0_type": "upper"}
    again = portal.post_form(client, step, step, {**form, "action": "add_rule"})
    assert again.status_code == 200
    assert 'data-rule-row="1"' in again.text and 'data-rule-row="2"' not in again.text  # exactly one row more
    assert 'value="Temporary/Casual"' in again.text and 'value="casual workers"' in again.text
    assert "Temporary/Casual (" in again.text  # the row's field suggests its values

    shown = portal.post_form(client, step, f"{step}/transform-preview", form)
    assert shown.status_code == 200 and 'data-transform-example="first_name"' in shown.text
    for before, after in re.findall(r"First name: “(.*?)” → “(.*?)”", shown.text):
        assert before != after == after.upper()
    trimmed = portal.post_form(client, step, f"{step}/transform-preview", {**form, "t_0_type": "trim"})
    assert "data-transform-none" in trimmed.text and "change nobody" in trimmed.text  # names have no spaces
    assert client.get(step).text.count("data-rule-row=") == 1  # nothing was saved by either
