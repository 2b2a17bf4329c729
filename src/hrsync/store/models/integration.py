"""Integrations (a programme's doors to its sources) and their webhook subscriptions and hints."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hrsync.store.enums import (
    Frequency,
    IntegrationStatus,
)
from hrsync.store.models.base import Base
from hrsync.store.types import utcnow

if TYPE_CHECKING:
    from hrsync.store.models.accounts import AdminUser, Programme

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
    # The kind's settings (hrsync.sources.kind.SourceKind.settings_fields): what is not secret here, the
    # one secret (an API key) encrypted with hrsync.security.secrets, only its last four characters in clear.
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    secret_last4: Mapped[str | None] = mapped_column(String(4))
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
    status_before_revoke: Mapped[str | None] = mapped_column(String(16))  # live | paused; restored on re-authorize
    wizard_step: Mapped[str | None] = mapped_column(String(32))
    next_run_at: Mapped[datetime | None] = mapped_column()
    # issue 16: quarantine after HRSYNC_QUARANTINE_AFTER configuration failures in a row, back-off after
    # transient ones (hrsync.sync.finish.record_health); a success resets both streaks.
    quarantined_at: Mapped[datetime | None] = mapped_column()
    consecutive_config_failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    consecutive_transient_failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    published_at: Mapped[datetime | None] = mapped_column()
    # a push door's (SCIM's) summary e-mail: when it was last sent (at most once in 24 hours) and the
    # whole hour its period ended at (the next one starts there); hrsync.notify.push_summary
    summary_sent_at: Mapped[datetime | None] = mapped_column()
    summary_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())

    programme: Mapped[Programme] = relationship()
    owner: Mapped[AdminUser | None] = relationship()


class WebhookSubscription(Base):
    """An integration's webhook subscriptions (issue 16): the ids its source returned, the
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
