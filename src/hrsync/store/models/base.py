"""The declarative base every table derives from, and helpers several tables share."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    MetaData,
    String,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase

from hrsync.domain.vocabulary import email_key
from hrsync.store.enums import (
    ACTIVE_RUN_STATUSES,
)
from hrsync.store.types import UTCDateTime

# Stable constraint names make Alembic's SQLite batch migrations (table rebuilds) possible later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ACTIVE_RUN_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in ACTIVE_RUN_STATUSES))


def email_lower_default(context: DefaultExecutionContext) -> str | None:
    """Core insert default: derive ``email_lower`` from the row's ``email`` when a bulk row omits it."""
    email = context.get_current_parameters().get("email")  # type: ignore[no-untyped-call]
    return email_key(email) if isinstance(email, str) else None



class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        str: String(255),
    }
