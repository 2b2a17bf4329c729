"""The transactional outbox, sending half: deliver what is due, outside any caller transaction.

:func:`send_due` claims due rows, talks SMTP, and records each outcome in its own short
transaction, so a slow mail server never holds a lock on members or runs.

A row is claimed by one sender only (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a single
conditional ``UPDATE`` on SQLite) and never sent again once marked sent. A claim is a lease fenced
by a ``claim_token``: just before each message the sender renews its lease with
``UPDATE ... WHERE id = :id AND claim_token = :mine`` and does not send a row it lost, and every
other write of the sender is conditional the same way. So a slow mail server makes two senders
send one message only if a single SMTP exchange outlives the whole lease (the SMTP socket timeout
is capped at a quarter of it). The remaining gap SMTP leaves - the server accepted the message and
the sender died before recording it - is narrowed by a Message-ID derived from the
de-duplication key, so the retry is recognisable.

Link e-mails are checked just before they are sent (:mod:`hrsync.notify.send_checks`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import get_settings
from hrsync.notify import links, send_checks
from hrsync.notify.outbox import CANCELLED_PREFIX, retire_links
from hrsync.notify.render import build_message
from hrsync.notify.smtp import SmtpConnection, SmtpDeliveryError, SmtpUrlError, parse_smtp_url
from hrsync.store.models import OutboxEmail, OutboxStatus
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # message-specific temporary failures before a row is given up as ``failed``
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
CONNECTION_BACKOFF_CAP = timedelta(minutes=15)  # server down: keep trying, never give up
SENDING_LEASE = timedelta(minutes=10)  # a claim older than this belongs to a dead sender
CLAIM_CHUNK = 50


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
        try:
            # an invitation's link is committed with this transaction, before sending: it must work
            # once the member has the message
            to, text, html = send_checks.prepare(s, row, now)
        except send_checks.Cancelled as exc:
            row.status = OutboxStatus.FAILED.value
            row.next_attempt_at = None
            row.claim_token = None
            row.last_error = f"cancelled: {exc}"
            retire_links(s, [row_id], now=now)
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
            retire_links(s, [row_id], now=now)  # never delivered: its links die, the stored copy keeps none
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
    cancelled = int(session.scalar(scoped(select(func.count()).select_from(OutboxEmail).where(
        OutboxEmail.status == OutboxStatus.FAILED.value, OutboxEmail.last_error.like(f"{CANCELLED_PREFIX}%")))) or 0)
    last_error = session.scalar(
        scoped(
            select(OutboxEmail.last_error)
            .where(
                OutboxEmail.last_error.is_not(None),
                ~OutboxEmail.last_error.like(f"{CANCELLED_PREFIX}%"),  # a cancellation is not a problem
                OutboxEmail.status.in_([OutboxStatus.QUEUED.value, OutboxStatus.FAILED.value]),
            )
            .order_by(OutboxEmail.id.desc())
            .limit(1)
        )
    )
    return {
        "by_status": by_status,
        "due_now": due_now,
        # cancelled on purpose (an undo, a changed address): counted apart from the real failures
        "cancelled": cancelled,
        "failed": by_status[OutboxStatus.FAILED.value] - cancelled,
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
