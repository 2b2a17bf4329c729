"""Each member has an owner (issue 23, item 1; docs/decisions/0031-member-ownership-and-adoption.md).

* ``member.door``: ``integration`` (owned by ``member.integration_id``) or ``manual`` (added by an
  administrator, owned by no integration).
* Today's members are assigned to the integration that imported them: the integration of the last
  import that wrote their history; failing that, the programme's only integration. A member that
  neither finds (no import ever wrote it, and the programme has none or several integrations) was not
  brought in by an import and becomes ``manual``: an administrator manages it, and no import takes it.

The downgrade drops the column; ``integration_id`` keeps the owners the upgrade filled in (the
previous release reads it the same way).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LAST_IMPORTER = """
UPDATE member SET integration_id = (
    SELECT r.integration_id FROM member_event e JOIN import_run r ON r.id = e.run_id
    WHERE e.member_id = member.id AND r.integration_id IS NOT NULL
    ORDER BY e.id DESC LIMIT 1
)
WHERE integration_id IS NULL
"""

_ONLY_INTEGRATION = """
UPDATE member SET integration_id = (
    SELECT MIN(i.id) FROM integration i WHERE i.programme_id = member.programme_id
)
WHERE integration_id IS NULL
  AND (SELECT COUNT(*) FROM integration i WHERE i.programme_id = member.programme_id) = 1
"""

_REST_ARE_MANUAL = "UPDATE member SET door = 'manual' WHERE integration_id IS NULL"


def upgrade() -> None:
    op.add_column("member", sa.Column("door", sa.String(length=16), nullable=False,
                                      server_default=sa.text("'integration'")))
    op.execute(_LAST_IMPORTER)
    op.execute(_ONLY_INTEGRATION)
    op.execute(_REST_ARE_MANUAL)


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("door")
