"""Per-programme API tokens for the JSON API (``Authorization: Bearer <token>``).

A token is 256 random bits (``secrets.token_urlsafe(32)``) behind a recognisable ``hrs_`` prefix
(so secret scanners and people can tell what leaked). Only its SHA-256 is stored: the token is
as strong as a random key, so a slow password hash would add nothing but latency on every API
call, and a fast hash allows an indexed look-up. The raw value is returned once, at creation,
and never again; the first characters (``prefix``) identify it in the portal.

``last_used_at`` is written at most once a minute per token, so a busy API client does not turn
every read into a write (which SQLite would serialise).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hrsync.services import activity
from hrsync.services.errors import NotFound, ServiceError
from hrsync.store.models import ApiToken
from hrsync.store.types import utcnow

TOKEN_PREFIX = "hrs_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 12  # "hrs_" + 8 random characters: enough to tell tokens apart, useless to guess
NAME_MAX = 200
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_api_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_api_token(
    session: Session, programme_id: int, name: str, *, created_by_id: int | None = None
) -> tuple[str, ApiToken]:
    """A new token: returns the raw value (show it once) and the stored row."""
    clean = " ".join((name or "").split())
    if not clean:
        raise ServiceError("Give the token a name, for example the system that will use it.")
    if len(clean) > NAME_MAX:
        raise ServiceError(f"A token name has at most {NAME_MAX} characters.")
    if "<" in clean or ">" in clean:
        raise ServiceError("A token name cannot contain < or >.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        programme_id=programme_id,
        name=clean,
        token_hash=hash_api_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_by_id=created_by_id,
    )
    session.add(row)
    session.flush()
    activity.record(session, programme_id=programme_id, admin_id=created_by_id, action="created_api_token",
                    detail={"token_id": row.id, "name": clean, "prefix": row.prefix})
    return raw, row


def list_api_tokens(session: Session, programme_id: int, *, include_revoked: bool = True) -> list[ApiToken]:
    """The programme's tokens, usable ones first, newest first."""
    stmt = select(ApiToken).where(ApiToken.programme_id == programme_id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    tokens = list(session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))
    return sorted(tokens, key=lambda t: t.revoked_at is not None)


def token_in_programme(session: Session, programme_id: int, token_id: int) -> ApiToken:
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.programme_id == programme_id)
    )
    if token is None:
        raise NotFound(f"API token {token_id}")
    return token


def revoke_api_token(
    session: Session, programme_id: int, token_id: int, *, revoked_by_id: int | None = None
) -> ApiToken:
    """Revoke at once (idempotent); another programme's token is not found."""
    token = token_in_programme(session, programme_id, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        activity.record(session, programme_id=programme_id, admin_id=revoked_by_id, action="revoked_api_token",
                        detail={"token_id": token.id, "name": token.name, "prefix": token.prefix})
    return token


def authenticate_api_token(
    session: Session, raw: str | None, *, now: datetime | None = None
) -> ApiToken | None:
    """The live token matching ``raw``, or ``None`` (unknown, revoked, malformed, empty)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    digest = hash_api_token(raw)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None:
        return None
    # The index found it by hash already; comparing again in constant time costs nothing.
    if not hmac.compare_digest(token.token_hash, digest):
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        token.last_used_at = now
    return token
