"""Per-programme API tokens for the JSON API (``Authorization: Bearer <token>``).

A token is 256 random bits (``secrets.token_urlsafe(32)``) behind a recognisable ``hrs_`` prefix
(so secret scanners and people can tell what leaked). Only its SHA-256 is stored: the token is
as strong as a random key, so a slow password hash would add nothing but latency on every API
call, and a fast hash allows an indexed look-up. The raw value is returned once, at creation,
and never again; the first characters (``prefix``) identify it in the portal.

``last_used_at`` is written at most once a minute per token, so a busy API client does not turn
every read into a write (which SQLite would serialise).

Every token has an **owner** (the administrator who made it, ``created_by_id``), **scopes**
(:class:`~hrsync.store.enums.TokenScope`: read, import, approve, members; stored comma-separated) and an
**expiry** (30, 90, 180 or 365 days; 90 by default). A token works only while it is not revoked,
not expired and its owner still exists and is active: deactivating an administrator stops their
tokens at once, without anyone having to find and revoke them. A read-only administrator may make
read tokens only (:func:`hrsync.services.admins.may_change`): a token never holds more than its owner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hrsync.services import activity
from hrsync.services.errors import NotFound, ServiceError
from hrsync.services.roles import may_change, role_of
from hrsync.store.enums import AdminRole, TokenScope
from hrsync.store.models import AdminUser, ApiToken
from hrsync.store.types import is_row_id, utcnow

TOKEN_PREFIX = "hrs_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 12  # "hrs_" + 8 random characters: enough to tell tokens apart, useless to guess
NAME_MAX = 200
LAST_USED_RESOLUTION = timedelta(minutes=1)
EXPIRY_DAYS = (30, 90, 180, 365)  # what the portal offers
DEFAULT_EXPIRY_DAYS = 90
SCOPE_ORDER = (TokenScope.READ, TokenScope.IMPORT, TokenScope.APPROVE, TokenScope.MEMBERS)
DEFAULT_SCOPES = (TokenScope.READ,)


def hash_api_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_scopes(token: ApiToken) -> frozenset[TokenScope]:
    """The scopes a token holds (an unknown word in the column grants nothing)."""
    known = {scope.value: scope for scope in TokenScope}
    return frozenset(known[part] for part in (token.scopes or "").split(",") if part.strip() in known)


def has_scope(token: ApiToken, scope: TokenScope) -> bool:
    return scope in token_scopes(token)


def _clean_scopes(scopes: Iterable[TokenScope | str]) -> list[TokenScope]:
    chosen: set[TokenScope] = set()
    for value in scopes:
        try:
            chosen.add(TokenScope(str(value).strip()))
        except ValueError:
            raise ServiceError(
                f"'{str(value)[:40]}' is not a token scope (read, import, approve or members).") from None
    if not chosen:
        raise ServiceError("Choose at least one thing the token may do.")
    return [scope for scope in SCOPE_ORDER if scope in chosen]


def create_api_token(
    session: Session,
    programme_id: int,
    name: str,
    *,
    created_by: AdminUser,
    scopes: Iterable[TokenScope | str] = DEFAULT_SCOPES,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new token owned by ``created_by``: returns the raw value (show it once) and the stored row."""
    if created_by.programme_id != programme_id or not created_by.is_active:
        raise ServiceError("Only an active administrator of the programme can create its API tokens.")
    clean = " ".join((name or "").split())
    if not clean:
        raise ServiceError("Give the token a name, for example the system that will use it.")
    if len(clean) > NAME_MAX:
        raise ServiceError(f"A token name has at most {NAME_MAX} characters.")
    if "<" in clean or ">" in clean:
        raise ServiceError("A token name cannot contain < or >.")
    chosen = _clean_scopes(scopes)
    if not may_change(created_by) and chosen != [TokenScope.READ]:
        raise ServiceError("A read-only administrator can create read tokens only.")
    if expires_in_days not in EXPIRY_DAYS:
        raise ServiceError("A token expires after 30, 90, 180 or 365 days.")
    now = now or utcnow()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        programme_id=programme_id,
        name=clean,
        token_hash=hash_api_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_by_id=created_by.id,
        created_at=now,
        scopes=",".join(scope.value for scope in chosen),
        expires_at=now + timedelta(days=expires_in_days),
    )
    session.add(row)
    session.flush()
    activity.record(session, programme_id=programme_id, admin_id=created_by.id, action="created_api_token",
                    detail={"token_id": row.id, "name": clean, "prefix": row.prefix, "scopes": row.scopes,
                            "expires_in_days": expires_in_days})
    return raw, row


def list_api_tokens(session: Session, programme_id: int, *, include_revoked: bool = True) -> list[ApiToken]:
    """The programme's tokens, usable ones first, newest first."""
    stmt = select(ApiToken).where(ApiToken.programme_id == programme_id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    tokens = list(session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))
    return sorted(tokens, key=lambda t: t.revoked_at is not None)


@dataclass(frozen=True)
class TokenView:
    """One row of the tokens page: the token, its owner's label and whether it works now."""

    token: ApiToken
    owner: str  # name or e-mail; "a removed administrator" when gone
    scopes: tuple[TokenScope, ...]
    state: str  # active, expired, revoked, owner_inactive


def token_views(session: Session, programme_id: int, *, now: datetime | None = None) -> list[TokenView]:
    """The programme's tokens for the page, each with its owner and whether it works now."""
    now = now or utcnow()
    tokens = list_api_tokens(session, programme_id)
    owner_ids = {t.created_by_id for t in tokens if t.created_by_id is not None}
    owners = {a.id: a for a in session.scalars(select(AdminUser).where(AdminUser.id.in_(owner_ids)))}
    views = []
    for token in tokens:
        owner = owners.get(token.created_by_id) if token.created_by_id is not None else None
        if token.revoked_at is not None:
            state = "revoked"
        elif token.expires_at is not None and token.expires_at <= now:
            state = "expired"
        elif owner is None or not owner.is_active:
            state = "owner_inactive"
        else:
            state = "active"
        views.append(TokenView(token=token, owner=(owner.name or owner.email) if owner else "a removed administrator",
                               scopes=tuple(s for s in SCOPE_ORDER if s in token_scopes(token)), state=state))
    return views


def token_in_programme(session: Session, programme_id: int, token_id: int) -> ApiToken:
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.programme_id == programme_id)
    ) if is_row_id(token_id) else None
    if token is None:
        raise NotFound(f"API token {token_id}")
    return token


def may_revoke(admin: AdminUser, token: ApiToken) -> bool:
    """Owners revoke any token of their programme; other administrators only their own (a token
    another administrator made runs some system of theirs: stopping it is the owners' call)."""
    return token.created_by_id == admin.id or (bool(admin.is_active) and role_of(admin) == AdminRole.OWNER)


def revoke_as(session: Session, admin: AdminUser, token_id: int) -> ApiToken:
    """``admin`` revokes a token of their programme from the portal (:func:`may_revoke`, else
    ``ServiceError`` code ``forbidden``); another programme's token is not found."""
    token = token_in_programme(session, admin.programme_id, token_id)
    if not may_revoke(admin, token):
        raise ServiceError(f"The token “{token.name}” belongs to another administrator: only they or an owner "
                           "of the programme can revoke it.", code="forbidden")
    return revoke_api_token(session, admin.programme_id, token_id, revoked_by_id=admin.id)


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
    """The live token matching ``raw``, or ``None``: unknown, malformed, empty, revoked, expired, or
    its owner deactivated or removed (a token never outlives its administrator's access)."""
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
    if token.expires_at is not None and token.expires_at <= now:
        return None
    owner = session.get(AdminUser, token.created_by_id) if token.created_by_id is not None else None
    if owner is None or not owner.is_active or owner.programme_id != token.programme_id:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        token.last_used_at = now
    return token
