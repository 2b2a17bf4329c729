"""Initial schema: programmes, administrators, integrations, members, runs, audit, outbox, tokens.

Timestamps are UTC (``timezone=True``); the trigram search index and its pg_trgm extension exist on
PostgreSQL only (SQLite scans, see hrsync.store.models).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Europe/London", nullable=False),
        sa.Column("date_format", sa.String(length=16), server_default="DD/MM/YYYY", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint("name", name=op.f("uq_programme_name")),
    )
    op.create_table(
        "admin_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_lower", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_admin_user_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_user")),
        sa.UniqueConstraint(
            "programme_id", "email_lower", name=op.f("uq_admin_user_programme_id_email_lower")
        ),
    )
    op.create_index("ix_admin_user_email_lower", "admin_user", ["email_lower"], unique=False)
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["admin_user.id"],
            name=op.f("fk_api_token_created_by_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_api_token_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index("ix_api_token_programme_id", "api_token", ["programme_id"], unique=False)
    op.create_table(
        "integration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), server_default="intellihr", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("subdomain", sa.String(length=100), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_key_last4", sa.String(length=4), nullable=True),
        sa.Column("frequency", sa.String(length=16), server_default="manual", nullable=False),
        sa.Column("schedule_time", sa.String(length=5), nullable=True),
        sa.Column("schedule_day", sa.String(length=16), nullable=True),
        sa.Column("date_format", sa.String(length=16), server_default="DD/MM/YYYY", nullable=False),
        sa.Column("welcome_email", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("mapping", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("status_map", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("leaver_threshold_pct", sa.Float(), server_default=sa.text("10.0"), nullable=False),
        sa.Column("blanks_clear_values", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("vanished_are_leavers", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("wizard_step", sa.String(length=32), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["admin_user.id"],
            name=op.f("fk_integration_owner_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_integration_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration")),
    )
    op.create_index("ix_integration_programme_id", "integration", ["programme_id"], unique=False)
    op.create_index(
        "ix_integration_status_next_run_at", "integration", ["status", "next_run_at"], unique=False
    )
    op.create_table(
        "activity_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("admin_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["admin_user.id"],
            name=op.f("fk_activity_log_admin_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_activity_log_integration_id_integration"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_activity_log_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_log")),
    )
    op.create_index(
        "ix_activity_log_integration_id_created_at",
        "activity_log",
        ["integration_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_activity_log_programme_id_created_at",
        "activity_log",
        ["programme_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), server_default="manual", nullable=False),
        sa.Column("triggered_by_id", sa.Integer(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="queued", nullable=False),
        sa.Column("phase", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("processed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("created", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("leavers", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reinstated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("pending", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("errors", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("warnings", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["admin_user.id"],
            name=op.f("fk_import_run_decided_by_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_import_run_integration_id_integration"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_import_run_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["triggered_by_id"],
            ["admin_user.id"],
            name=op.f("fk_import_run_triggered_by_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_index(
        "ix_import_run_integration_id_created_at",
        "import_run",
        ["integration_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_import_run_status", "import_run", ["status"], unique=False)
    op.create_index(
        "uq_import_run_one_active",
        "import_run",
        ["integration_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running', 'held')"),
        postgresql_where=sa.text("status IN ('queued', 'running', 'held')"),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("employee_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_lower", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("attributes", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("employment_status", sa.String(length=100), nullable=True),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("leaving_date", sa.Date(), nullable=True),
        sa.Column("leaver_since", sa.Date(), nullable=True),
        sa.Column("access_until", sa.Date(), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_member_integration_id_integration"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_member_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("programme_id", "email_lower", name=op.f("uq_member_programme_id_email_lower")),
        sa.UniqueConstraint("programme_id", "employee_id", name=op.f("uq_member_programme_id_employee_id")),
    )
    op.create_index(
        "ix_member_programme_id_last_name",
        "member",
        ["programme_id", "last_name", "first_name", "email_lower", "employee_id"],
        unique=False,
    )
    op.create_index("ix_member_programme_id_status", "member", ["programme_id", "status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_member_search_trgm",
            "member",
            [
                sa.literal_column(
                    "lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
                    "coalesce(email_lower, '') || ' ' || coalesce(employee_id, ''))"
                ).label("member_search")
            ],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"member_search": "gin_trgm_ops"},
        )
    op.create_table(
        "auth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("admin_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["admin_id"],
            ["admin_user.id"],
            name=op.f("fk_auth_token_admin_id_admin_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_auth_token_member_id_member"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_token_token_hash")),
    )
    op.create_table(
        "import_issue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("employee_id", sa.String(length=255), nullable=True),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_run.id"], name=op.f("fk_import_issue_run_id_import_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_issue")),
    )
    op.create_index("ix_import_issue_run_id", "import_issue", ["run_id"], unique=False)
    op.create_table(
        "member_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_member_event_member_id_member"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_member_event_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_run.id"], name=op.f("fk_member_event_run_id_import_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_event")),
    )
    op.create_index("ix_member_event_member_id", "member_event", ["member_id"], unique=False)
    op.create_index("ix_member_event_run_id", "member_event", ["run_id"], unique=False)
    op.create_table(
        "outbox_email",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_outbox_email_member_id_member"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_outbox_email_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_run.id"], name=op.f("fk_outbox_email_run_id_import_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_email")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_email_dedup_key")),
    )
    op.create_index("ix_outbox_email_run_id", "outbox_email", ["run_id"], unique=False)
    op.create_index(
        "ix_outbox_email_status_next_attempt_at", "outbox_email", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_email_status_next_attempt_at", table_name="outbox_email")
    op.drop_index("ix_outbox_email_run_id", table_name="outbox_email")
    op.drop_table("outbox_email")
    op.drop_index("ix_member_event_run_id", table_name="member_event")
    op.drop_index("ix_member_event_member_id", table_name="member_event")
    op.drop_table("member_event")
    op.drop_index("ix_import_issue_run_id", table_name="import_issue")
    op.drop_table("import_issue")
    op.drop_table("auth_token")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(
            "ix_member_search_trgm",
            table_name="member",
            postgresql_using="gin",
            postgresql_ops={"member_search": "gin_trgm_ops"},
        )
    op.drop_index("ix_member_programme_id_status", table_name="member")
    op.drop_index("ix_member_programme_id_last_name", table_name="member")
    op.drop_table("member")
    op.drop_index(
        "uq_import_run_one_active",
        table_name="import_run",
        sqlite_where=sa.text("status IN ('queued', 'running', 'held')"),
        postgresql_where=sa.text("status IN ('queued', 'running', 'held')"),
    )
    op.drop_index("ix_import_run_status", table_name="import_run")
    op.drop_index("ix_import_run_integration_id_created_at", table_name="import_run")
    op.drop_table("import_run")
    op.drop_index("ix_activity_log_programme_id_created_at", table_name="activity_log")
    op.drop_index("ix_activity_log_integration_id_created_at", table_name="activity_log")
    op.drop_table("activity_log")
    op.drop_index("ix_integration_status_next_run_at", table_name="integration")
    op.drop_index("ix_integration_programme_id", table_name="integration")
    op.drop_table("integration")
    op.drop_index("ix_api_token_programme_id", table_name="api_token")
    op.drop_table("api_token")
    op.drop_index("ix_admin_user_email_lower", table_name="admin_user")
    op.drop_table("admin_user")
    op.drop_table("programme")
