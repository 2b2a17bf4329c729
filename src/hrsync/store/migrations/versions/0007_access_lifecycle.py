"""Who can get in, and for how long (issue 14).

* ``admin_user.role`` (owner, administrator, read_only) and ``admin_user.deactivated_at``. Every
  administrator who existed before roles could do everything, so each becomes an owner: nobody
  loses a right by upgrading, and every programme keeps at least one owner.
* ``api_token.scopes`` (read, import, approve, comma-separated) and ``api_token.expires_at``.
  Tokens made before scopes keep all three and expire 90 days after this migration, like a new one.
* ``portal_session``: server-side sessions for administrators and members (the cookie holds a
  random id; only its SHA-256 is stored), so that signing out ends them everywhere at once.
* ``throttle_bucket``: failed sign-ins per account and per client address, shared by every process.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from hrsync.store.types import BigId, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("admin_user", sa.Column("role", sa.String(length=16), nullable=False,
                                          server_default="administrator"))
    op.add_column("admin_user", sa.Column("deactivated_at", UTCDateTime(), nullable=True))
    op.execute(sa.text("UPDATE admin_user SET role = 'owner'"))

    op.add_column("api_token", sa.Column("scopes", sa.String(length=64), nullable=False, server_default="read"))
    op.add_column("api_token", sa.Column("expires_at", UTCDateTime(), nullable=True))
    expires = datetime.now(UTC) + timedelta(days=90)
    op.get_bind().execute(
        sa.table("api_token", sa.column("scopes", sa.String), sa.column("expires_at", UTCDateTime()))
        .update().values(scopes="read,import,approve", expires_at=expires)
    )

    op.create_table(
        "portal_session",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("admin_id", sa.Integer(), sa.ForeignKey("admin_user.id", ondelete="CASCADE",
                                                           name="fk_portal_session_admin_id_admin_user"),
                  nullable=True),
        sa.Column("member_id", BigId, sa.ForeignKey("member.id", ondelete="CASCADE",
                                                    name="fk_portal_session_member_id_member"), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=32), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_portal_session"),
        sa.UniqueConstraint("token_hash", name="uq_portal_session_token_hash"),
    )
    op.create_index("ix_portal_session_admin_id", "portal_session", ["admin_id"])
    op.create_index("ix_portal_session_member_id", "portal_session", ["member_id"])

    op.create_table(
        "throttle_bucket",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("window_started_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_throttle_bucket"),
    )


def downgrade() -> None:
    op.drop_table("throttle_bucket")
    op.drop_index("ix_portal_session_member_id", table_name="portal_session")
    op.drop_index("ix_portal_session_admin_id", table_name="portal_session")
    op.drop_table("portal_session")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("scopes")
    with op.batch_alter_table("admin_user") as batch:
        batch.drop_column("deactivated_at")
        batch.drop_column("role")
