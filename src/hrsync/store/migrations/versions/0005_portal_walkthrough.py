"""What the portal needs to explain itself: per-integration run numbers, ignored people, names on issues.

* ``import_run.number`` counts runs per integration (#1, #2, … in each history), backfilled in
  creation order; ``uq_import_run_integration_number`` keeps it unique.
* ``import_run.ignored`` counts inactive people who were never members (nothing to do), so a
  run's counts add up to the number of people read.
* ``import_issue.person_name`` is the name of the person an error or warning is about, as the
  source gave it, so the error file identifies people without a lookup.
* ``integration.status_before_revoke`` remembers whether the integration was live or paused
  when its key was revoked; authorizing again restores it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_run", sa.Column("number", sa.Integer(), nullable=True))
    op.add_column("import_run", sa.Column("ignored", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("import_issue", sa.Column("person_name", sa.String(length=255), nullable=True))
    op.add_column("integration", sa.Column("status_before_revoke", sa.String(length=16), nullable=True))
    # Number existing runs per integration in the order they were created (portable SQL: a
    # correlated count works on SQLite and PostgreSQL alike).
    op.execute(
        "UPDATE import_run SET number = (SELECT COUNT(*) FROM import_run AS earlier "
        "WHERE earlier.integration_id = import_run.integration_id AND earlier.id <= import_run.id)"
    )
    op.create_index("uq_import_run_integration_number", "import_run", ["integration_id", "number"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_import_run_integration_number", table_name="import_run")
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("status_before_revoke")
    with op.batch_alter_table("import_issue") as batch:
        batch.drop_column("person_name")
    with op.batch_alter_table("import_run") as batch:
        batch.drop_column("ignored")
        batch.drop_column("number")
