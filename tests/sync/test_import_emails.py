"""E-mails an import causes, received by a real SMTP server (aiosmtpd): exactly one invitation per
new member across repeated sends, none for updates, dry runs, held runs or unpublished
integrations, and a summary with the right counts after each run."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from hrsync.notify.catcher import MailCatcher

if TYPE_CHECKING:
    from conftest import Install

OWNER = "owner@acme.test"


def _kinds(mail: MailCatcher) -> Counter[str]:
    return Counter(str(m.message.get("X-Hrsync-Kind")) for m in mail.messages)


def _summary_counts(text: str) -> dict[str, int]:
    found = re.findall(r"^[ \t]+([A-Za-z() -]+):[ \t]+(\d+)[ \t\r]*$", text, re.M)
    return {label.strip().lower(): int(value) for label, value in found}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_invitations_and_summaries_follow_the_rules(install: Install, mail: MailCatcher) -> None:
    integration = install.setup_integration(publish=False)
    dry = install.cli_json("import", str(integration), "--dry-run")  # the wizard's preview, before publishing
    assert dry["created"] > 0
    install.cli_json("outbox", "send")
    assert mail.messages == []  # an unpublished integration and a dry run send nothing

    install.cli_json("integration", "publish", str(integration))
    first = install.cli_json("import", str(integration))
    kinds = _kinds(mail)
    assert kinds["invitation"] == first["created"] > 0  # pre-hires wait for their start date
    assert kinds["run_summary"] == 1
    invited = {m.recipients[0] for m in mail.messages if m.message.get("X-Hrsync-Kind") == "invitation"}
    assert len(invited) == first["created"]
    members = install.members()
    assert invited == {m["email"] for m in members.values() if m["status"] == "invited"}
    [summary] = [m for m in mail.messages if m.message.get("X-Hrsync-Kind") == "run_summary"]
    assert summary.recipients == (OWNER,)
    counts = _summary_counts(summary.text())
    assert counts, summary.text()
    assert counts["created"] == first["created"] and counts["unchanged"] == 0
    assert f"Errors:   {first['errors']}" in summary.text()
    assert f"Warnings: {first['warnings']}" in summary.text()
    invitation = next(m for m in mail.messages if m.message.get("X-Hrsync-Kind") == "invitation")
    assert re.search(r"/welcome/[A-Za-z0-9_-]{20,}", invitation.text()), invitation.text()

    # a restarted sender, twice: nothing goes out again
    install.cli_json("outbox", "send")
    install.cli_json("outbox", "send")
    assert _kinds(mail) == kinds

    # an update: a summary, no invitation
    person = next(p for p in install.sim.directory.people() if p["employeeNumber"] in members
                  and members[p["employeeNumber"]]["status"] == "invited")
    install.sim.directory.change(person["id"], firstName="Renamed")
    second = install.cli_json("import", str(integration))
    assert second["updated"] == 1 and second["created"] == 0
    after = _kinds(mail)
    assert after["invitation"] == kinds["invitation"] and after["run_summary"] == 2
    latest = [m for m in mail.messages if m.message.get("X-Hrsync-Kind") == "run_summary"][-1]
    assert _summary_counts(latest.text())["updated"] == 1

    # a held run: the held notice, and no invitation for the newcomer it would create
    d = install.sim.directory
    d.hire(first_name="Held", last_name="Newcomer", email="held.newcomer@acme.test", employee_number="HELD-1")
    for p in [p for p in d.people() if p["employeeNumber"] in members
              and members[p["employeeNumber"]]["status"] == "invited"][:20]:
        d.terminate(p["id"])
    held = install.cli_json("import", str(integration), expect=1)
    assert held["status"] == "held"
    held_kinds = _kinds(mail)
    assert held_kinds["run_held"] == 1 and held_kinds["invitation"] == kinds["invitation"]
    assert not any("held.newcomer@acme.test" in m.recipients for m in mail.messages)
