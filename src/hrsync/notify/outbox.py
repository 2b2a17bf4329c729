"""The transactional outbox: queue e-mails with the change that causes them, send them afterwards.

Two halves with different rules:

* ``queue_*`` run **inside the caller's transaction** (the sync runner's, the close-down job's)
  and only insert rows. If that transaction rolls back, no e-mail exists; if it commits, the
  e-mail will be sent even if the process dies a second later.
* :func:`send_due` runs **outside** any caller transaction. It claims due rows, talks SMTP, and
  records each outcome in its own short transaction, so a slow mail server never holds a lock
  on members or runs.

Exactly-once, as far as SMTP allows: every row has a unique ``dedup_key`` and is inserted with
``INSERT ... ON CONFLICT DO NOTHING``, so a retried import or a second close-down pass cannot
queue a message twice; a row is claimed by one sender only (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, a single conditional ``UPDATE`` on SQLite) and never sent again once marked sent.
A claim is a lease fenced by a ``claim_token``: just before each message the sender renews its
lease with ``UPDATE ... WHERE id = :id AND claim_token = :mine`` and does not send a row it lost,
and every other write of the sender is conditional the same way. So a slow mail server makes two
senders send one message only if a single SMTP exchange outlives the whole lease (the SMTP socket
timeout is capped at a quarter of it). The remaining gap SMTP leaves - the server accepted the
message and the sender died before recording it - is narrowed by a Message-ID derived from the
de-duplication key, so the retry is recognisable.

Link e-mails are checked when they are sent: an invitation is addressed to the member's current
address and only sent while the member is still ``invited``; a member's password reset whose
address is no longer the member's is cancelled.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import get_settings
from hrsync.lifecycle.tokens import (
    ADMIN_INVITE_TTL,
    INVITATION_TTL,
    TokenPurpose,
    hash_token,
    issue_token,
)
from hrsync.notify import links
from hrsync.notify.render import build_message, format_date, render_email, render_subject
from hrsync.notify.smtp import SmtpConnection, SmtpDeliveryError, SmtpUrlError, parse_smtp_url
from hrsync.store.models import (
    AdminUser,
    AuthToken,
    ImportRun,
    Integration,
    Member,
    OutboxEmail,
    OutboxStatus,
    Programme,
    RunStatus,
    email_key,
)
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # message-specific temporary failures before a row is given up as ``failed``
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
CONNECTION_BACKOFF_CAP = timedelta(minutes=15)  # server down: keep trying, never give up
SENDING_LEASE = timedelta(minutes=10)  # a claim older than this belongs to a dead sender
CLAIM_CHUNK = 50
INVITATION_HOUR = 8  # a pre-hire's invitation goes out at 08:00 on the start date, programme time


# --------------------------------------------------------------------------------------------
# queueing (inside the caller's transaction)
# --------------------------------------------------------------------------------------------


def _insert_ignore(session: Session, values: dict[str, Any]) -> int | None:
    """Insert an outbox row unless its ``dedup_key`` exists; return the new id or ``None``.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint: it is atomic against a concurrent sender
    of the same key (PostgreSQL waits for the other transaction, then skips) and never poisons
    the caller's transaction with an ``IntegrityError``.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(OutboxEmail).on_conflict_do_nothing(index_elements=["dedup_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(OutboxEmail).on_conflict_do_nothing(index_elements=["dedup_key"])
    else:  # pragma: no cover - only the two supported engines
        raise RuntimeError(f"unsupported database {dialect}")
    session.flush()  # earlier ORM changes first: the row may reference a member created just now
    new_id = session.execute(stmt.values(**values).returning(OutboxEmail.id)).scalar()
    return int(new_id) if new_id is not None else None


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
    new_id = _insert_ignore(
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
    if new_id is None:
        return None
    return session.get(OutboxEmail, new_id)


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


def programme_zone(programme: Programme) -> ZoneInfo:
    try:
        return ZoneInfo(programme.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def programme_today(programme: Programme, now: datetime | None = None) -> date:
    """Today's date where the programme is (leaver days and start dates are local dates)."""
    return (now or utcnow()).astimezone(programme_zone(programme)).date()


def invitation_send_after(start_date: date, programme: Programme) -> datetime:
    """When a pre-hire's invitation becomes due: 08:00 on the start date, programme time, as UTC."""
    local = datetime.combine(start_date, time(INVITATION_HOUR), tzinfo=programme_zone(programme))
    return local.astimezone(ZoneInfo("UTC"))


def _date_format_for(session: Session, programme: Programme, integration_id: int | None) -> str:
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
    if not member.email or member.status == "deleted":
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
        programme, now
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
    today = programme_today(programme, now)
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


#: The body of a queued invitation: the real one, with a fresh single-use link, is rendered when
#: the message is sent, so a working link never waits in the database.
INVITATION_RENDERED_AT_SEND = ""


def _invitation_subject(programme: Programme) -> str:
    return render_subject("invitation", {"programme_name": programme.name})


class _Cancelled(Exception):
    """The message must not go out any more; the text says why (it becomes the row's ``last_error``)."""


#: The one member status an invitation is still sent to. A member who has set a password since
#: (``active``), become a leaver or been deleted gets no invitation and no new link.
INVITABLE_STATUS = "invited"


def _render_invitation_now(session: Session, row: OutboxEmail, now: datetime) -> tuple[str, str, str]:
    """Address the invitation, make its single-use link and render it (at send time).

    Runs in the sender's transaction that holds the row, so the member's status and address are
    read in the same transaction that makes the link: the message goes to the member's address of
    now (an import may have corrected it since the row was queued), and the row's ``to_address``
    says so. Returns ``(to, text, html)``; raises :class:`_Cancelled` when the member is no longer
    waiting for an invitation.
    """
    member = session.get(Member, row.member_id) if row.member_id is not None else None
    programme = session.get(Programme, row.programme_id)
    if member is None or programme is None or member.status == "deleted":
        raise _Cancelled("the member no longer exists")
    if member.status != INVITABLE_STATUS or member.password_hash:
        raise _Cancelled(f"the member is no longer waiting for an invitation (now {member.status})")
    if not member.email:
        raise _Cancelled("the member has no e-mail address")
    expires_at = now + INVITATION_TTL
    raw = secrets.token_urlsafe(32)  # lives only in the message; the database keeps its hash
    rendered = render_email(
        "invitation",
        {
            "programme_name": programme.name,
            "date_format": _date_format_for(session, programme, member.integration_id),
            "first_name": member.first_name,
            "link": links.member_set_password_url(raw),
            "expires_on": expires_at.astimezone(programme_zone(programme)).date(),
        },
    )
    session.add(
        AuthToken(
            purpose=TokenPurpose.INVITATION.value,
            token_hash=hash_token(raw),
            member_id=member.id,
            expires_at=expires_at,
        )
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
    if member is None or member.status == "deleted":
        raise _Cancelled("the member no longer exists")
    if email_key(member.email) != email_key(row.to_address):
        raise _Cancelled("the member's e-mail address changed after the reset was requested")


_FAILED_ACTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("authori", "api key", "401", "403", "notauthenticated", "forbidden", "credential", "revoked"),
        "Re-authorize the integration: open it, choose Authorize, and enter a new intelliHR API key "
        "(intelliHR → Settings → Public API Access Keys). Then run Import data now.",
    ),
    (
        ("tenant", "subdomain"),
        "Check the tenant subdomain in the integration's Authorize step (https://<tenant>.intellihr.net), "
        "then run Import data now.",
    ),
    (
        ("mapping", "map "),
        "Open the integration's mapping, fix the field named above, publish again, then run Import data now.",
    ),
    (
        ("unreachable", "timed out", "timeout", "connect", "503", "429", "rate limit", "unavailable"),
        "intelliHR could not be reached. This is usually temporary: the next scheduled import will try "
        "again, or run Import data now later.",
    ),
)
_DEFAULT_FAILED_ACTION = (
    "Open the import for the details and run Import data now once the cause is fixed. "
    "If it keeps failing, contact support with the link below."
)


def failed_run_action(reason: str | None) -> str:
    """What an administrator should do about a failed run, from the run's reason."""
    text = (reason or "").lower()
    for needles, action in _FAILED_ACTIONS:
        if any(n in text for n in needles):
            return action
    return _DEFAULT_FAILED_ACTION


_OUTCOMES = (
    ("created", "Created"),
    ("updated", "Updated"),
    ("unchanged", "Unchanged"),
    ("leavers", "Leavers"),
    ("reinstated", "Reinstated"),
    ("pending", "Pre-hires (pending)"),
)
_AFFECTING = ("created", "updated", "leavers", "reinstated", "pending")
_KIND_BY_STATUS = {
    RunStatus.SUCCEEDED.value: "run_summary",
    RunStatus.SUCCEEDED_WITH_ERRORS.value: "run_summary",
    RunStatus.FAILED.value: "run_failed",
    RunStatus.HELD.value: "run_held",
}


def run_summary_recipient(session: Session, run: ImportRun) -> AdminUser | None:
    """The integration's owner (who set it up); the administrator who started the run otherwise."""
    integration = session.get(Integration, run.integration_id)
    for admin_id in (integration.owner_id if integration else None, run.triggered_by_id):
        if admin_id is None:
            continue
        admin = session.get(AdminUser, admin_id)
        if admin is not None and admin.is_active and admin.email:
            return admin
    return None


def queue_run_summary(session: Session, run: ImportRun) -> OutboxEmail | None:
    """Queue the e-mail that follows a run, chosen by its status (summary, failed or held).

    Dry runs and runs that are not finished (queued, running) or were decided by a person
    (rejected, expired) send nothing. One e-mail per run *and kind*: a held run that is later
    approved and applied gets the held notice and then the summary, each once.
    """
    kind = _KIND_BY_STATUS.get(run.status)
    if kind is None or run.dry_run:
        return None
    admin = run_summary_recipient(session, run)
    if admin is None:
        log.warning("run %s: no administrator to tell about it", run.id)
        return None
    programme = session.get(Programme, run.programme_id)
    integration = session.get(Integration, run.integration_id)
    if programme is None or integration is None:
        return None
    outcomes = [(label, int(getattr(run, attr) or 0)) for attr, label in _OUTCOMES]
    affected = sum(int(getattr(run, a) or 0) for a in _AFFECTING)
    finished = run.finished_at or run.created_at
    zone = programme_zone(programme)
    context = {
        "programme_name": programme.name,
        "date_format": integration.date_format or programme.date_format,
        "integration_name": "intelliHR" if integration.kind == "intellihr" else integration.kind,
        "outcomes": outcomes,
        "affected": affected,
        "errors": int(run.errors or 0),
        "warnings": int(run.warnings or 0),
        "link": links.run_url(integration.id, run.id),
        "finished_at": finished.astimezone(zone).date() if finished else None,
        "reason": run.reason
        or ("The import was stopped." if kind == "run_failed" else "A safeguard tripped."),
        "action": failed_run_action(run.reason),
    }
    return queue_rendered(
        session, kind, context, programme_id=programme.id, to=admin.email,
        dedup_key=f"run:{run.id}:{kind}", run_id=run.id,
    )


def queue_leaver_reminder(
    session: Session, member: Member, programme: Programme, *, day: int, today: date
) -> OutboxEmail | None:
    """Queue the close-down reminder for window day ``day`` (once per member and day)."""
    if not member.email or member.access_until is None or member.leaver_since is None:
        return None
    last_day = member.access_until - timedelta(days=1)
    context = {
        "programme_name": programme.name,
        "date_format": _date_format_for(session, programme, member.integration_id),
        "first_name": member.first_name,
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
        "link": links.admin_accept_invite_url(raw),
        "expires_on": (now + ADMIN_INVITE_TTL).astimezone(programme_zone(programme)).date(),
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


#: The e-mails that carry a single-use link, by kind.
MEMBER_LINK_KINDS = ("invitation", "password_reset")


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
    result = session.execute(
        update(OutboxEmail)
        .where(which, OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value]))
        .values(status=OutboxStatus.FAILED.value, next_attempt_at=None, last_error=f"cancelled: {reason}")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# sending (outside any caller transaction)
# --------------------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one :func:`send_due` pass did. ``skipped`` says why nothing was attempted.

    ``lost`` counts claimed rows this pass did not send because another sender took them over
    (this pass's lease had lapsed) or they were cancelled meanwhile; ``cancelled`` counts rows
    this pass cancelled instead of sending (also counted in ``failed``).
    """

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    lost: int = 0
    still_queued: int = 0
    skipped: str | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backoff_delay(attempts: int, *, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """Exponential back-off: 1, 2, 4, 8 ... minutes after the 1st, 2nd, 3rd, 4th failed attempt."""
    exponent = max(attempts - 1, 0)
    if exponent > 20:
        return cap
    delay: timedelta = min(BACKOFF_BASE * (2**exponent), cap)
    return delay


def _due(now: datetime) -> Any:
    queued_due = and_(
        OutboxEmail.status == OutboxStatus.QUEUED.value,
        or_(OutboxEmail.send_after.is_(None), OutboxEmail.send_after <= now),
        or_(OutboxEmail.next_attempt_at.is_(None), OutboxEmail.next_attempt_at <= now),
    )
    abandoned = and_(OutboxEmail.status == OutboxStatus.SENDING.value, OutboxEmail.next_attempt_at <= now)
    return or_(queued_due, abandoned)


def _owned(row_id: int, claim_token: str) -> Any:
    """The row is still ours: in ``sending`` under the token our claim wrote.

    Another sender that re-claimed the row after our lease lapsed wrote its own token; a
    cancellation moved it out of ``sending``. Either way every later write of ours matches nothing.
    """
    return and_(
        OutboxEmail.id == row_id,
        OutboxEmail.claim_token == claim_token,
        OutboxEmail.status == OutboxStatus.SENDING.value,
    )


def _claim(session: Session, now: datetime, limit: int, claim_token: str, lease: timedelta) -> list[int]:
    """Mark up to ``limit`` due rows as ours, in one statement; return their ids.

    A single ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) AND <still due>``:
    on PostgreSQL concurrent senders skip each other's rows instead of waiting; on SQLite (where
    ``FOR UPDATE`` is not rendered) the statement takes the write lock up front, and the repeated
    due-condition makes a row claimed in between drop out. The claim is a lease: a sender that
    dies leaves rows in ``sending`` whose ``next_attempt_at`` lapses, and another sender takes them.
    The lease is fenced by ``claim_token``: the sender that lost a row can no longer write to it
    (see :func:`_owned`), and it re-checks ownership before sending each message.
    """
    candidates = (
        select(OutboxEmail.id)
        .where(_due(now))
        .order_by(OutboxEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id.in_(candidates.scalar_subquery()), _due(now))
        .values(status=OutboxStatus.SENDING.value, next_attempt_at=now + lease, claim_token=claim_token)
        .returning(OutboxEmail.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(int(i) for i in result.scalars().all())


def _renew(session: Session, row_id: int, claim_token: str, now: datetime, lease: timedelta) -> bool:
    """Re-check that the row is still ours and renew its lease, in one conditional ``UPDATE``.

    On success the statement also holds the row for the rest of the transaction (a row lock on
    PostgreSQL, the write lock on SQLite), so whatever else the transaction writes to the row is
    still written by its owner.
    """
    result = session.execute(
        update(OutboxEmail)
        .where(_owned(row_id, claim_token))
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Outgoing:
    to: str
    subject: str
    text: str
    html: str | None
    dedup_key: str
    kind: str
    programme_id: int


def _take(
    factory: sessionmaker[Session], row_id: int, claim_token: str, now: datetime, lease: timedelta,
    report: SendReport,
) -> _Outgoing | None:
    """Just before sending: confirm ownership, renew the lease, and get the message to send.

    One transaction: the conditional renewal, then (for an invitation) the member's current
    address and a fresh link, or (for a password reset) the check that the address still holds.
    ``None`` means do not send: the row was lost to another sender or cancelled here. A
    :class:`ValueError` from rendering propagates (the transaction is rolled back).
    """
    with factory.begin() as s:
        if not _renew(s, row_id, claim_token, now, lease):
            report.lost += 1
            log.info("outbox: message %s was taken over by another sender; not sending it", row_id)
            return None
        row = s.get(OutboxEmail, row_id)
        assert row is not None  # we hold it
        to, text, html = row.to_address, row.body_text, row.body_html
        try:
            if row.kind == "invitation" and text == INVITATION_RENDERED_AT_SEND:
                # committed before sending: the link must work once the member has it
                to, text, html = _render_invitation_now(s, row, now)
            elif row.kind == "password_reset":
                _check_reset_recipient(s, row)
        except _Cancelled as exc:
            row.status = OutboxStatus.FAILED.value
            row.next_attempt_at = None
            row.claim_token = None
            row.last_error = f"cancelled: {exc}"
            report.failed += 1
            report.cancelled += 1
            log.info("outbox: message %s cancelled: %s", row_id, exc)
            return None
        return _Outgoing(to, row.subject, text, html, row.dedup_key, row.kind, row.programme_id)


def _release(
    factory: sessionmaker[Session], row_id: int, claim_token: str, now: datetime, error: SmtpDeliveryError,
    report: SendReport,
) -> None:
    """Record a failed attempt: back off and retry, or give up when retrying cannot help.

    Only while the row is still ours: a sender whose lease lapsed leaves the row to its new owner.
    """
    with factory.begin() as s:
        attempts = s.execute(
            update(OutboxEmail)
            .where(_owned(row_id, claim_token))
            .values(attempts=OutboxEmail.attempts + 1, last_error=error.reason[:1000])
            .returning(OutboxEmail.attempts)
            .execution_options(synchronize_session=False)
        ).scalar()
        if attempts is None:
            report.lost += 1
            return
        give_up = error.permanent or (not error.connection and attempts >= MAX_ATTEMPTS)
        if give_up:
            values: dict[str, Any] = {"status": OutboxStatus.FAILED.value, "next_attempt_at": None}
            report.failed += 1
        else:
            cap = CONNECTION_BACKOFF_CAP if error.connection else BACKOFF_CAP
            values = {"status": OutboxStatus.QUEUED.value, "next_attempt_at": now + backoff_delay(attempts, cap=cap)}
            report.retrying += 1
        # the conditional UPDATE above holds the row until this transaction ends
        s.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == row_id)
            .values(claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )


def _mark_sent(
    factory: sessionmaker[Session], row_id: int, claim_token: str, sent_at: datetime, report: SendReport
) -> None:
    report.sent += 1  # the server has it, whatever the row says next
    with factory.begin() as s:
        result = s.execute(
            update(OutboxEmail)
            .where(_owned(row_id, claim_token))
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=sent_at,
                attempts=OutboxEmail.attempts + 1,
                next_attempt_at=None,
                last_error=None,
                claim_token=None,
            )
            .execution_options(synchronize_session=False)
        )
        if int(result.rowcount) != 1:  # type: ignore[attr-defined]
            # The SMTP transaction outlived the lease and another sender took the row over.
            log.warning("outbox: message %s was delivered after its lease lapsed; its new owner records it", row_id)
            return
        row = s.get(OutboxEmail, row_id)
        if row is not None:
            # The stored copy must not keep a working single-use link once the member has it.
            row.body_text = links.redact_token_links(row.body_text) or ""
            row.body_html = links.redact_token_links(row.body_html)


#: The SMTP socket timeout is at most this fraction of the lease, so a message can only be sent twice
#: if one SMTP exchange stalls on several steps in a row for longer than the whole lease.
SMTP_TIMEOUT_SHARE_OF_LEASE = 0.25


def send_due(
    factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    smtp_url: str | None = None,
    limit: int = 500,
    mail_from: str | None = None,
    lease: timedelta = SENDING_LEASE,
) -> SendReport:
    """Deliver what is due, up to ``limit`` messages; never raises for mail trouble.

    No SMTP configured: nothing is claimed, rows stay queued, ``skipped`` says why. Server down:
    the claimed rows go back to the queue with a back-off and the pass stops (the next message
    would fail the same way). Several ``send_due`` may run at once, in threads or processes: a
    claimed row is leased for ``lease``; before each message the sender renews the lease if the row
    is still its own and skips it otherwise, so a slow server cannot make two senders send it.
    """
    settings = get_settings()
    report = SendReport()
    fixed_now = now
    url = smtp_url if smtp_url is not None else settings.smtp_url
    if not url:
        report.skipped = "SMTP is not configured (set HRSYNC_SMTP_URL)"
        report.still_queued = _count_due(factory, fixed_now or utcnow())
        return report
    try:
        config = parse_smtp_url(url)
    except SmtpUrlError as exc:
        report.skipped = f"HRSYNC_SMTP_URL is invalid: {exc}"
        report.still_queued = _count_due(factory, fixed_now or utcnow())
        return report
    if lease <= timedelta(0):
        raise ValueError("the sending lease must be positive")
    max_timeout = lease.total_seconds() * SMTP_TIMEOUT_SHARE_OF_LEASE
    if config.timeout > max_timeout:
        config = replace(config, timeout=max_timeout)
    sender = mail_from or settings.mail_from
    conn = SmtpConnection(config)
    try:
        while report.claimed < limit:
            claim_at = fixed_now or utcnow()
            claim_token = secrets.token_hex(16)  # one per claim: a later claim of ours is a new lease
            with factory.begin() as s:
                ids = _claim(s, claim_at, min(CLAIM_CHUNK, limit - report.claimed), claim_token, lease)
            if not ids:
                break
            report.claimed += len(ids)
            stopped = _deliver_chunk(factory, conn, ids, claim_token, lease, sender, fixed_now, report)
            if stopped:
                break
    finally:
        conn.close()
    report.still_queued = _count_due(factory, fixed_now or utcnow())
    return report


def _deliver_chunk(
    factory: sessionmaker[Session],
    conn: SmtpConnection,
    ids: list[int],
    claim_token: str,
    lease: timedelta,
    sender: str,
    fixed_now: datetime | None,
    report: SendReport,
) -> bool:
    """Send the claimed rows; return True when the server is unreachable and the pass must stop."""
    for index, row_id in enumerate(ids):
        try:
            outgoing = _take(factory, row_id, claim_token, fixed_now or utcnow(), lease, report)
        except ValueError as exc:
            _release(factory, row_id, claim_token, fixed_now or utcnow(),
                     SmtpDeliveryError(f"message cannot be built: {exc}", permanent=True), report)
            continue
        if outgoing is None:
            continue
        try:
            message = build_message(
                mail_from=sender,
                to=outgoing.to,
                subject=outgoing.subject,
                text=outgoing.text,
                html=outgoing.html,
                dedup_key=outgoing.dedup_key,
                date_value=fixed_now or utcnow(),
                headers={"X-Hrsync-Kind": outgoing.kind, "X-Hrsync-Programme": str(outgoing.programme_id)},
            )
        except (ValueError, TypeError) as exc:  # a malformed address or header: retrying cannot help
            bad = SmtpDeliveryError(f"message cannot be built: {exc}", permanent=True)
            _release(factory, row_id, claim_token, fixed_now or utcnow(), bad, report)
            continue
        try:
            if not conn.is_open:
                conn.open()
            conn.send(message)
        except SmtpDeliveryError as exc:
            report.last_error = exc.reason
            now = fixed_now or utcnow()
            _release(factory, row_id, claim_token, now, exc, report)
            if exc.connection:
                for rest in ids[index + 1 :]:
                    _release(factory, rest, claim_token, now, exc, report)
                log.warning("outbox: %s; %d message(s) left queued", exc.reason, len(ids) - index)
                return True
            log.warning("outbox: message %s not delivered: %s", row_id, exc.reason)
            continue
        _mark_sent(factory, row_id, claim_token, fixed_now or utcnow(), report)
    return False


def _count_due(factory: sessionmaker[Session], now: datetime) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxEmail).where(_due(now))) or 0)


def outbox_backlog(
    session: Session, *, programme_id: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """What is waiting, for the portal and metrics.

    ``by_status`` counts every row; ``due_now`` is what a sender would take at once; ``waiting``
    are queued rows not yet due (pre-hire invitations, back-offs); ``oldest_due_at`` shows how long
    mail has been stuck and ``last_error`` why.
    """
    now = now or utcnow()

    def scoped(stmt: Any) -> Any:
        return stmt.where(OutboxEmail.programme_id == programme_id) if programme_id is not None else stmt

    by_status = {s.value: 0 for s in OutboxStatus}
    for status, count in session.execute(
        scoped(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status))
    ).all():
        by_status[str(status)] = int(count)
    due_now = int(session.scalar(scoped(select(func.count()).select_from(OutboxEmail).where(_due(now)))) or 0)
    oldest_due = session.scalar(scoped(select(func.min(OutboxEmail.created_at)).where(_due(now))))
    next_at = session.scalar(
        scoped(
            select(func.min(func.coalesce(OutboxEmail.next_attempt_at, OutboxEmail.send_after))).where(
                OutboxEmail.status == OutboxStatus.QUEUED.value, ~_due(now)
            )
        )
    )
    last_error = session.scalar(
        scoped(
            select(OutboxEmail.last_error)
            .where(
                OutboxEmail.last_error.is_not(None),
                OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.FAILED.value]),
            )
            .order_by(OutboxEmail.id.desc())
            .limit(1)
        )
    )
    return {
        "by_status": by_status,
        "due_now": due_now,
        "waiting": by_status[OutboxStatus.QUEUED.value] - min(due_now, by_status[OutboxStatus.QUEUED.value]),
        "oldest_due_at": oldest_due.isoformat() if oldest_due else None,
        "next_attempt_at": _iso(next_at),
        "last_error": last_error,
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands an aggregate back as text
        return value
    return str(value.isoformat())


__all__ = [
    "MAX_ATTEMPTS",
    "SendReport",
    "backoff_delay",
    "cancel_link_emails",
    "failed_run_action",
    "forget_member_emails",
    "format_date",
    "invitation_send_after",
    "outbox_backlog",
    "programme_today",
    "queue_admin_invite",
    "queue_email",
    "queue_invitation",
    "queue_leaver_reminder",
    "queue_run_summary",
    "send_due",
]
