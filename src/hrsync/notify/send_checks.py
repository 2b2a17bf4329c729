"""Link e-mails are checked when they are sent, not when they were queued.

An invitation is addressed to the member's current address, gets its fresh single-use link and is
rendered only now, and only while the member is still ``invited``; a member's password reset whose
address is no longer the member's is cancelled. :func:`prepare` runs in the sender's transaction
that holds the row (:mod:`hrsync.notify.delivery`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hrsync.domain.display import given_name
from hrsync.domain.vocabulary import MemberStatus, email_key, programme_zone
from hrsync.notify import links
from hrsync.notify.outbox import INVITATION_RENDERED_AT_SEND, date_format_for
from hrsync.notify.render import render_email
from hrsync.store.models import Member, OutboxEmail, Programme
from hrsync.store.tokens import INVITATION_TTL, TokenPurpose, issue_token


class Cancelled(Exception):
    """The message must not go out any more; the text says why (it becomes the row's ``last_error``)."""


#: The one member status an invitation is still sent to. A member who has set a password since
#: (``active``), become a leaver or been deleted gets no invitation and no new link.
INVITABLE_STATUS = MemberStatus.INVITED


def prepare(session: Session, row: OutboxEmail, now: datetime) -> tuple[str, str, str | None]:
    """The message to send for a held row, checked now: ``(to, text, html)``.

    An invitation queued without a body is rendered with a new link (committed with the row, so
    the link works once the member has it); a password reset is checked against the member's
    address. Raises :class:`Cancelled` when the message must not go out.
    """
    if row.kind == "invitation" and row.body_text == INVITATION_RENDERED_AT_SEND:
        return _render_invitation_now(session, row, now)
    if row.kind == "password_reset":
        _check_reset_recipient(session, row)
    return row.to_address, row.body_text, row.body_html


def _render_invitation_now(session: Session, row: OutboxEmail, now: datetime) -> tuple[str, str, str]:
    """Address the invitation, make its single-use link and render it (at send time).

    Runs in the sender's transaction that holds the row, so the member's status and address are
    read in the same transaction that makes the link: the message goes to the member's address of
    now (an import may have corrected it since the row was queued), and the row's ``to_address``
    says so. Returns ``(to, text, html)``; raises :class:`Cancelled` when the member is no longer
    waiting for an invitation.
    """
    member = session.get(Member, row.member_id) if row.member_id is not None else None
    programme = session.get(Programme, row.programme_id)
    if member is None or programme is None or member.status == MemberStatus.DELETED:
        raise Cancelled("the member no longer exists")
    if member.status != INVITABLE_STATUS or member.password_hash:
        raise Cancelled(f"the member is no longer waiting for an invitation (now {member.status})")
    if not member.email:
        raise Cancelled("the member has no e-mail address")
    expires_at = now + INVITATION_TTL
    # the raw token lives only in the message; the database keeps its hash
    raw, _ = issue_token(session, TokenPurpose.INVITATION, expires_at=expires_at, member_id=member.id)
    rendered = render_email(
        "invitation",
        {
            "programme_name": programme.name,
            "date_format": date_format_for(session, programme, member.integration_id),
            "first_name": given_name(member.first_name, (member.attributes or {}).get("preferred_name")),
            "link": links.member_set_password_url(raw),
            "expires_on": expires_at.astimezone(programme_zone(programme.timezone)).date(),
        },
    )
    row.to_address = member.email.strip()
    return row.to_address, rendered.text, rendered.html


def _check_reset_recipient(session: Session, row: OutboxEmail) -> None:
    """A member's queued password reset goes only to the address the member still has.

    The link was made for the member's address when the reset was requested; once the address
    changed (an import corrected it) the link is revoked and the message is cancelled, not sent.
    An administrator's reset (no member) is left alone.
    """
    if row.member_id is None and not row.dedup_key.startswith("password_reset:member:"):
        return
    member = session.get(Member, row.member_id) if row.member_id is not None else None
    if member is None or member.status == MemberStatus.DELETED:
        raise Cancelled("the member no longer exists")
    if email_key(member.email) != email_key(row.to_address):
        raise Cancelled("the member's e-mail address changed after the reset was requested")
