"""The tables, as SQLAlchemy 2 typed declarative models.

Conventions that other modules rely on:

* every timestamp is a :class:`~hrsync.store.types.UTCDateTime` (aware UTC in, aware UTC out);
* defaults are **Python-side** column defaults (so a Core ``insert(Member)`` with a list of
  dicts gets them per row, exactly like the ORM) and, for the columns that have a fixed value,
  also **server-side** defaults, so raw SQL and future migrations see the same value;
* ``email_lower`` is filled from ``email`` on ORM assignment (see ``_sync_email_lower``) and by
  a Core insert default when a bulk row leaves it out; a Core ``update()`` that changes
  ``email`` must set ``email_lower`` too (use :func:`hrsync.domain.vocabulary.email_key`);
* JSON columns are not mutation-tracked: assign a new dict/list instead of changing one in place.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.sql.elements import ColumnElement

from hrsync.domain.vocabulary import email_key
from hrsync.store.enums import (
    ACTIVE_RUN_STATUSES,
    AdminRole,
    Frequency,
    IntegrationStatus,
    IssueSeverity,
    MemberDoor,
    OutboxStatus,
    RunPhase,
    RunStatus,
    RunTrigger,
)
from hrsync.store.types import BigId, UTCDateTime, utcnow

__all__ = [
    "ActivityLog",
    "AdminUser",
    "ApiToken",
    "AuthToken",
    "Base",
    "Frequency",
    "ImportIssue",
    "ImportRun",
    "Integration",
    "IntegrationStatus",
    "IssueSeverity",
    "Member",
    "MemberDoor",
    "MemberEvent",
    "OutboxEmail",
    "OutboxStatus",
    "PortalSession",
    "Programme",
    "RunPhase",
    "RunStatus",
    "RunTrigger",
    "ThrottleBucket",
    "WebhookHint",
    "WebhookSubscription",
    "email_key",  # hrsync.domain.vocabulary.email_key, kept importable from here
    "member_search_condition",
    "member_search_expression",
]

# Stable constraint names make Alembic's SQLite batch migrations (table rebuilds) possible later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ACTIVE_RUN_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in ACTIVE_RUN_STATUSES))


def _email_lower_default(context: DefaultExecutionContext) -> str | None:
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
    email_lower: Mapped[str] = mapped_column(String(320), default=_email_lower_default)
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


class Integration(Base):
    """A connection to an HR system, with its settings, encrypted key, mapping and schedule."""

    __tablename__ = "integration"
    __table_args__ = (
        Index("ix_integration_status_next_run_at", "status", "next_run_at"),
        Index("ix_integration_programme_id", "programme_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32), default="intellihr", server_default="intellihr")
    status: Mapped[str] = mapped_column(
        String(16), default=IntegrationStatus.DRAFT.value, server_default=IntegrationStatus.DRAFT.value
    )
    subdomain: Mapped[str | None] = mapped_column(String(100))
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_last4: Mapped[str | None] = mapped_column(String(4))
    frequency: Mapped[str] = mapped_column(
        String(16), default=Frequency.MANUAL.value, server_default=Frequency.MANUAL.value
    )
    schedule_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", programme's timezone
    schedule_day: Mapped[str | None] = mapped_column(String(16))  # weekday name or day of month
    date_format: Mapped[str] = mapped_column(String(16), default="DD/MM/YYYY", server_default="DD/MM/YYYY")
    welcome_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    # issue 15: include/exclude rules on source fields (null: everyone) and per-field value transforms
    scope_rules: Mapped[Any | None] = mapped_column(JSON)
    transforms: Mapped[Any | None] = mapped_column(JSON)
    status_map: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    leaver_threshold_pct: Mapped[float] = mapped_column(Float, default=10.0, server_default=text("10.0"))
    blanks_clear_values: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    vanished_are_leavers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The source field the members' employee IDs came from at the last applied import; when the
    # mapping's key differs, the next import matches people to members by their HR record instead.
    key_source: Mapped[str | None] = mapped_column(String(255))
    # Settings only this kind of source has (see hrsync.sources.registry), e.g. a file's drop folder.
    source_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status_before_revoke: Mapped[str | None] = mapped_column(String(16))  # live | paused; restored on re-authorize
    wizard_step: Mapped[str | None] = mapped_column(String(32))
    next_run_at: Mapped[datetime | None] = mapped_column()
    # issue 16: quarantine after HRSYNC_QUARANTINE_AFTER configuration failures in a row, back-off after
    # transient ones (hrsync.sync.finish.record_health); a success resets both streaks.
    quarantined_at: Mapped[datetime | None] = mapped_column()
    consecutive_config_failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    consecutive_transient_failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    published_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())

    programme: Mapped[Programme] = relationship()
    owner: Mapped[AdminUser | None] = relationship()


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
    email_lower: Mapped[str | None] = mapped_column(String(320), default=_email_lower_default)
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


class ImportRun(Base):
    """One import: its progress, counts, held plan and worker lease.

    ``uq_import_run_one_active`` is the database's guarantee that an integration never has two
    runs queued, running or held at once: the second insert raises ``IntegrityError``.
    """

    __tablename__ = "import_run"
    __table_args__ = (
        Index(
            "uq_import_run_one_active",
            "integration_id",
            unique=True,
            sqlite_where=text(_ACTIVE_RUN_SQL),
            postgresql_where=text(_ACTIVE_RUN_SQL),
        ),
        Index("ix_import_run_integration_id_created_at", "integration_id", "created_at"),
        Index("ix_import_run_status", "status"),
        Index("uq_import_run_integration_number", "integration_id", "number", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column(Integer)  # 1, 2, … per integration (sync.runs assigns it)
    trigger: Mapped[str] = mapped_column(
        String(16), default=RunTrigger.MANUAL.value, server_default=RunTrigger.MANUAL.value
    )
    triggered_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))
    # an undo run (trigger "undo") names the run it reverses (issue 15); a plain column, not a foreign
    # key: SQLite cannot add one without rebuilding import_run (and its partial unique index)
    undo_of_id: Mapped[int | None] = mapped_column(Integer, index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(
        String(32), default=RunStatus.QUEUED.value, server_default=RunStatus.QUEUED.value
    )
    phase: Mapped[str] = mapped_column(
        String(16), default=RunPhase.QUEUED.value, server_default=RunPhase.QUEUED.value
    )
    processed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    total: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    leavers: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    reinstated: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    ignored: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # inactive, never members
    reason: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(String(64))  # hrsync.domain.failures; set when failed
    plan: Mapped[Any | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()
    worker_id: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    integration: Mapped[Integration] = relationship()

    @property
    def history_number(self) -> int:
        """The number people know this run by: its place in its integration's history (#1, #2, …);
        the id for a row that has no number."""
        return int(self.number) if self.number is not None else int(self.id)


class ImportIssue(Base):
    """One record-level error or warning of a run (exported as the run's CSV)."""

    __tablename__ = "import_issue"
    __table_args__ = (Index("ix_import_issue_run_id", "run_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_run.id", ondelete="CASCADE"))
    severity: Mapped[str] = mapped_column(String(16))  # error | warning
    employee_id: Mapped[str | None] = mapped_column(String(255))
    source_id: Mapped[str | None] = mapped_column(String(255))
    person_name: Mapped[str | None] = mapped_column(String(255))  # as the source gave it
    field: Mapped[str | None] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


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


class OutboxEmail(Base):
    """A message written with the change that causes it and sent later (transactional outbox)."""

    __tablename__ = "outbox_email"
    __table_args__ = (
        Index("ix_outbox_email_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_email_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id", ondelete="SET NULL"))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("member.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(
        String(16), default=OutboxStatus.QUEUED.value, server_default=OutboxStatus.QUEUED.value
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    send_after: Mapped[datetime | None] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column()
    # Who holds the ``sending`` lease: a random token written by the claim. Every later write of
    # that sender is conditional on it, so a sender whose lease lapsed cannot overwrite the row.
    claim_token: Mapped[str | None] = mapped_column(String(64))


class ActivityLog(Base):
    """Who did what and when, for an integration's dashboard."""

    __tablename__ = "activity_log"
    __table_args__ = (
        Index("ix_activity_log_integration_id_created_at", "integration_id", "created_at"),
        Index("ix_activity_log_programme_id_created_at", "programme_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integration.id", ondelete="SET NULL"))
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


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


class WebhookSubscription(Base):
    """An integration's intelliHR webhook subscriptions (issue 16): the ids intelliHR returned, the
    SHA-256 of the token in the delivery URL (the token itself is never stored), the state, the last
    delivery and the last error. One row per integration."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    subscription_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    state: Mapped[str] = mapped_column(String(16), default="off", server_default="off")  # WebhookState
    registered_at: Mapped[datetime | None] = mapped_column()
    last_delivery_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())


class WebhookHint(Base):
    """A delivery waiting for the worker: re-fetch this person (or the person of this job). One row per
    integration and subject: a burst of deliveries for one person is one row, due when the first was."""

    __tablename__ = "webhook_hint"
    __table_args__ = (
        UniqueConstraint("integration_id", "subject", name="uq_webhook_hint_integration_id_subject"),
        Index("ix_webhook_hint_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(80))  # "person:<uuid>" or "job:<uuid>"
    event: Mapped[str] = mapped_column(String(64))  # the latest event received for it
    deliveries: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)  # the first delivery
    due_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


from hrsync.store.scim_user import ScimUser  # noqa: E402 - defined apart, registered on Base here

__all__ += ["ScimUser"]
