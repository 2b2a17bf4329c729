"""Single-use, expiring links (invitation, password reset, admin invite).

Purposes, lifetimes, hashing and issuing are the token table's primitives
(:mod:`hrsync.store.tokens`, re-exported here); this module finds, consumes and revokes links.

Consuming is a conditional ``UPDATE ... WHERE used_at IS NULL``: two browser tabs submitting the
same link at once cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from hrsync.store.models import AuthToken
from hrsync.store.tokens import (
    ADMIN_INVITE_TTL,
    INVITATION_TTL,
    PASSWORD_RESET_TTL,
    TokenPurpose,
    hash_token,
    issue_token,
)
from hrsync.store.types import IN_CHUNK, utcnow

#: The links that open a member's account (a password change or a change of address ends them).
MEMBER_LINK_PURPOSES = (TokenPurpose.INVITATION, TokenPurpose.MEMBER_PASSWORD_RESET)

def _purposes(purpose: TokenPurpose | str | Iterable[TokenPurpose | str]) -> list[str]:
    if isinstance(purpose, str):
        return [str(purpose)]
    return [str(p) for p in purpose]


def _usable(token_hash: str, purpose: TokenPurpose | str | Iterable[TokenPurpose | str], now: datetime) -> Any:
    """The one definition of a usable link: this hash, one of these purposes, unused, unexpired."""
    return and_(
        AuthToken.token_hash == token_hash,
        AuthToken.purpose.in_(_purposes(purpose)),
        AuthToken.used_at.is_(None),
        AuthToken.expires_at > now,
    )


def find_token(
    session: Session,
    raw_token: str,
    purpose: TokenPurpose | str | Iterable[TokenPurpose | str],
    *,
    now: datetime | None = None,
) -> AuthToken | None:
    """The token if it is valid right now, without using it up (for showing the form)."""
    if not raw_token:
        return None
    now = now or utcnow()
    return session.scalar(select(AuthToken).where(_usable(hash_token(raw_token), purpose, now)))


def consume_token(
    session: Session,
    raw_token: str,
    purpose: TokenPurpose | str | Iterable[TokenPurpose | str],
    *,
    now: datetime | None = None,
) -> AuthToken | None:
    """Use a token up: returns it once if valid, ``None`` for unknown, used, expired or other-purpose."""
    if not raw_token:
        return None
    now = now or utcnow()
    token_hash = hash_token(raw_token)
    result = session.execute(
        update(AuthToken)
        .where(_usable(token_hash, purpose, now))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash))
    if token is not None:
        session.refresh(token)
    return token


def revoke_tokens(
    session: Session,
    *,
    member_id: int | None = None,
    admin_id: int | None = None,
    purposes: Iterable[TokenPurpose | str] | None = None,
    now: datetime | None = None,
) -> int:
    """Mark every unused token of a member or admin as used (after a password change or deletion)."""
    if member_id is None and admin_id is None:
        raise ValueError("revoke_tokens needs a member_id or an admin_id")
    stmt = update(AuthToken).where(AuthToken.used_at.is_(None))
    if member_id is not None:
        stmt = stmt.where(AuthToken.member_id == member_id)
    if admin_id is not None:
        stmt = stmt.where(AuthToken.admin_id == admin_id)
    if purposes is not None:
        stmt = stmt.where(AuthToken.purpose.in_([str(p) for p in purposes]))
    stmt = stmt.values(used_at=now or utcnow()).execution_options(synchronize_session=False)
    result = session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]




def revoke_member_links(
    session: Session, member_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, set[TokenPurpose]]:
    """Revoke every open invitation and password-reset link of these members (many at once).

    Returns, per member that had any, the purposes of the links that were still usable.
    """
    now = now or utcnow()
    ids = list(member_ids)
    revoked: dict[int, set[TokenPurpose]] = {}
    for i in range(0, len(ids), IN_CHUNK):
        rows = session.execute(
            update(AuthToken)
            .where(
                AuthToken.member_id.in_(ids[i:i + IN_CHUNK]),
                AuthToken.purpose.in_([p.value for p in MEMBER_LINK_PURPOSES]),
                AuthToken.used_at.is_(None),
                AuthToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(AuthToken.member_id, AuthToken.purpose)
            .execution_options(synchronize_session=False)
        )
        for member_id, purpose in rows:
            if member_id is not None:
                revoked.setdefault(member_id, set()).add(TokenPurpose(purpose))
    return revoked


__all__ = [
    "ADMIN_INVITE_TTL",
    "INVITATION_TTL",
    "MEMBER_LINK_PURPOSES",
    "PASSWORD_RESET_TTL",
    "TokenPurpose",
    "consume_token",
    "find_token",
    "hash_token",
    "issue_token",
    "revoke_member_links",
    "revoke_tokens",
]
