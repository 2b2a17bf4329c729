"""Server-side portal sessions for administrators and members (issue 14).

A signed-in browser holds a random id (``secrets.token_urlsafe(32)``, 256 bits) in its cookie;
the ``portal_session`` row keeps only the id's SHA-256, who it belongs to, the session's small
data (CSRF token, flash messages) and its clock: ``last_seen_at`` (the idle timeout counts from
it; written at most once a minute) and ``expires_at`` (the absolute limit). Ending the row ends
the session at once, in every process: signing out, a password change, "sign out everywhere"
and an administrator's deactivation all come down to :func:`end_sessions_for_admin`,
:func:`end_sessions_for_member` or :func:`end_session`.

Every function takes ``now`` so the portal's injectable clock (and the tests) decide the time.
A database dump reveals no usable session: the ids are random and only their hashes are stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from hrsync.config import Settings, get_settings
from hrsync.store.enums import SessionKind
from hrsync.store.models import PortalSession
from hrsync.store.types import utcnow

__all__ = [
    "LAST_SEEN_RESOLUTION",
    "LiveSession",
    "SessionPolicy",
    "end_session",
    "end_sessions_for_admin",
    "end_sessions_for_member",
    "hash_session_id",
    "load_sessions",
    "policy",
    "purge_sessions",
    "start_session",
    "touch_session",
]

LAST_SEEN_RESOLUTION = timedelta(minutes=1)  # last_seen_at is written at most this often
PURGE_AFTER = timedelta(days=1)  # ended or expired rows are kept this long (who signed out, why), then deleted
PURGE_BATCH = 5000

# ended_reason values
SIGNED_OUT = "signed_out"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
DEACTIVATED = "deactivated"
IDLE = "idle"
EXPIRED = "expired"
CLOSED = "closed"  # a member whose access ended (close-down)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def policy(kind: SessionKind | str, settings: Settings | None = None) -> SessionPolicy:
    """How long a session of this kind lasts idle and at most (operator settings)."""
    settings = settings or get_settings()
    idle_minutes = (settings.admin_session_idle_minutes if SessionKind(kind) == SessionKind.ADMIN
                    else settings.member_session_idle_minutes)
    return SessionPolicy(idle=timedelta(minutes=idle_minutes), absolute=timedelta(hours=settings.session_max_hours))


def hash_session_id(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    """A live session as read at the start of a request (plain values: usable after the DB session closed)."""

    id: int
    kind: SessionKind
    admin_id: int | None
    member_id: int | None
    data: dict[str, Any]
    last_seen_at: datetime


def _live(row: PortalSession) -> LiveSession:
    return LiveSession(id=row.id, kind=SessionKind(row.kind), admin_id=row.admin_id, member_id=row.member_id,
                       data=dict(row.data) if isinstance(row.data, dict) else {}, last_seen_at=row.last_seen_at)


def start_session(
    session: Session,
    kind: SessionKind,
    *,
    admin_id: int | None = None,
    member_id: int | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[str, LiveSession]:
    """A new session (always a new id: sign-in never keeps an earlier one). Returns the raw id for the
    cookie and the session. The person's own rows that ended or expired over a day ago are purged on the
    way (cheap: by index)."""
    if (kind == SessionKind.ADMIN) != (admin_id is not None) or (kind == SessionKind.MEMBER) != (member_id is not None):
        raise ValueError("an admin session needs admin_id, a member session member_id")
    now = now or utcnow()
    owner = PortalSession.admin_id == admin_id if admin_id is not None else PortalSession.member_id == member_id
    session.execute(
        delete(PortalSession)
        .where(owner, or_(PortalSession.ended_at < now - PURGE_AFTER, PortalSession.expires_at < now - PURGE_AFTER))
        .execution_options(synchronize_session=False)
    )
    raw = secrets.token_urlsafe(32)
    row = PortalSession(
        token_hash=hash_session_id(raw), kind=kind.value, admin_id=admin_id, member_id=member_id,
        data=dict(data or {}), created_at=now, last_seen_at=now, expires_at=now + policy(kind).absolute,
        client_address=(client_address or None) and client_address[:64],
        user_agent=(user_agent or None) and user_agent[:200],
    )
    session.add(row)
    session.flush()
    return raw, _live(row)


def load_sessions(
    session: Session, raws: dict[SessionKind, str], *, now: datetime | None = None
) -> dict[SessionKind, LiveSession]:
    """The live sessions behind the cookies ``raws`` (kind → raw id), in one query.

    A row past its idle or absolute limit is ended here (``idle``/``expired``) and left out; an
    unknown id, an ended row or a row of the other kind is simply left out.
    """
    now = now or utcnow()
    wanted = {hash_session_id(raw): kind for kind, raw in raws.items() if raw}
    if not wanted:
        return {}
    found: dict[SessionKind, LiveSession] = {}
    rows = session.scalars(select(PortalSession).where(PortalSession.token_hash.in_(list(wanted)))).all()
    for row in rows:
        kind = wanted[row.token_hash]
        if row.kind != kind.value or row.ended_at is not None:
            continue
        if row.expires_at <= now:
            _end_rows(session, [row.id], EXPIRED, now)
        elif now - row.last_seen_at >= policy(kind).idle:
            _end_rows(session, [row.id], IDLE, now)
        else:
            found[kind] = _live(row)
    return found


def touch_session(
    session: Session, live: LiveSession, *, now: datetime | None = None, data: dict[str, Any] | None = None
) -> bool:
    """Write the session's data (when given) and ``last_seen_at`` (when a minute has passed).

    Never revives an ended row. Returns whether anything was written."""
    now = now or utcnow()
    values: dict[str, Any] = {}
    if data is not None:
        values["data"] = data
    if now - live.last_seen_at >= LAST_SEEN_RESOLUTION:
        values["last_seen_at"] = now
    if not values:
        return False
    session.execute(
        update(PortalSession)
        .where(PortalSession.id == live.id, PortalSession.ended_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return True


def _end_rows(session: Session, ids: Sequence[int], reason: str, now: datetime) -> int:
    if not ids:
        return 0
    result = session.execute(
        update(PortalSession)
        .where(PortalSession.id.in_(list(ids)), PortalSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason[:32])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_session(session: Session, session_id: int, reason: str, *, now: datetime | None = None) -> bool:
    """End one session (signing out); ``False`` when it had already ended."""
    return _end_rows(session, [session_id], reason, now or utcnow()) == 1


def _end_all(session: Session, owner: Any, reason: str, now: datetime | None) -> int:
    result = session.execute(
        update(PortalSession)
        .where(owner, PortalSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), ended_reason=reason[:32])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions_for_admin(session: Session, admin_id: int, reason: str, *, now: datetime | None = None) -> int:
    """End every open session of this administrator (sign out everywhere, password change,
    deactivation). Returns how many were open."""
    return _end_all(session, PortalSession.admin_id == admin_id, reason, now)


def end_sessions_for_member(session: Session, member_id: int, reason: str, *, now: datetime | None = None) -> int:
    """End every open session of this member (sign out everywhere, password change, closed account)."""
    return _end_all(session, PortalSession.member_id == member_id, reason, now)


def purge_sessions(session: Session, *, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the rows that ended or expired more than a day ago, ``batch`` at a time (the periodic
    loop's daily pass calls it; sign-in also purges the person's own). Returns how many went."""
    now = now or utcnow()
    cutoff = now - PURGE_AFTER
    deleted = 0
    while True:
        ids = list(session.scalars(
            select(PortalSession.id)
            .where(or_(PortalSession.ended_at < cutoff, PortalSession.expires_at < cutoff))
            .limit(batch)
        ))
        if ids:
            session.execute(delete(PortalSession).where(PortalSession.id.in_(ids))
                            .execution_options(synchronize_session=False))
            deleted += len(ids)
        if len(ids) < batch:
            return deleted
