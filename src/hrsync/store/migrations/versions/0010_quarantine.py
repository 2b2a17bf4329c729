"""Quarantine and back-off (issue 16, item 4).

* ``integration.quarantined_at``: set when N consecutive imports failed for a configuration reason
  (bad key, unknown account): scheduled imports stop until re-authorize or a successful retry.
* ``integration.consecutive_config_failures``: the current streak of configuration failures.
* ``integration.consecutive_transient_failures``: the current streak of transient failures; it picks
  the back-off step (the next attempt comes sooner than the schedule). A success resets both.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("integration", sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("integration", sa.Column("consecutive_config_failures", sa.Integer(), nullable=False,
                                           server_default=sa.text("0")))
    op.add_column("integration", sa.Column("consecutive_transient_failures", sa.Integer(), nullable=False,
                                           server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("consecutive_transient_failures")
        batch.drop_column("consecutive_config_failures")
        batch.drop_column("quarantined_at")
