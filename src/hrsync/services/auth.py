"""Signing in with an e-mail address and a password: one rule for administrators and members.

:func:`authenticate` checks the throttle, finds the accounts with that address, verifies the
password (upgrading an old hash on success) and records the attempt with the throttle. An
unknown address costs the same time as a wrong password, so a caller cannot tell them apart.
The throttle itself (how many failures lock what, for how long) is the caller's object, normally
the database-backed :class:`hrsync.services.throttle.SharedThrottle`; this module only decides
which keys an attempt counts against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.vocabulary import MemberStatus, email_key
from hrsync.security.passwords import verify_and_update, verify_password
from hrsync.store.models import AdminUser, Member

Who = Literal["admin", "member"]
MAX_PASSWORD_LENGTH = 1024  # longer input is cut before hashing (a hash of megabytes is a cheap attack)

# Members who may sign in: invited (first sign-in after setting a password), active, and leavers
# (until their access ends; the portal then shows only what a leaver may see).
SIGNABLE_STATUSES = (MemberStatus.INVITED.value, MemberStatus.ACTIVE.value, MemberStatus.LEAVER.value)


class Throttle(Protocol):
    """What :func:`authenticate` needs of a login throttle (``hrsync.services.throttle.SharedThrottle``)."""

    def locked(self, *keys: str) -> bool: ...

    def failure(self, *keys: str) -> None: ...

    def success(self, account_key: str) -> None: ...


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: the account, or why there is none (``locked`` or ``bad``)."""

    account: AdminUser | Member | None
    refused: Literal["locked", "bad"] | None = None


def account_key(email: str, who: Who = "admin") -> str:
    """The throttle key of an e-mail address: ``account:<admin|member>:<address>`` (administrators
    and members are counted apart)."""
    return f"account:{who}:{email.strip().lower()}"


def address_key(address: str | None) -> str:
    """The throttle key of a client address."""
    return "address:" + (address or "unknown")


def _candidates(session: Session, email: str, who: Who) -> list[AdminUser | Member]:
    key = email_key(email)
    if not key:
        return []
    if who == "admin":
        return list(session.scalars(
            select(AdminUser).where(AdminUser.email_lower == key, AdminUser.is_active.is_(True)).order_by(AdminUser.id)
        ))
    return list(session.scalars(
        select(Member)
        .where(Member.email_lower == key, Member.status.in_(SIGNABLE_STATUSES), Member.password_hash.is_not(None))
        .order_by(Member.id)
    ))


def _first_match(candidates: list[AdminUser | Member], password: str) -> AdminUser | Member | None:
    """The first account whose password matches (an address may have an account in several
    programmes); an old hash is upgraded in place."""
    if not candidates:
        verify_password(password, None)  # the same time as a real check
        return None
    for account in candidates:
        ok, new_hash = verify_and_update(password, account.password_hash)
        if ok:
            if new_hash:
                account.password_hash = new_hash
            return account
    return None


def authenticate(
    session: Session, email: str, password: str, *, who: Who, throttle: Throttle, address: str | None
) -> SignIn:
    """Check one sign-in attempt against the throttle and the stored password hashes."""
    password = password[:MAX_PASSWORD_LENGTH]
    keys = (account_key(email, who), address_key(address))
    if throttle.locked(*keys):
        verify_password(password, None)  # a locked account answers no faster than an open one
        return SignIn(None, "locked")
    account = _first_match(_candidates(session, email, who), password)
    if account is None:
        throttle.failure(*keys)
        return SignIn(None, "locked" if throttle.locked(*keys) else "bad")
    throttle.success(keys[0])
    return SignIn(account)


def check_current_password(
    account: AdminUser | Member, password: str, *, who: Who, throttle: Throttle, address: str | None
) -> Literal["ok", "bad", "locked"]:
    """A signed-in person's current password (before a change), throttled like signing in: the
    failures count against the same account and address keys, so a stolen session cannot guess
    the password any faster than the sign-in form allows (and a lock from either stops both)."""
    password = password[:MAX_PASSWORD_LENGTH]
    keys = (account_key(account.email or "", who), address_key(address))
    if throttle.locked(*keys):
        verify_password(password, None)
        return "locked"
    if not verify_password(password, account.password_hash):
        throttle.failure(*keys)
        return "locked" if throttle.locked(*keys) else "bad"
    throttle.success(keys[0])
    return "ok"
