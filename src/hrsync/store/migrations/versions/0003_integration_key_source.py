"""Integration key source: the source field the members' employee IDs were last imported from.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: unknown for integrations that imported before this column existed, which
    # the runner reads as "the key never changed" (the conservative reading).
    op.add_column("integration", sa.Column("key_source", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("key_source")
