"""Members are found and sorted by folded keys (issue 25; docs/decisions/0036).

* ``member.search_key``: the names, e-mail and employee ID folded for case and accents in every
  script (:mod:`hrsync.domain.search`); a search matches its folded words against it, alike on
  SQLite and PostgreSQL. PostgreSQL's trigram index ``ix_member_search_trgm`` moves from the
  ``lower(...)`` expression onto this column.
* ``member.sort_key``: the name as the members list shows it ("Family, Given", the preferred name
  first), folded; the list sorts by it (byte order: collation "C" on PostgreSQL). The index
  ``ix_member_programme_id_last_name`` gives way to ``ix_member_programme_id_sort_key`` (SQLite,
  covering the search key too) and ``ix_member_programme_id_sort_key_pg`` (PostgreSQL).

Both keys are filled for every existing member here (in batches, from the stored values). The
downgrade drops them and puts the old indexes back.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hrsync.store.member_keys import refresh_all_member_keys

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_SEARCH = ("lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
               "coalesce(email_lower, '') || ' ' || coalesce(employee_id, ''))")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    sort_type = sa.Text(collation="C") if postgresql else sa.Text()
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("search_key", sa.Text(), nullable=False, server_default=sa.text("''")))
        batch.add_column(sa.Column("sort_key", sort_type, nullable=False, server_default=sa.text("''")))
    refresh_all_member_keys(op.get_bind())
    op.drop_index("ix_member_programme_id_last_name", table_name="member")
    if postgresql:
        op.drop_index("ix_member_search_trgm", table_name="member")
        op.create_index("ix_member_search_trgm", "member", ["search_key"], postgresql_using="gin",
                        postgresql_ops={"search_key": "gin_trgm_ops"})
        op.create_index("ix_member_programme_id_sort_key_pg", "member", ["programme_id", "sort_key"])
    else:
        op.create_index("ix_member_programme_id_sort_key", "member", ["programme_id", "sort_key", "search_key"])


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.drop_index("ix_member_programme_id_sort_key_pg", table_name="member")
        op.drop_index("ix_member_search_trgm", table_name="member")
        op.create_index("ix_member_search_trgm", "member", [sa.literal_column(_OLD_SEARCH)],
                        postgresql_using="gin", postgresql_ops={_OLD_SEARCH: "gin_trgm_ops"})
    else:
        op.drop_index("ix_member_programme_id_sort_key", table_name="member")
    op.create_index("ix_member_programme_id_last_name", "member",
                    ["programme_id", "last_name", "first_name", "email_lower", "employee_id"])
    with op.batch_alter_table("member") as batch:
        batch.drop_column("sort_key")
        batch.drop_column("search_key")
