"""Members and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates
from sqlalchemy.sql.elements import ColumnElement

from hrsync.domain.vocabulary import email_key
from hrsync.store.enums import MemberDoor
from hrsync.store.models.base import Base, email_lower_default
from hrsync.store.types import BigId, utcnow


def member_search_condition(term: str) -> ColumnElement[bool]:
    """Members whose names, e-mail or employee ID contain ``term``, ignoring case.

    The term's ``%`` and ``_`` match themselves. Use this (not a hand-written ``ilike``): on
    PostgreSQL it is served by the trigram index ``ix_member_search_trgm`` (a few ms at 100,000
    members), on SQLite by a scan of the covering index ``ix_member_programme_id_last_name``.
    SQLite's ``lower()`` folds ASCII only, so there "ZOË" does not find "zoë".
    """
    condition: ColumnElement[bool] = member_search_expression().contains(
        term.strip().lower(), autoescape=True
    )
    return condition


def member_search_expression() -> Any:
    """The lower-cased text a members search matches against (names, e-mail, employee ID).

    PostgreSQL's trigram index is built on exactly this expression; re-writing it by hand, even
    equivalently, stops the planner from using the index.
    """
    return func.lower(
        func.coalesce(Member.first_name, "")
        + " "
        + func.coalesce(Member.last_name, "")
        + " "
        + func.coalesce(Member.email_lower, "")
        + " "
        + func.coalesce(Member.employee_id, "")
    )


class Member(Base):
    """A programme member. A deleted member is a tombstone: personal data gone, counts kept."""

    __tablename__ = "member"
    __table_args__ = (
        # Both engines let several NULLs through a UNIQUE constraint: tombstones have none.
        UniqueConstraint("programme_id", "employee_id"),
        UniqueConstraint("programme_id", "email_lower"),
        Index("ix_member_programme_id_status", "programme_id", "status"),
        # The members page: sorted by name within a programme. It also covers every searched column,
        # so on SQLite a search scans this compact index instead of the table (~60 ms at 100,000).
        Index(
            "ix_member_programme_id_last_name",
            "programme_id",
            "last_name",
            "first_name",
            "email_lower",
            "employee_id",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    # The door the member came through and that alone may change it (docs/decisions/0031): "integration"
    # (owned by integration_id; NULL there means that integration was deleted) or "manual" (added by an
    # administrator, owned by no integration, integration_id always NULL).
    door: Mapped[str] = mapped_column(String(16), default=MemberDoor.INTEGRATION.value,
                                      server_default=text(f"'{MemberDoor.INTEGRATION.value}'"))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integration.id", ondelete="SET NULL"))
    employee_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    email_lower: Mapped[str | None] = mapped_column(String(320), default=email_lower_default)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    status: Mapped[str] = mapped_column(String(16))  # pending | invited | active | leaver | deleted
    employment_status: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(255))
    start_date: Mapped[date | None] = mapped_column(Date)
    leaving_date: Mapped[date | None] = mapped_column(Date)
    leaver_since: Mapped[date | None] = mapped_column(Date)
    access_until: Mapped[date | None] = mapped_column(Date)
    invited_at: Mapped[datetime | None] = mapped_column()
    # What the last import knew of the person (hrsync.domain.fingerprint); NULL: draft them in full.
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column()

    @validates("email")
    def _sync_email_lower(self, _key: str, value: str | None) -> str | None:
        self.email_lower = email_key(value)
        return value


# PostgreSQL only: trigram index for substring search (pg_trgm is created by the migration).
# It roughly doubles the cost of bulk-inserting members on PostgreSQL (5.6 s → 10.7 s for 100,000
# on a 2-core machine) and turns a 330 ms search into 4 ms. SQLite uses the covering index above.
Index(
    "ix_member_search_trgm",
    member_search_expression().label("member_search"),
    postgresql_using="gin",
    postgresql_ops={"member_search": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


class MemberEvent(Base):
    """Audit of one change to a member, by which run or administrator."""

    __tablename__ = "member_event"
    __table_args__ = (
        Index("ix_member_event_member_id", "member_id"),
        Index("ix_member_event_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    changes: Mapped[Any | None] = mapped_column(JSON)
    actor: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
