"""People left out by an integration's scoping rules, counted apart from inactive ones (issue 25).

* ``import_run.excluded``: people read who were out of scope (decision 0026) and never members, so
  nothing was done for them. Before, they were counted in ``ignored`` (inactive and never members),
  which told an administrator they were "not imported because inactive" when a rule had left them out.

The downgrade drops the column (those people are then simply not counted apart).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_run", sa.Column("excluded", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("import_run") as batch:
        batch.drop_column("excluded")
