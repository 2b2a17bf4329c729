"""What people read, over HTTP against the real portal (and the CLI, and the e-mails as sent):

* a programme whose name ends in "s" is never written "Demo Rewards's";
* no page, message or help text says "tenant": people have an *intelliHR account*;
* a zero count is never shown in an alarm colour ("0 leavers" is neutral, six leavers are red);
* an invited administrator is greeted by the name they were invited with.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from tests.web.conftest import _free_port
from tests.web.conftest_b import PASSWORD, SIM_KEY, import_now, leave, post_form, sign_in

from hrsync.cli.main import cli
from hrsync.domain.wording import possessive
from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.services.integrations import create_integration, publish
from hrsync.services.programmes import create_programme
from hrsync.store import session_factory, session_scope
from hrsync.store.models import Member, OutboxEmail

PROGRAMME = "Demo Rewards"
ADMIN_EMAIL = "owner@demo-rewards.example"


@dataclass
class Demo:
    portal: Any
    programme_id: int
    integration_id: int
    run_id: int

    def admin(self) -> httpx.Client:
        client = httpx.Client(base_url=self.portal.base_url, timeout=60.0)
        self.portal.clients.append(client)
        return sign_in(client, ADMIN_EMAIL, PASSWORD)


@pytest.fixture(scope="module")
def demo(portal: Any) -> Demo:
    with session_scope() as session:
        programme, admin = create_programme(session, PROGRAMME, admin_email=ADMIN_EMAIL,
                                            admin_name="Dana Owner", password=PASSWORD)
        integration = create_integration(session, programme, admin, subdomain="demo", api_key=SIM_KEY,
                                         leaver_threshold_pct=100.0)
        publish(session, integration, admin)
        ids = programme.id, integration.id
    return Demo(portal, ids[0], ids[1], import_now(ids[1]))


def visible_text(page: str) -> str:
    """The words a person sees: no tags, scripts, styles or attribute values; entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def admin_pages(demo: Demo) -> list[str]:
    integration = f"/integrations/{demo.integration_id}"
    with session_factory()() as session:
        member_id = session.scalars(select(Member.id).where(Member.programme_id == demo.programme_id)).first()
    return [
        "/admins", "/integrations?tab=mine", "/integrations?tab=explore", "/integrations/new/intellihr",
        integration, f"{integration}/revoke", f"{integration}/runs", f"{integration}/runs/{demo.run_id}",
        f"{integration}/import", f"{integration}/setup/initial", f"{integration}/setup/authorize",
        f"{integration}/reauthorize", f"{integration}/authorize", f"{integration}/setup/mapping",
        f"{integration}/setup/review", "/members", f"/members/{member_id}", "/settings/api-tokens", "/emails",
    ]


def test_the_possessive_rule() -> None:
    assert possessive("Demo Rewards") == "Demo Rewards'"
    assert possessive("Acme") == "Acme's"
    assert possessive("  ACME PERKS ") == "ACME PERKS'"
    assert possessive(None) == "" and possessive("") == ""


def test_a_programme_named_demo_rewards_is_never_written_rewards_s(demo: Demo) -> None:
    client = demo.admin()
    texts = {}
    for path in admin_pages(demo):
        response = client.get(path)
        assert response.status_code == 200, path
        texts[path] = visible_text(response.text)
    assert not [path for path, text in texts.items() if "Rewards's" in text]
    assert "sign in to Demo Rewards' portal" in " ".join(texts["/admins"].split())
    # the e-mails as members receive them (rendered when sent)
    with MailCatcher("127.0.0.1", _free_port()) as mail:
        assert send_due(session_factory(), smtp_url=mail.url, limit=100_000).sent > 0
        ours = [m for m in mail.messages if m.message.get("X-Hrsync-Programme") == str(demo.programme_id)]
    assert ours
    assert not [m.message["Subject"] for m in ours if "Rewards's" in m.text() or "Rewards's" in m.message["Subject"]]


def test_no_page_says_tenant(demo: Demo) -> None:
    client = demo.admin()
    pages = {path: client.get(path) for path in admin_pages(demo)}
    signed_out = httpx.Client(base_url=demo.portal.base_url, timeout=60.0)
    demo.portal.clients.append(signed_out)
    for path in ("/login", "/forgot-password", "/member/login", "/member/forgot-password"):
        pages[path] = signed_out.get(path)
    said = [path for path, response in pages.items() if "tenant" in visible_text(response.text).lower()]
    assert not said, f"pages that say 'tenant': {said}"


def test_an_unknown_intellihr_account_is_explained_without_tenant(demo: Demo) -> None:
    client = demo.admin()
    integration = f"/integrations/{demo.integration_id}"
    answer = post_form(client, f"{integration}/reauthorize", f"{integration}/authorize",
                       {"subdomain": "no-such-company", "api_key": SIM_KEY, "mode": "reauthorize"})
    assert answer.status_code == 400, answer.text[:300]
    text = " ".join(visible_text(answer.text).split())
    assert "There is no intelliHR account 'no-such-company'" in text
    assert "tenant" not in text.lower()


def test_cli_help_says_intellihr_account_not_tenant() -> None:
    result = CliRunner().invoke(cli, ["integration", "add", "--help"])
    assert result.exit_code == 0, result.output
    assert "intelliHR account" in result.output and "tenant" not in result.output.lower()


LEAVERS_BOX = re.compile(r'<div class="(preview-count count-leavers[^"]*)"><strong>([\d,]+)</strong>')
CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
ALARM = ("var(--bad)", "var(--warn)")


def alarm_selectors(css: str) -> list[str]:
    """The selectors of count boxes that set an alarm colour."""
    return [sel.strip() for selectors, body in CSS_RULE.findall(css) if any(a in body for a in ALARM)
            for sel in selectors.split(",") if ".count-" in sel]


def test_zero_leavers_are_neutral_and_leavers_are_red(demo: Demo) -> None:
    client = demo.admin()
    css = client.get("/static/records.css").text
    selectors = alarm_selectors(css)
    assert any(".count-leavers" in s for s in selectors)  # leavers do have an alarm colour...
    unconditional = [s for s in selectors if ".has-" not in s]
    assert not unconditional, f"count colours that do not depend on the count: {unconditional}"
    page = client.get(f"/integrations/{demo.integration_id}/runs/{demo.run_id}")
    box = LEAVERS_BOX.search(page.text)
    assert box and box.group(2) == "0"
    assert "has-leavers" not in box.group(1)  # ...but not for zero
    leave(demo.portal.sim, 10, 6)
    run_id = import_now(demo.integration_id)
    box = LEAVERS_BOX.search(client.get(f"/integrations/{demo.integration_id}/runs/{run_id}").text)
    assert box and box.group(2) == "6" and "has-leavers" in box.group(1).split()


def test_an_invited_administrator_is_greeted_by_name(demo: Demo) -> None:
    client = demo.admin()
    invited = "cole.league@demo-rewards.example"
    assert post_form(client, "/admins", "/admins", {"email": invited, "name": "Cole League"}).status_code == 303
    assert post_form(client, "/admins", "/admins", {"email": "nameless@demo-rewards.example"}).status_code == 303
    with session_factory()() as session:
        rows = {row.to_address: row for row in session.scalars(select(OutboxEmail).where(
            OutboxEmail.kind == "admin_invite", OutboxEmail.programme_id == demo.programme_id))}
    assert rows[invited].body_text.startswith("Hello Cole League,")
    assert "Hello Cole League," in rows[invited].body_html
    assert rows["nameless@demo-rewards.example"].body_text.startswith("Hello there,")
