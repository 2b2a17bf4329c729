"""Templates: every kind is multipart, carries the programme's name, and escapes only its HTML."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hrsync.notify.render import KINDS, build_message, format_date, render_email

BASE = {
    "programme_name": "Acme <Perks> & Co",
    "first_name": "<b>Zoë</b>",
    "link": "http://portal.test/x",
    "expires_on": date(2025, 4, 5),
    "expires_at": datetime(2025, 4, 5, 14, 30, tzinfo=UTC),
    "zone_name": "UTC",
    "integration_name": "intelliHR",
    "integration_label": "intelliHR (acme)",
    "run_number": 3,
    "outcomes": [("Created", 2), ("Updated", 1)],
    "affected": 3,
    "errors": 1,
    "warnings": 2,
    "finished_at": date(2025, 4, 5),
    "reason": "The API key was rejected",
    "action": "Re-authorize",
    "last_day": date(2025, 4, 5),
    "days_left": 7,
    "invited_by": "Olivia",
    "name": "<b>Zoë</b> Admin",
    "failures": 3,
    "quarantined_on": date(2025, 4, 5),
    "since": datetime(2025, 4, 4, 9, 0, tzinfo=UTC),  # the SCIM summary's period
    "until": datetime(2025, 4, 5, 9, 0, tzinfo=UTC),
    "timezone": "UTC",
    "lines": [("Created", 2), ("Refused requests", 1)],
    "changed": 2,
    "refused": 1,
    "held": 0,
    "held_link": None,
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_text_and_html_with_the_programme_name(kind: str) -> None:
    email = render_email(kind, BASE)
    assert "Acme <Perks> & Co" in email.subject
    assert "Acme <Perks> & Co" in email.text  # plain text: not escaped
    assert "Acme &lt;Perks&gt; &amp; Co" in email.html  # HTML: escaped
    assert "<b>Zoë</b>" not in email.html
    assert "\n" not in email.subject


def test_dates_follow_the_programme_format() -> None:
    assert format_date(date(2025, 4, 5), "DD/MM/YYYY") == "05/04/2025"
    assert format_date(date(2025, 4, 5), "MM/DD/YYYY") == "04/05/2025"
    assert format_date(date(2025, 4, 5), "YYYY-MM-DD") == "2025-04-05"
    us = render_email("leaver_reminder", {**BASE, "date_format": "MM/DD/YYYY"})
    assert "04/05/2025" in us.subject and "04/05/2025" in us.text


def test_missing_fact_refuses_to_render() -> None:
    with pytest.raises(Exception, match="link"):
        render_email("invitation", {"programme_name": "Acme", "first_name": "A", "expires_on": date.today()})


def test_built_message_is_multipart_alternative_with_stable_message_id() -> None:
    email = render_email("invitation", BASE)
    kwargs = {
        "mail_from": "hrsync <no-reply@x.test>",
        "to": "a@b.test",
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
        "dedup_key": "invitation:1:1",
    }
    first, again = build_message(**kwargs), build_message(**kwargs)  # type: ignore[arg-type]
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert first["Message-ID"] == again["Message-ID"]
    other = build_message(**{**kwargs, "dedup_key": "invitation:1:2"})  # type: ignore[arg-type]
    assert other["Message-ID"] != first["Message-ID"]
