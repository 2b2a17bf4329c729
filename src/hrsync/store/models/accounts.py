"""Programmes, their administrators and what signs them in (tokens, sessions, throttles)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from hrsync.store.enums import (
    AdminRole,
)
from hrsync.store.models.base import Base, email_lower_default
from hrsync.store.types import BigId, utcnow


class Programme(Base):
    """One client company's rewards programme: the tenant boundary of everything else."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London", server_default="Europe/London")
    date_format: Mapped[str] = mapped_column(String(16), default="DD/MM/YYYY", server_default="DD/MM/YYYY")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class AdminUser(Base):
    """A programme administrator; ``password_hash`` stays null until an invitation is accepted."""

    __tablename__ = "admin_user"
    __table_args__ = (
        UniqueConstraint("programme_id", "email_lower"),
        Index("ix_admin_user_email_lower", "email_lower"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_lower: Mapped[str] = mapped_column(String(320), default=email_lower_default)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # AdminRole; migration 0007 made every administrator who existed before roles an owner
    role: Mapped[str] = mapped_column(String(16), default=AdminRole.ADMINISTRATOR.value,
                                      server_default=AdminRole.ADMINISTRATOR.value)
    deactivated_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column()

    programme: Mapped[Programme] = relationship()

    @validates("email")
    def _sync_email_lower(self, _key: str, value: str) -> str:
        self.email_lower = value.strip().lower()
        return value


class ApiToken(Base):
    """A per-programme API token; only its hash is stored, ``prefix`` identifies it to people."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_programme_id", "programme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    # TokenScope values joined by commas, e.g. "read,import"; tokens made before scopes had all three
    scopes: Mapped[str] = mapped_column(String(64), default="read", server_default="read")
    # null never expires (not offered by the portal); migration 0007 gave older tokens 90 days
    expires_at: Mapped[datetime | None] = mapped_column()


class AuthToken(Base):
    """A single-use link (member invitation, password reset, admin invite); only its hash is stored."""

    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"))
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class PortalSession(Base):
    """A signed-in browser (administrator or member): the cookie carries a random id, only its
    SHA-256 is stored here, and ending the row ends the session at once (issue 14)."""

    __tablename__ = "portal_session"
    __table_args__ = (
        Index("ix_portal_session_admin_id", "admin_id"),
        Index("ix_portal_session_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # SessionKind
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member.id", ondelete="CASCADE"))
    data: Mapped[Any | None] = mapped_column(JSON)  # CSRF token, flashes: never a secret of ours
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column()  # the absolute limit
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_reason: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class ThrottleBucket(Base):
    """Failed sign-ins per key (``account:<e-mail>`` or ``address:<ip>``), shared by every portal
    process through the database (issue 14)."""

    __tablename__ = "throttle_bucket"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    locked_until: Mapped[datetime | None] = mapped_column()
