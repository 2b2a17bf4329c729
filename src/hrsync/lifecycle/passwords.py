"""Setting and resetting passwords through single-use e-mailed links (members and administrators).

These are the service functions behind the portal's "set your password" (invitation), "forgot
password" and "accept admin invitation" pages; the pages stay thin.

:func:`request_password_reset` behaves the same whether or not the address exists: it returns
nothing and the page always says "if that address has an account, we sent a link". It also
refuses to queue more than one reset per account every few minutes, so the form cannot be used
to flood someone's inbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.display import display_name, given_name
from hrsync.domain.vocabulary import MemberStatus, email_key, programme_zone
from hrsync.lifecycle.sessions import PASSWORD_CHANGED, end_sessions_for_admin, end_sessions_for_member
from hrsync.lifecycle.tokens import (
    MEMBER_LINK_PURPOSES,
    PASSWORD_RESET_TTL,
    TokenPurpose,
    consume_token,
    find_token,
    issue_token,
    revoke_tokens,
)
from hrsync.notify import links
from hrsync.notify.outbox import cancel_link_emails, queue_rendered
from hrsync.security.passwords import (  # the one password rule, re-exported for the pages
    MIN_PASSWORD_LENGTH,
    WeakPasswordError,
    check_password_policy,
    hash_password,
)
from hrsync.store.models import AdminUser, AuthToken, Member, MemberEvent, OutboxEmail, Programme
from hrsync.store.types import utcnow

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "WeakPasswordError",
    "check_new_password",
    "check_password_policy",
    "consume_token",
    "find_token",
    "link_holder",
    "password_context",
    "replace_password",
    "request_password_reset",
    "set_admin_password",
    "set_member_password",
]

RESET_THROTTLE = timedelta(minutes=5)
# Members who can sign in (or are about to): a pre-hire has not been invited, a tombstone is gone.
RESETTABLE_MEMBER_STATUSES = (MemberStatus.INVITED.value, MemberStatus.ACTIVE.value, MemberStatus.LEAVER.value)
ADMIN_LINK_PURPOSES = (TokenPurpose.ADMIN_INVITE, TokenPurpose.ADMIN_PASSWORD_RESET)


def password_context(session: Session, person: Member | AdminUser | None) -> tuple[str, ...]:
    """What ``person``'s password must not be built from: their names, e-mail address, employee ID and
    the programme's name (the context of :func:`check_password_policy`)."""
    if person is None:
        return ()
    programme = session.get(Programme, person.programme_id)
    parts: list[object] = [programme.name if programme else None, person.email]
    if isinstance(person, Member):
        parts += [person.first_name, person.last_name, (person.attributes or {}).get("preferred_name"),
                  person.employee_id]
    else:
        parts.append(person.name)
    return tuple(str(p) for p in parts if p)


def check_new_password(session: Session, password: str, person: Member | AdminUser | None) -> None:
    """:func:`check_password_policy` for ``person``: every page and command that sets a password calls this."""
    check_password_policy(password, context=password_context(session, person))


def link_holder(session: Session, raw_token: str, purposes: object) -> Member | AdminUser | None:
    """The member or administrator a still-valid link belongs to (nothing is used up)."""
    token = find_token(session, raw_token, purposes)  # type: ignore[arg-type]
    if token is None:
        return None
    if token.member_id is not None:
        return session.get(Member, token.member_id)
    return session.get(AdminUser, token.admin_id) if token.admin_id is not None else None


def _recently_requested(session: Session, *, to: str, kind: str, since: datetime) -> bool:
    return (
        session.scalar(
            select(OutboxEmail.id)
            .where(OutboxEmail.kind == kind, OutboxEmail.to_address == to, OutboxEmail.created_at >= since)
            .limit(1)
        )
        is not None
    )


def request_password_reset(
    session: Session,
    email: str,
    kind: Literal["member", "admin"] = "member",
    *,
    programme_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Queue a reset link to every account with this address (one per programme it belongs to).

    Always returns ``None``; unknown addresses, deleted members and throttled repeats are
    indistinguishable to the caller, by the answer and by the work done: an address without an
    account (or asked for again within minutes) goes through the same statements (a token issued
    and hashed, the e-mail rendered and written to the outbox) inside a savepoint that is then
    rolled back, so nothing is kept and nothing is sent.
    """
    now = now or utcnow()
    key = email_key(email or "")
    if not key or len(key) > 320:
        return
    if kind not in ("member", "admin"):
        raise ValueError("kind must be 'member' or 'admin'")
    queued = 0
    if kind == "member":
        stmt = select(Member).where(Member.email_lower == key, Member.status.in_(RESETTABLE_MEMBER_STATUSES))
        if programme_id is not None:
            stmt = stmt.where(Member.programme_id == programme_id)
        for member in session.scalars(stmt).all():
            programme = session.get(Programme, member.programme_id)
            if programme is None or not member.email:
                continue
            queued += 1
            _queue_reset(
                session,
                programme,
                to=member.email,
                first_name=given_name(member.first_name, (member.attributes or {}).get("preferred_name")),
                account=f"member:{member.id}",
                member_id=member.id,
                admin_id=None,
                now=now,
            )
    else:
        admin_stmt = select(AdminUser).where(AdminUser.email_lower == key, AdminUser.is_active.is_(True))
        if programme_id is not None:
            admin_stmt = admin_stmt.where(AdminUser.programme_id == programme_id)
        for admin in session.scalars(admin_stmt).all():
            programme = session.get(Programme, admin.programme_id)
            if programme is None:
                continue
            queued += 1
            _queue_reset(
                session,
                programme,
                to=admin.email,
                first_name=display_name(admin.name) or None,
                account=f"admin:{admin.id}",
                member_id=None,
                admin_id=admin.id,
                now=now,
            )
    if queued == 0:
        _decoy_reset(session, key, kind, programme_id=programme_id, now=now)


def _decoy_reset(
    session: Session, address: str, kind: Literal["member", "admin"], *, programme_id: int | None, now: datetime
) -> None:
    """The work of a reset for an address that has no account, none of it kept."""
    programme = session.scalar(
        select(Programme).where(Programme.id == programme_id) if programme_id is not None
        else select(Programme).order_by(Programme.id).limit(1)
    )
    if programme is None:  # an empty installation: there is no account to tell apart
        return
    _queue_reset(session, programme, to=address, first_name=None, account=f"{kind}:none", member_id=None,
                 admin_id=None, now=now, keep=False, purpose=(
                     TokenPurpose.MEMBER_PASSWORD_RESET if kind == "member" else TokenPurpose.ADMIN_PASSWORD_RESET))


def _queue_reset(
    session: Session,
    programme: Programme,
    *,
    to: str,
    first_name: str | None,
    account: str,
    member_id: int | None,
    admin_id: int | None,
    now: datetime,
    keep: bool = True,
    purpose: TokenPurpose | None = None,
) -> None:
    """Issue the link and queue the e-mail in a savepoint; roll it back unless ``keep`` (and no
    reset went to this address in the last few minutes), so every path does the same work."""
    if _recently_requested(session, to=to, kind="password_reset", since=now - RESET_THROTTLE):
        keep = False  # one reset per address every few minutes: the form cannot flood an inbox
    is_member = member_id is not None or purpose == TokenPurpose.MEMBER_PASSWORD_RESET
    purpose = purpose or (TokenPurpose.MEMBER_PASSWORD_RESET if is_member else TokenPurpose.ADMIN_PASSWORD_RESET)
    expires_at = now + PASSWORD_RESET_TTL
    savepoint = session.begin_nested()
    try:
        raw, token = issue_token(session, purpose, expires_at=expires_at, member_id=member_id, admin_id=admin_id)
        session.flush()
        link = links.member_reset_password_url(raw) if is_member else links.admin_reset_password_url(raw)
        context = {
            "programme_name": programme.name,
            "date_format": programme.date_format,
            "first_name": first_name,
            "link": link,
            "expires_at": expires_at.astimezone(programme_zone(programme.timezone)),
            "zone_name": programme_zone(programme.timezone).key,
        }
        queue_rendered(
            session, "password_reset", context, programme_id=programme.id, to=to,
            dedup_key=f"password_reset:{account}:{token.id}", member_id=member_id,
        )
    except BaseException:
        savepoint.rollback()
        raise
    if keep:
        savepoint.commit()
    else:
        savepoint.rollback()


def set_member_password(
    session: Session, raw_token: str, password: str, *, now: datetime | None = None
) -> Member | None:
    """Set a member's password from an invitation or reset link; ``None`` if the link is not valid.

    The policy is checked before the link is used up, so a too-short password does not cost the
    member their link. An invited member becomes active; every other open link of theirs dies.
    """
    check_new_password(session, password, link_holder(session, raw_token, MEMBER_LINK_PURPOSES))
    now = now or utcnow()
    token = consume_token(session, raw_token, MEMBER_LINK_PURPOSES, now=now)
    if token is None or token.member_id is None:
        return None
    member = session.get(Member, token.member_id)
    if member is None or member.status == MemberStatus.DELETED:
        return None
    replace_password(session, member, password, now=now)
    if member.status in (MemberStatus.INVITED, MemberStatus.PENDING):
        member.status = MemberStatus.ACTIVE.value
    session.add(
        MemberEvent(
            programme_id=member.programme_id,
            member_id=member.id,
            kind="password_set",
            changes={"via": token.purpose},
            actor="member",
            created_at=now,
        )
    )
    return member


def set_admin_password(
    session: Session, raw_token: str, password: str, *, now: datetime | None = None
) -> AdminUser | None:
    """Set an administrator's password from an admin invitation or reset link."""
    check_new_password(session, password, link_holder(session, raw_token, ADMIN_LINK_PURPOSES))
    now = now or utcnow()
    token: AuthToken | None = consume_token(session, raw_token, ADMIN_LINK_PURPOSES, now=now)
    if token is None or token.admin_id is None:
        return None
    admin = session.get(AdminUser, token.admin_id)
    if admin is None or not admin.is_active:
        return None
    replace_password(session, admin, password, now=now)
    return admin


def replace_password(
    session: Session, account: Member | AdminUser, password: str, *, now: datetime | None = None
) -> None:
    """Give a member or an administrator a new password: the one way a password changes.

    Whatever the path (a link, the signed-in "change password" page), every open invitation or
    reset link of the account dies with the old password, the link e-mails still waiting in the
    outbox are cancelled (their links would no longer work), and every portal session of the
    account ends (a page that changed it signs the person in again with a new one). The caller
    checks the policy and, where the path needs it, the current password.
    """
    now = now or utcnow()
    account.password_hash = hash_password(password)
    session.flush()
    if isinstance(account, Member):
        revoke_tokens(session, member_id=account.id, purposes=MEMBER_LINK_PURPOSES, now=now)
        cancel_link_emails(session, member_id=account.id, reason="the password was changed")
        end_sessions_for_member(session, account.id, PASSWORD_CHANGED, now=now)
    else:
        revoke_tokens(session, admin_id=account.id, purposes=ADMIN_LINK_PURPOSES, now=now)
        cancel_link_emails(session, admin_id=account.id, reason="the password was changed")
        end_sessions_for_admin(session, account.id, PASSWORD_CHANGED, now=now)
