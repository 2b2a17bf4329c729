"""A kind's settings in generic columns (issue 23, item 3; docs/decisions/0032-source-kind-contract.md).

``integration.subdomain`` (intelliHR's) and ``integration.source_settings`` (every other kind's) fold
into ``integration.settings`` (JSON, what is not secret); ``api_key_encrypted`` and ``api_key_last4``
become ``secret_encrypted`` and ``secret_last4``, the one encrypted secret a kind may have. The
ciphertext is copied as it is: the keyring that encrypted it reads it unchanged.

The downgrade puts them back: an intelliHR integration's ``settings.subdomain`` in ``subdomain`` (its
other settings, if any, in ``source_settings``), every other kind's settings in ``source_settings``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = sa.table(
    "integration", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("subdomain", sa.String),
    sa.column("source_settings", sa.JSON), sa.column("api_key_encrypted", sa.Text),
    sa.column("api_key_last4", sa.String), sa.column("settings", sa.JSON), sa.column("secret_encrypted", sa.Text),
    sa.column("secret_last4", sa.String),
)


def _rows() -> list[Any]:
    return list(op.get_bind().execute(sa.select(_OLD)).mappings())


def upgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.add_column(sa.Column("settings", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("secret_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("secret_last4", sa.String(length=4), nullable=True))
    bind = op.get_bind()
    for row in _rows():
        settings = dict(row["source_settings"] or {})
        if row["subdomain"]:
            settings["subdomain"] = row["subdomain"]
        bind.execute(_OLD.update().where(_OLD.c.id == row["id"]).values(
            settings=settings or None, secret_encrypted=row["api_key_encrypted"], secret_last4=row["api_key_last4"]))
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("subdomain")
        batch.drop_column("source_settings")
        batch.drop_column("api_key_encrypted")
        batch.drop_column("api_key_last4")


def downgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.add_column(sa.Column("subdomain", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("api_key_encrypted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("api_key_last4", sa.String(length=4), nullable=True))
        batch.add_column(sa.Column("source_settings", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for row in _rows():
        settings = dict(row["settings"] or {})
        subdomain = settings.pop("subdomain", None) if row["kind"] == "intellihr" else None
        bind.execute(_OLD.update().where(_OLD.c.id == row["id"]).values(
            subdomain=subdomain, source_settings=settings or None, api_key_encrypted=row["secret_encrypted"],
            api_key_last4=row["secret_last4"]))
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("settings")
        batch.drop_column("secret_encrypted")
        batch.drop_column("secret_last4")
