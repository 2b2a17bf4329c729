"""Inbound SCIM 2.0 (issue 24; docs/scim.md): a SCIM client's names for the members it created.

* ``scim_user``: one row per member the SCIM door created: its ``userName`` (and the lower-cased key
  that makes it unique per integration), the client's ``externalId``, and when the client deleted it
  (``deleted_at``). A SCIM integration's token lives in the integration's settings (only its
  SHA-256), so no other table changes.

The downgrade drops the table; the members stay, owned by their (SCIM) integration.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hrsync.store.types import BigId, UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_user",
        sa.Column("member_id", BigId,
                  sa.ForeignKey("member.id", name="fk_scim_user_member_id_member", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("integration_id", sa.Integer(),
                  sa.ForeignKey("integration.id", name="fk_scim_user_integration_id_integration",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("user_name", sa.String(320), nullable=False),
        sa.Column("user_name_key", sa.String(320), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name="pk_scim_user"),
        sa.UniqueConstraint("integration_id", "user_name_key", name="uq_scim_user_integration_id_user_name_key"),
    )
    op.create_index("ix_scim_user_integration_id_external_id", "scim_user", ["integration_id", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_scim_user_integration_id_external_id", table_name="scim_user")
    op.drop_table("scim_user")
