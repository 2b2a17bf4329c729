"""What the members pages and the members export show of a member: which fields, labelled how,
dates in which format. The naming and labelling rules themselves live in :mod:`hrsync.domain.display`;
this module only reads what they need (the programme's integrations and their mappings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.display import (
    NAME_FIELDS,
    field_label,
    field_text,
    member_name,
    shown_date_format,
)
from hrsync.domain.fields import KEY_FIELDS, MEMBER_FIELDS
from hrsync.store.models import ImportRun, Integration, Member, Programme
from hrsync.sync.context import mapping_of

#: Member fields kept in their own column (shown with the member's own rows, never twice).
COLUMN_FIELDS = ("start_date",)


def date_format_of(session: Session, programme_id: int) -> str:
    """The date format of the programme's pages and files (see :func:`~hrsync.domain.display.shown_date_format`)."""
    programme = session.get(Programme, programme_id)
    formats = session.scalars(select(Integration.date_format).where(Integration.programme_id == programme_id))
    return shown_date_format(programme.date_format if programme is not None else None, formats)


def attribute_order(keys: Iterable[str]) -> list[str]:
    """Member fields in their catalogue order, then extra attributes by label; names and key fields
    (shown on their own) and column fields left out."""
    keys = set(keys) - set(NAME_FIELDS) - KEY_FIELDS - set(COLUMN_FIELDS)
    known = [k for k in MEMBER_FIELDS if k in keys]
    extra = sorted((k for k in keys if k not in MEMBER_FIELDS), key=lambda k: (field_label(k).lower(), k))
    return known + extra


def mapped_attributes(session: Session, programme_id: int) -> list[str]:
    """Every member field and extra attribute (``custom.*``) some integration of the programme maps,
    except the name and key fields, in :func:`attribute_order`."""
    targets: set[str] = set()
    for integration in session.scalars(select(Integration).where(Integration.programme_id == programme_id)):
        targets.update(mapping_of(integration))
    return attribute_order(targets)


@dataclass(frozen=True)
class ShownField:
    label: str
    text: str


def member_title(member: Member) -> str:
    """The member's name as their page heading shows it."""
    return member_name(member.first_name, member.last_name, member.attributes, deleted=member.status == "deleted")


def member_fields(member: Member, date_format: str) -> list[ShownField]:
    """The member's stored fields beyond the ones their page shows on its own, labelled and formatted."""
    attributes: Mapping[str, Any] = member.attributes or {}
    values: list[tuple[str, Any]] = [("first_name", member.first_name), ("last_name", member.last_name)]
    if attributes.get("preferred_name"):
        values.append(("preferred_name", attributes["preferred_name"]))
    values += [(k, attributes[k]) for k in attribute_order(attributes)]
    return [ShownField(field_label(k), field_text(k, v, date_format) or "—") for k, v in values]


def run_numbers(session: Session, run_ids: Iterable[int | None]) -> dict[int, int]:
    """Each run's number within its integration (what its history calls it), by run id."""
    ids = {i for i in run_ids if i is not None}
    if not ids:
        return {}
    return {run.id: run.history_number for run in session.scalars(select(ImportRun).where(ImportRun.id.in_(ids)))}

