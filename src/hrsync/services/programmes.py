"""Programmes and their administrators."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrsync.domain.dates import DATE_FORMATS
from hrsync.domain.vocabulary import email_key
from hrsync.security.passwords import WeakPasswordError, check_password_policy, hash_password
from hrsync.services.errors import NotFound, ServiceError
from hrsync.store.enums import AdminRole
from hrsync.store.models import AdminUser, Programme


def validate_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(f"'{tz}' is not a known time zone; use a name such as Europe/London.") from None
    return tz


def validate_date_format(fmt: str) -> str:
    if fmt not in DATE_FORMATS:
        raise ServiceError(f"Date format must be one of {', '.join(DATE_FORMATS)}.")
    return fmt


def create_programme(
    session: Session,
    name: str,
    *,
    admin_email: str,
    admin_name: str | None = None,
    password: str | None = None,
    date_format: str = "DD/MM/YYYY",
    timezone: str = "Europe/London",
) -> tuple[Programme, AdminUser]:
    name = name.strip()
    if not name:
        raise ServiceError("A programme needs a name.")
    if session.scalar(select(Programme.id).where(func.lower(Programme.name) == name.lower())) is not None:
        raise ServiceError(f"A programme called '{name}' already exists.", code="exists")
    if "@" not in admin_email or len(admin_email) > 200 or "<" in admin_email or ">" in admin_email:
        raise ServiceError(f"'{admin_email}' is not a valid e-mail address.")
    if password is not None:
        try:
            check_password_policy(password, context=(admin_email, admin_name or "", name))
        except WeakPasswordError as exc:
            raise ServiceError(str(exc), code="weak_password") from None
    programme = Programme(
        name=name, date_format=validate_date_format(date_format), timezone=validate_timezone(timezone)
    )
    session.add(programme)
    session.flush()
    admin = AdminUser(
        programme_id=programme.id,
        email=admin_email.strip(),
        name=admin_name,
        password_hash=hash_password(password) if password is not None else None,
        role=AdminRole.OWNER.value,  # a programme's first administrator is its owner
    )
    session.add(admin)
    session.flush()
    return programme, admin


def programme_by_name(session: Session, name: str) -> Programme:
    programme = session.scalar(select(Programme).where(func.lower(Programme.name) == name.strip().lower()))
    if programme is None:
        raise NotFound(f"Programme '{name}'")
    return programme


def first_admin(session: Session, programme_id: int) -> AdminUser:
    admin = session.scalar(
        select(AdminUser).where(AdminUser.programme_id == programme_id).order_by(AdminUser.id).limit(1)
    )
    if admin is None:
        raise ServiceError("The programme has no administrator.")
    return admin


def admin_by_email(session: Session, programme_id: int, email: str) -> AdminUser | None:
    return session.scalar(
        select(AdminUser).where(AdminUser.programme_id == programme_id, AdminUser.email_lower == email_key(email))
    )
