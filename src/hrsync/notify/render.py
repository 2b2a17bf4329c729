"""Turning an e-mail kind and its facts into a multipart message.

Every message has a plain-text and an HTML part rendered from ``templates/<kind>.txt`` and
``templates/<kind>.html``, and a subject from ``templates/<kind>.subject.txt``. The HTML
environment autoescapes (member names come from an HR system and are not trusted); the text one
does not, because escaping would show ``&amp;`` to people reading plain text.

Dates are shown in the programme's (or integration's) date format, the same setting the import
uses, so a British programme never reads 04/05 as April the 5th.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from hrsync.domain.wording import possessive

KINDS = (
    "invitation",
    "run_summary",
    "run_failed",
    "run_held",
    "leaver_reminder",
    "password_reset",
    "admin_invite",
    "integration_quarantined",
    "scim_summary",
)

DATE_FORMATS = {"DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y", "YYYY-MM-DD": "%Y-%m-%d"}
DEFAULT_DATE_FORMAT = "DD/MM/YYYY"


def format_date(value: date | datetime | None, date_format: str | None = None) -> str:
    """A date as people of this programme write it; unknown formats fall back to the default."""
    if value is None:
        return ""
    pattern = DATE_FORMATS.get(date_format or DEFAULT_DATE_FORMAT, DATE_FORMATS[DEFAULT_DATE_FORMAT])
    return value.strftime(pattern)


@pass_context
def _fdate(ctx: Context, value: date | datetime | None) -> str:
    return format_date(value, ctx.get("date_format"))


@pass_context
def _fdatetime(ctx: Context, value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{format_date(value, ctx.get('date_format'))} {value.strftime('%H:%M')}"


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("hrsync.notify", "templates"),
        autoescape=autoescape,  # noqa: S701 - off only for the plain-text parts; HTML autoescapes
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["fdate"] = _fdate
    env.filters["fdatetime"] = _fdatetime
    env.filters["possessive"] = possessive
    return env


@lru_cache(maxsize=1)
def _environments() -> tuple[Environment, Environment]:
    return _environment(False), _environment(True)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(kind: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Render one kind of e-mail. ``context`` must hold ``programme_name`` and what the kind uses.

    Missing values raise (StrictUndefined): a half-rendered e-mail is worse than none.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown e-mail kind {kind!r}")
    text_env, html_env = _environments()
    ctx = {"date_format": DEFAULT_DATE_FORMAT, **context}
    subject = " ".join(text_env.get_template(f"{kind}.subject.txt").render(ctx).split())
    text = text_env.get_template(f"{kind}.txt").render(ctx)
    html = html_env.get_template(f"{kind}.html").render({**ctx, "subject": subject})
    return RenderedEmail(subject=subject, text=text, html=html)


def render_subject(kind: str, context: Mapping[str, Any]) -> str:
    """Only the subject line of a kind of e-mail (for messages whose body is rendered later)."""
    if kind not in KINDS:
        raise ValueError(f"unknown e-mail kind {kind!r}")
    text_env, _ = _environments()
    return " ".join(text_env.get_template(f"{kind}.subject.txt").render({**context}).split())


def message_id_for(dedup_key: str, domain: str = "hrsync.localhost") -> str:
    """A Message-ID derived from the de-duplication key.

    If a sender dies between the server accepting a message and the row being marked sent, the
    retry carries the same Message-ID, so mail systems that de-duplicate on it drop the copy.
    """
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(
    *,
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    dedup_key: str | None = None,
    date_value: datetime | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A ``multipart/alternative`` message (text first, so clients prefer HTML when they can)."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id_for(dedup_key) if dedup_key else make_msgid(domain="hrsync.localhost")
    if date_value is not None:
        msg["Date"] = format_datetime(date_value)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg
