"""Outbox claim token: a sender's writes are fenced by the token it wrote when it claimed the row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: a plain ALTER TABLE ... ADD COLUMN on both engines,
    # no table rebuild on SQLite and no rewrite on PostgreSQL.
    op.add_column("outbox_email", sa.Column("claim_token", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_column("claim_token")
