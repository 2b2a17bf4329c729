"""Shape what is imported, and undo an import (issue 15).

* ``integration.scope_rules`` (JSON, null = everyone): include/exclude rules on source fields.
* ``integration.transforms`` (JSON, null = none): per mapped field, a transform chosen from a list.
* ``import_run.undo_of_id``: the run an ``undo`` run reverses (triggers ``single`` and ``undo`` are new
  values of the existing string column; no schema change for them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("integration", sa.Column("scope_rules", sa.JSON(), nullable=True))
    op.add_column("integration", sa.Column("transforms", sa.JSON(), nullable=True))
    # A plain column, no foreign key: SQLite cannot add one without rebuilding import_run (and its
    # partial unique index); the code that writes it checks the run exists.
    op.add_column("import_run", sa.Column("undo_of_id", sa.Integer(), nullable=True))
    op.create_index("ix_import_run_undo_of_id", "import_run", ["undo_of_id"])


def downgrade() -> None:
    with op.batch_alter_table("import_run") as batch:
        batch.drop_index("ix_import_run_undo_of_id")
        batch.drop_column("undo_of_id")
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("transforms")
        batch.drop_column("scope_rules")
