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
    Text,
    UniqueConstraint,
    and_,
    event,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, validates
from sqlalchemy.sql.elements import ColumnElement

from hrsync.domain.search import member_keys_of, search_words
from hrsync.domain.vocabulary import email_key
from hrsync.store.enums import MemberDoor
from hrsync.store.models.base import Base, email_lower_default
from hrsync.store.types import BigId, utcnow

#: Sorted byte by byte on both databases (PostgreSQL's locale collation would skip the separator).
SortKeyText = Text().with_variant(Text(collation="C"), "postgresql")


def member_search_condition(term: str) -> ColumnElement[bool]:
    """Members whose names, e-mail or employee ID contain every word of ``term``, in any order,
    folding case and accents alike on both databases (:mod:`hrsync.domain.search`: "Élodie",
    "ŁUKASZ", "Brown, Amelia").

    The words' ``%`` and ``_`` match themselves. Use this (not a hand-written ``ilike``): on
    PostgreSQL it is served by the trigram index ``ix_member_search_trgm`` on ``search_key``, on
    SQLite by a scan of the covering index ``ix_member_programme_id_sort_key``.
    """
    words = search_words(term)
    if not words:
        return true()
    return and_(*(member_search_expression().contains(word, autoescape=True) for word in words))


def member_search_expression() -> Any:
    """The folded text a members search matches against (names, e-mail, employee ID): the stored key."""
    return Member.search_key


def _keys_default(context: Any) -> dict[str, str]:
    params = context.get_current_parameters()
    return member_keys_of(params, params.get("attributes"))


def _search_key_default(context: Any) -> str:
    """A Core insert that leaves the key out gets it from the row's own values."""
    return _keys_default(context)["search_key"]


def _sort_key_default(context: Any) -> str:
    return _keys_default(context)["sort_key"]


class Member(Base):
    """A programme member. A deleted member is a tombstone: personal data gone, counts kept."""

    __tablename__ = "member"
    __table_args__ = (
        # Both engines let several NULLs through a UNIQUE constraint: tombstones have none.
        UniqueConstraint("programme_id", "employee_id"),
        UniqueConstraint("programme_id", "email_lower"),
        Index("ix_member_programme_id_status", "programme_id", "status"),
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
    # hrsync.domain.search.member_keys of the names, e-mail and employee ID, kept by every write
    # (hrsync.store.member_keys): what a search matches and what the list sorts by ("Family, Given").
    search_key: Mapped[str] = mapped_column(Text, default=_search_key_default, server_default=text("''"))
    sort_key: Mapped[str] = mapped_column(SortKeyText, default=_sort_key_default, server_default=text("''"))
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column()

    @validates("email")
    def _sync_email_lower(self, _key: str, value: str | None) -> str | None:
        self.email_lower = email_key(value)
        return value


# The members page: sorted by the name it shows within a programme. On SQLite the index also covers
# the search key, so a search scans this compact index instead of the table. PostgreSQL's keeps to the
# sort (its b-tree entries have a size limit a long key could pass) and searches by trigrams below.
Index("ix_member_programme_id_sort_key", "programme_id", "sort_key", "search_key").ddl_if(dialect="sqlite")
Index("ix_member_programme_id_sort_key_pg", "programme_id", "sort_key").ddl_if(dialect="postgresql")

# PostgreSQL only: trigram index for substring search (pg_trgm is created by the migration).
# It roughly doubles the cost of bulk-inserting members on PostgreSQL (5.6 s → 10.7 s for 100,000
# on a 2-core machine) and turns a 330 ms search into 4 ms. SQLite uses the covering index above.
Index(
    "ix_member_search_trgm",
    Member.search_key,
    postgresql_using="gin",
    postgresql_ops={"search_key": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


@event.listens_for(Member, "before_insert")
@event.listens_for(Member, "before_update")
def _recompute_keys(_mapper: Any, _connection: Any, target: Member) -> None:
    """An ORM write (by hand, SCIM, the member, the close-down) keeps the search and sort keys true;
    Core writes use the columns' defaults or :func:`hrsync.store.member_keys.refresh_member_keys`."""
    keys = member_keys_of({"first_name": target.first_name, "last_name": target.last_name,
                           "email": target.email, "employee_id": target.employee_id}, target.attributes)
    if target.search_key != keys["search_key"]:
        target.search_key = keys["search_key"]
    if target.sort_key != keys["sort_key"]:
        target.sort_key = keys["sort_key"]


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
