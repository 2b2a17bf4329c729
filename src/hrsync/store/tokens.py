"""The link-token table's primitives: purposes, lifetimes, hashing and issuing a token.

Only a SHA-256 of the token is stored. A token is 256 random bits, so a fast hash is enough (a
slow password hash would buy nothing against guessing and would make look-ups by hash impossible);
a database reader can still not turn a stored hash into a working link.

These live in the store so both the outbox (which makes an invitation's link when the message is
sent) and :mod:`hrsync.lifecycle.tokens` (which finds, consumes and revokes links) use one
definition without the outbox importing the lifecycle layer above it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from hrsync.store.models import AuthToken


class TokenPurpose(StrEnum):
    INVITATION = "invitation"  # a new member sets their first password
    MEMBER_PASSWORD_RESET = "member_password_reset"  # noqa: S105 - a purpose name, not a secret
    ADMIN_PASSWORD_RESET = "admin_password_reset"  # noqa: S105
    ADMIN_INVITE = "admin_invite"


INVITATION_TTL = timedelta(days=14)
PASSWORD_RESET_TTL = timedelta(hours=2)
ADMIN_INVITE_TTL = timedelta(days=7)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    purpose: TokenPurpose | str,
    *,
    expires_at: datetime,
    member_id: int | None = None,
    admin_id: int | None = None,
) -> tuple[str, AuthToken]:
    """Create a token; return the raw value (put it in a link, never store it) and the row."""
    raw = secrets.token_urlsafe(32)
    row = AuthToken(
        purpose=str(purpose),
        token_hash=hash_token(raw),
        member_id=member_id,
        admin_id=admin_id,
        expires_at=expires_at,
    )
    session.add(row)
    return raw, row
