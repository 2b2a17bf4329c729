"""intelliHR webhooks (issue 16): subscriptions per integration and the queue of deliveries.

* ``webhook_subscription``: per integration, the subscription ids intelliHR returned, the SHA-256 of the
  token in the delivery URL, state, last delivery and last error.
* ``webhook_hint``: deliveries waiting for the worker, one row per integration and person (or job).
* ``import_run.trigger`` gains the value ``webhook`` (a string column: no schema change).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hrsync.store.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("integration_id", sa.Integer(),
                  sa.ForeignKey("integration.id", name="fk_webhook_subscription_integration_id_integration",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("subscription_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("state", sa.String(16), nullable=False, server_default="off"),
        sa.Column("registered_at", UTCDateTime(), nullable=True),
        sa.Column("last_delivery_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("integration_id", name="uq_webhook_subscription_integration_id"),
        sa.UniqueConstraint("token_hash", name="uq_webhook_subscription_token_hash"),
    )
    op.create_table(
        "webhook_hint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("integration_id", sa.Integer(),
                  sa.ForeignKey("integration.id", name="fk_webhook_hint_integration_id_integration",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.UniqueConstraint("integration_id", "subject", name="uq_webhook_hint_integration_id_subject"),
    )
    op.create_index("ix_webhook_hint_due_at", "webhook_hint", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_hint_due_at", table_name="webhook_hint")
    op.drop_table("webhook_hint")
    op.drop_table("webhook_subscription")
