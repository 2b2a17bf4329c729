"""When a push door's (SCIM's) daily summary e-mail was last sent, and the hour it covered up to.

``integration.summary_sent_at``: at most one summary per integration per 24 hours, however many
schedulers run and however often they restart. ``integration.summary_until``: the end (a whole hour)
of the period the last summary covered; the next one starts there (docs/scim.md, "Summary e-mail").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("integration", sa.Column("summary_sent_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("integration", sa.Column("summary_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("summary_until")
        batch.drop_column("summary_sent_at")
