"""Runs remember why they failed as a code; integrations keep their source's own settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A code from hrsync.domain.failures (bad_key, unreachable, bad_file, ...); null for runs that
    # did not fail and for failures recorded before this column existed (read as "internal").
    op.add_column("import_run", sa.Column("failure_code", sa.String(length=64), nullable=True))
    # Settings only one kind of source has (a membership file's drop folder, ...); intelliHR keeps
    # its subdomain and key in their own columns.
    op.add_column("integration", sa.Column("source_settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("source_settings")
    with op.batch_alter_table("import_run") as batch:
        batch.drop_column("failure_code")
