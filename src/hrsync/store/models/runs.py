"""Import runs and their issues, the e-mail outbox and the activity log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hrsync.store.enums import (
    OutboxStatus,
    RunPhase,
    RunStatus,
    RunTrigger,
)
from hrsync.store.models.base import ACTIVE_RUN_SQL, Base
from hrsync.store.types import BigId, utcnow

if TYPE_CHECKING:
    from hrsync.store.models.integration import Integration

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
            sqlite_where=text(ACTIVE_RUN_SQL),
            postgresql_where=text(ACTIVE_RUN_SQL),
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
    excluded: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # out of scope, never members
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
