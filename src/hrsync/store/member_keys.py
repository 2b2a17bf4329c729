"""Keeping every member's ``search_key`` and ``sort_key`` true (:mod:`hrsync.domain.search` makes them).

Three ways a member row is written, each covered here once:

* the ORM (a member added or edited by hand, by SCIM, by a member, scrubbed by the close-down):
  the ``before_insert`` / ``before_update`` listeners beside the model recompute the keys from the object;
* a Core ``insert(Member)`` (an import's new members, tests): the columns' Python-side defaults
  compute them from the row (:mod:`hrsync.store.models.members`); the COPY path gets them in the row;
* a Core or bulk ``update(Member)`` (an import's updates, an undo): it cannot see the columns it does not
  set, so the writer calls :func:`refresh_member_keys` for the members whose names, e-mail,
  employee ID or attributes it changed, in the same transaction.

:func:`refresh_all_member_keys` recomputes every row (the migration that added the keys uses it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import sqlalchemy as sa
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hrsync.domain.search import member_keys
from hrsync.store.models import Member
from hrsync.store.types import IN_CHUNK

#: The columns the keys are made of: a write that sets any of them must leave the keys recomputed.
KEY_SOURCES = frozenset({"first_name", "last_name", "email", "employee_id", "attributes"})


def needs_new_keys(written: Iterable[str]) -> bool:
    """Whether a write of these columns changes what the keys are made of."""
    return not KEY_SOURCES.isdisjoint(written)


def refresh_member_keys(session: Session, member_ids: Iterable[int]) -> None:
    """Recompute the keys of these members from what they hold now (after a Core or bulk update)."""
    ids = sorted(set(member_ids))
    table = cast(sa.Table, Member.__table__)
    statement = (
        update(table).where(table.c.id == bindparam("member_id"))
        .values(search_key=bindparam("new_search_key"), sort_key=bindparam("new_sort_key"),
                updated_at=table.c.updated_at)
    )
    for i in range(0, len(ids), IN_CHUNK):
        rows = session.execute(
            select(Member.id, Member.first_name, Member.last_name, Member.email, Member.employee_id,
                   Member.attributes, Member.search_key, Member.sort_key)
            .where(Member.id.in_(ids[i:i + IN_CHUNK]))
        ).all()
        changed = []
        for member_id, first, last, email, employee_id, attributes, search_key, sort_key in rows:
            preferred = attributes.get("preferred_name") if isinstance(attributes, dict) else None
            keys = member_keys(first, last, preferred, email, employee_id)
            if (search_key, sort_key) != (keys["search_key"], keys["sort_key"]):
                changed.append({"member_id": member_id, "new_search_key": keys["search_key"],
                                "new_sort_key": keys["sort_key"]})
        if changed:
            session.execute(statement, changed, execution_options={"synchronize_session": False})


def refresh_all_member_keys(connection: Connection) -> int:
    """Recompute every member's keys on ``connection`` (a migration's); how many rows changed."""
    table = sa.table("member", *(sa.column(name) for name in (
        "id", "first_name", "last_name", "email", "employee_id", "search_key", "sort_key")),
        sa.column("attributes", sa.JSON))  # the columns as they are then, not as the model says now
    statement = (
        update(table).where(table.c.id == bindparam("member_id"))
        .values(search_key=bindparam("new_search_key"), sort_key=bindparam("new_sort_key"))
    )
    last_id, written = 0, 0
    while True:
        rows = connection.execute(
            select(table.c.id, table.c.first_name, table.c.last_name, table.c.email, table.c.employee_id,
                   table.c.attributes).where(table.c.id > last_id).order_by(table.c.id).limit(IN_CHUNK)
        ).all()
        if not rows:
            return written
        batch = []
        for member_id, first, last, email, employee_id, attributes in rows:
            preferred = attributes.get("preferred_name") if isinstance(attributes, dict) else None
            keys = member_keys(first, last, preferred, email, employee_id)
            batch.append({"member_id": member_id, "new_search_key": keys["search_key"],
                          "new_sort_key": keys["sort_key"]})
        connection.execute(statement, batch)
        written += len(batch)
        last_id = rows[-1][0]
