"""The transactional outbox, queueing half: e-mails are queued with the change that causes them.

``queue_*`` run **inside the caller's transaction** (the sync runner's, the close-down job's) and
only insert rows. If that transaction rolls back, no e-mail exists; if it commits, the e-mail will
be sent even if the process dies a second later. :mod:`hrsync.notify.delivery` sends them
afterwards, outside any caller transaction.

Exactly-once, as far as SMTP allows: every row has a unique ``dedup_key`` and is inserted with
``INSERT ... ON CONFLICT DO NOTHING``, so a retried import or a second close-down pass cannot
queue a message twice.

An invitation is queued without a body: its single-use link is made and the message rendered when
it is sent (:mod:`hrsync.notify.send_checks`), so a working link never waits in the database.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hrsync.domain.display import display_name, given_name
from hrsync.domain.vocabulary import MemberStatus, programme_today, programme_zone
from hrsync.notify import links
from hrsync.notify.render import render_email, render_subject
from hrsync.notify.run_emails import failed_run_action, run_email, source_name
from hrsync.store.enums import AdminRole
from hrsync.store.models import (
    AdminUser,
    AuthToken,
    ImportRun,
    Integration,
    Member,
    OutboxEmail,
    OutboxStatus,
    Programme,
)
from hrsync.store.tokens import ADMIN_INVITE_TTL, TokenPurpose, hash_token, issue_token
from hrsync.store.types import utcnow

INVITATION_HOUR = 8  # a pre-hire's invitation goes out at 08:00 on the start date, programme time

#: The body of a queued invitation: the real one, with a fresh single-use link, is rendered when
#: the message is sent, so a working link never waits in the database.
INVITATION_RENDERED_AT_SEND = ""

#: The e-mails that carry a single-use link, by kind.
MEMBER_LINK_KINDS = ("invitation", "password_reset")

def _insert_ignore(session: Session, values: dict[str, Any]) -> OutboxEmail | None:
    """Insert an outbox row unless its ``dedup_key`` exists; return the new row or ``None``.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint: it is atomic against a concurrent sender
    of the same key (PostgreSQL waits for the other transaction, then skips) and never poisons
    the caller's transaction with an ``IntegrityError``. The row comes back from the INSERT's own
    ``RETURNING`` (no second statement: every run queues one of these; issue 27).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(OutboxEmail).on_conflict_do_nothing(index_elements=["dedup_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(OutboxEmail).on_conflict_do_nothing(index_elements=["dedup_key"])
    else:  # pragma: no cover - only the two supported engines
        raise RuntimeError(f"unsupported database {dialect}")
    session.flush()  # earlier ORM changes first: the row may reference a member created just now
    row: OutboxEmail | None = session.scalars(stmt.values(**values).returning(OutboxEmail)).first()
    return row


def queue_email(
    session: Session,
    *,
    programme_id: int,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    dedup_key: str,
    send_after: datetime | None = None,
    member_id: int | None = None,
    run_id: int | None = None,
) -> OutboxEmail | None:
    """Queue one message; ``None`` when a message with this ``dedup_key`` already exists.

    Choose a ``dedup_key`` that names the *reason* for the message (``run:12:run_summary``), not
    the moment, so a retry of the same work finds the first row.
    """
    if not to or "\n" in to or "\r" in to:
        raise ValueError("an outbox e-mail needs one recipient address")
    return _insert_ignore(
        session,
        {
            "programme_id": programme_id,
            "run_id": run_id,
            "member_id": member_id,
            "kind": kind,
            "to_address": to.strip(),
            "subject": subject[:500],
            "body_text": text,
            "body_html": html,
            "dedup_key": dedup_key,
            "status": OutboxStatus.QUEUED.value,
            "attempts": 0,
            "send_after": send_after,
            "created_at": utcnow(),
        },
    )


def queue_rendered(
    session: Session,
    kind: str,
    context: dict[str, Any],
    *,
    programme_id: int,
    to: str,
    dedup_key: str,
    member_id: int | None = None,
    run_id: int | None = None,
) -> OutboxEmail | None:
    """Render one kind of e-mail from its templates and queue it (see :func:`queue_email`)."""
    rendered = render_email(kind, context)
    return queue_email(
        session,
        programme_id=programme_id,
        kind=kind,
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        dedup_key=dedup_key,
        member_id=member_id,
        run_id=run_id,
    )


def invitation_send_after(start_date: date, programme: Programme) -> datetime:
    """When a pre-hire's invitation becomes due: 08:00 on the start date, programme time, as UTC."""
    local = datetime.combine(start_date, time(INVITATION_HOUR), tzinfo=programme_zone(programme.timezone))
    return local.astimezone(ZoneInfo("UTC"))


def date_format_for(session: Session, programme: Programme, integration_id: int | None) -> str:
    """The date format a member's e-mails use: their integration's, else the programme's."""
    if integration_id is not None:
        integration = session.get(Integration, integration_id)
        if integration is not None and integration.date_format:
            return integration.date_format
    return programme.date_format


def queue_invitation(
    session: Session,
    member: Member,
    programme: Programme,
    *,
    send_after: datetime | None = None,
    resend: bool = False,
    now: datetime | None = None,
) -> OutboxEmail | None:
    """Queue a member's invitation; its single-use link is made when the message is sent.

    Returns ``None`` when the member already has an invitation, so a retried import never
    invites twice; ``resend=True`` (an administrator's "invite again") makes a new one unless
    one is still waiting to go out. A member whose start date is still ahead gets an invitation
    that waits for it (unless ``send_after`` says otherwise).

    Callers decide *whether* to invite (welcome e-mails on, integration live, not a dry run or
    a held run); this function only makes sure it happens once.
    """
    if not member.email or member.status == MemberStatus.DELETED:
        return None
    now = now or utcnow()
    if member.id is None:
        session.flush()
    existing = session.execute(
        select(OutboxEmail.status).where(OutboxEmail.member_id == member.id, OutboxEmail.kind == "invitation")
    ).scalars().all()
    if existing and not resend:
        return None
    if any(s in (OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value) for s in existing):
        return None
    if send_after is None and member.start_date is not None and member.start_date > programme_today(
        programme.timezone, now
    ):
        send_after = invitation_send_after(member.start_date, programme)
    row = queue_email(
        session,
        programme_id=programme.id,
        kind="invitation",
        to=member.email,
        subject=_invitation_subject(programme),
        text=INVITATION_RENDERED_AT_SEND,
        html=None,
        dedup_key=f"invitation:{member.id}:{len(existing) + 1}",
        send_after=send_after,
        member_id=member.id,
    )
    if row is not None:
        member.invited_at = max(send_after or now, now)
    return row


def queue_invitations(
    session: Session, members: list[tuple[int, str, date | None]], programme: Programme, *, now: datetime | None = None
) -> int:
    """Queue first invitations for many new members at once: ``(member id, e-mail, start date)``.

    The import's fast path (100,000 new members in one transaction): one bulk insert, no token and
    no rendering, both of which happen when each message is sent. Members who already have an
    invitation are skipped by its de-duplication key. Returns how many were queued.
    """
    if not members:
        return 0
    now = now or utcnow()
    today = programme_today(programme.timezone, now)
    subject = _invitation_subject(programme)
    rows = [
        {
            "programme_id": programme.id, "run_id": None, "member_id": member_id, "kind": "invitation",
            "to_address": email.strip(), "subject": subject, "body_text": INVITATION_RENDERED_AT_SEND,
            "body_html": None, "dedup_key": f"invitation:{member_id}:1", "status": OutboxStatus.QUEUED.value,
            "attempts": 0,
            "send_after": invitation_send_after(start, programme) if start is not None and start > today else None,
            "created_at": now,
        }
        for member_id, email, start in members
        if email
    ]
    dialect = session.get_bind().dialect.name
    insert_stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(OutboxEmail)
    result = session.execute(insert_stmt.on_conflict_do_nothing(index_elements=["dedup_key"]), rows)
    return int(getattr(result, "rowcount", len(rows)) or 0)


def prehire_invitations(session: Session, programme_id: int) -> tuple[int, date | None]:
    """Pre-hires whose invitation is scheduled for their start date: (how many, the first date).

    They have no outbox row yet: the daily close-down job queues each invitation when the start
    date comes (:func:`hrsync.lifecycle.closedown.start_prehire`), for members with an e-mail
    address whose integration sends welcome e-mails.
    """
    count, first = session.execute(
        select(func.count(Member.id), func.min(Member.start_date))
        .join(Integration, Integration.id == Member.integration_id)
        .where(Member.programme_id == programme_id, Member.status == MemberStatus.PENDING.value,
               Member.start_date.is_not(None), Member.email.is_not(None), Integration.welcome_email.is_(True))
    ).one()
    return int(count or 0), first


def _invitation_subject(programme: Programme) -> str:
    return render_subject("invitation", {"programme_name": programme.name})


def queue_run_summary(session: Session, run: ImportRun) -> OutboxEmail | None:
    """Queue the e-mail that follows a run, chosen by its status (summary, failed or held).

    Dry runs and runs that are not finished (queued, running) or were decided by a person
    (rejected, expired) send nothing. One e-mail per run, kind *and recipient*: a held run that is
    later approved and applied gets the held notice and then the summary, each once. The
    recipients are :func:`hrsync.notify.run_emails.run_summary_recipients` (the administrator who
    set the integration up, or the programme's owners); the first queued row is returned.
    """
    email = run_email(session, run)
    if email is None:
        return None
    first: OutboxEmail | None = None
    for n, to in enumerate(email.to):
        # the first recipient keeps the key a run's e-mail always had; further ones add their id
        key = f"run:{run.id}:{email.kind}" + (f":admin{to.admin_id}" if n else "")
        row = queue_rendered(session, email.kind, email.context, programme_id=email.programme_id,
                             to=to.email, dedup_key=key, run_id=run.id)
        first = first or row
    return first


def quarantine_recipients(session: Session, programme_id: int) -> list[AdminUser]:
    """Who hears that an integration was quarantined: every active owner and administrator of the
    programme (read-only administrators cannot fix it), each address once."""
    admins = session.scalars(
        select(AdminUser)
        .where(AdminUser.programme_id == programme_id, AdminUser.is_active.is_(True),
               AdminUser.role.in_([AdminRole.OWNER.value, AdminRole.ADMINISTRATOR.value]))
        .order_by(AdminUser.email_lower, AdminUser.id)
    )
    seen: set[str] = set()
    found = []
    for admin in admins:
        key = (admin.email or "").strip().lower()
        if key and key not in seen:
            seen.add(key)
            found.append(admin)
    return found


def queue_quarantine_notice(session: Session, integration: Integration, run: ImportRun, failures: int) -> int:
    """One e-mail to each :func:`quarantine_recipients` saying ``integration`` was quarantined by ``run``.

    The key names the quarantine (the run that caused it), so finishing that run twice queues nothing
    more, while a later quarantine of the same integration (after it was lifted) e-mails again.
    Returns how many were queued.
    """
    programme = session.get(Programme, integration.programme_id)
    if programme is None:
        return 0
    source = source_name(integration)
    when = integration.quarantined_at or utcnow()
    context = {
        "programme_name": programme.name,
        "date_format": integration.date_format or programme.date_format,
        "integration_name": source,
        "failures": failures,
        "reason": run.reason or "The import failed.",
        "action": failed_run_action(run.failure_code, source),
        "quarantined_on": when.astimezone(programme_zone(programme.timezone)).date(),
        "link": links.absolute(f"/integrations/{integration.id}"),
    }
    queued = 0
    for admin in quarantine_recipients(session, integration.programme_id):
        row = queue_rendered(session, "integration_quarantined", context, programme_id=programme.id,
                             to=admin.email, dedup_key=f"quarantine:{integration.id}:run{run.id}:admin{admin.id}",
                             run_id=run.id)
        queued += row is not None
    return queued


def queue_leaver_reminder(
    session: Session, member: Member, programme: Programme, *, day: int, today: date
) -> OutboxEmail | None:
    """Queue the close-down reminder for window day ``day`` (once per member and day)."""
    if not member.email or member.access_until is None or member.leaver_since is None:
        return None
    last_day = member.access_until - timedelta(days=1)
    context = {
        "programme_name": programme.name,
        "date_format": date_format_for(session, programme, member.integration_id),
        "first_name": given_name(member.first_name, (member.attributes or {}).get("preferred_name")),
        "last_day": last_day,
        "days_left": max((member.access_until - today).days, 0),
        "link": links.member_home_url(),
    }
    return queue_rendered(
        session, "leaver_reminder", context, programme_id=programme.id, to=member.email,
        # The leaver period is part of the key: a member reinstated and later leaving again
        # starts a new window with its own reminders.
        dedup_key=f"leaver_reminder:{member.id}:{member.leaver_since.isoformat()}:day{day}",
        member_id=member.id,
    )


def queue_admin_invite(
    session: Session,
    admin: AdminUser,
    programme: Programme,
    *,
    invited_by: str | None = None,
    now: datetime | None = None,
) -> OutboxEmail | None:
    """Invite an administrator to set a password.

    Each call makes a new link (an "invite again" button); older links stay valid until used or expired.
    """
    now = now or utcnow()
    if admin.id is None:
        session.flush()
    raw, token = issue_token(
        session, TokenPurpose.ADMIN_INVITE, expires_at=now + ADMIN_INVITE_TTL, admin_id=admin.id
    )
    session.flush()
    context = {
        "programme_name": programme.name,
        "date_format": programme.date_format,
        "invited_by": invited_by,
        "name": display_name(admin.name),
        "link": links.admin_accept_invite_url(raw),
        "expires_on": (now + ADMIN_INVITE_TTL).astimezone(programme_zone(programme.timezone)).date(),
    }
    return queue_rendered(
        session, "admin_invite", context, programme_id=programme.id, to=admin.email,
        dedup_key=f"admin_invite:{admin.id}:{token.id}",
    )


def forget_member_emails(session: Session, member_id: int, *, reason: str = "member deleted") -> int:
    """Scrub a deleted member's e-mails: unsent ones are cancelled, all lose address and content.

    The rows stay (kind, status and dates) so the outbox history and counts stay true.
    """
    cancelled = session.execute(
        update(OutboxEmail)
        .where(
            OutboxEmail.member_id == member_id,
            OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value]),
        )
        .values(status=OutboxStatus.FAILED.value, last_error=f"cancelled: {reason}")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.member_id == member_id)
        .values(to_address="", subject="(deleted)", body_text="", body_html=None)
        .execution_options(synchronize_session=False)
    )
    return int(cancelled)


#: Why an undo cancels the invitations of the members it takes back (shown on the E-mails page).
UNDONE_REASON = "the import that invited them was undone"
#: How a cancelled row's ``last_error`` starts: a cancellation is a decision, not a delivery failure.
CANCELLED_PREFIX = "cancelled: "


def cancelled_reason(status: str | None, last_error: str | None) -> str | None:
    """Why a row was cancelled ("the import that invited them was undone"), or None when it was not."""
    if status == OutboxStatus.FAILED.value and last_error and last_error.startswith(CANCELLED_PREFIX):
        return last_error[len(CANCELLED_PREFIX):]
    return None


def cancel_invitations(session: Session, member_ids: list[int], *, reason: str) -> int:
    """Cancel the unsent invitations of these members (an undo took them back); returns how many."""
    if not member_ids:
        return 0
    cancelled = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.member_id.in_(member_ids), OutboxEmail.kind == "invitation",
               OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value]))
        .values(status=OutboxStatus.FAILED.value, next_attempt_at=None, last_error=f"{CANCELLED_PREFIX}{reason}")
        .returning(OutboxEmail.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    retire_links(session, list(cancelled))
    return len(cancelled)


def cancel_link_emails(
    session: Session, *, member_id: int | None = None, admin_id: int | None = None, reason: str
) -> int:
    """Cancel a member's or an administrator's unsent e-mails that carry a sign-in link.

    For when their links die (a password change): the messages would only deliver dead links. A
    message a sender holds right now is cancelled too; the sender's claim no longer owns it, so it
    is not sent unless it is already on the wire. Returns how many were cancelled.
    """
    if member_id is not None:
        which: Any = and_(OutboxEmail.member_id == member_id, OutboxEmail.kind.in_(MEMBER_LINK_KINDS))
    elif admin_id is not None:
        which = or_(
            OutboxEmail.dedup_key.like(f"password_reset:admin:{int(admin_id)}:%"),
            OutboxEmail.dedup_key.like(f"admin_invite:{int(admin_id)}:%"),
        )
    else:
        raise ValueError("cancel_link_emails needs a member_id or an admin_id")
    cancelled = session.execute(
        update(OutboxEmail)
        .where(which, OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value]))
        .values(status=OutboxStatus.FAILED.value, next_attempt_at=None, last_error=f"cancelled: {reason}")
        .returning(OutboxEmail.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    retire_links(session, list(cancelled))
    return len(cancelled)


def retire_links(session: Session, row_ids: list[int], *, now: datetime | None = None) -> int:
    """Failed-for-good rows keep no usable link: the links' tokens die and the stored copy is redacted.

    Nobody received these messages, so nobody needs their links; a stored body that kept a working
    link would hand the account to whoever reads the table (or a backup) in the 7 days before the
    row is cleaned up. Returns how many tokens were revoked.
    """
    now = now or utcnow()
    revoked = 0
    for start in range(0, len(row_ids), 500):
        rows = session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(row_ids[start:start + 500]))).all()
        hashes = {hash_token(raw) for row in rows for body in (row.body_text, row.body_html)
                  for raw in links.token_values(body)}
        if hashes:
            revoked += int(session.execute(
                update(AuthToken)
                .where(AuthToken.token_hash.in_(sorted(hashes)), AuthToken.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount)  # type: ignore[attr-defined]
        for row in rows:
            row.body_text = links.redact_token_links(row.body_text) or ""
            row.body_html = links.redact_token_links(row.body_html)
    session.flush()
    return revoked
