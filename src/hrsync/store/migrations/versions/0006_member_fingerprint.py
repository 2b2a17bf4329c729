"""Members carry a fingerprint of what the last import knew of their person.

* ``member.fingerprint`` (32 hex characters, :mod:`hrsync.domain.fingerprint`): an import that finds a
  person's fingerprint equal to their member's leaves the member unchanged without mapping and
  validating the person again. Every member starts without one (``NULL``): the first import after
  this migration drafts everyone in full and stores them. The fingerprint's key includes the schema
  revision too, so every later migration also makes the next import take everyone the full way.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("member", sa.Column("fingerprint", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("fingerprint")
