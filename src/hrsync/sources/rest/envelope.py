"""The list envelope ``{"data": [...], "meta": {"pagination": {...}}}``, checked before anything in it
is believed (a JSON:API-like shape many REST APIs answer in).

A page that parses as JSON but lacks ``data`` or ``meta.pagination`` (a proxy's error page, an API
change) must stop the import with a message naming the request; silently reading zero people
would turn everyone into a leaver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hrsync.sources.base import SourceError


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    total_pages: int


def read_list_page(body: Any, request: str, *, service: str = "the source") -> Page:
    """Validate ``{"data": [...], "meta": {"pagination": {...}}}``; ``links`` may be anything."""
    if not isinstance(body, dict):
        raise _shape("the answer is not a JSON object", request, service)
    data = body.get("data")
    if not isinstance(data, list):
        raise _shape("the answer has no 'data' list", request, service)
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    if not isinstance(pagination, dict):
        raise _shape("the answer has no 'meta.pagination'", request, service)
    total = _count(pagination, "total", request, service)
    total_pages = _count(pagination, "total_pages", request, service)
    count = pagination.get("count")
    if _is_int(count) and count != len(data):
        raise _shape(f"'meta.pagination.count' says {count} but 'data' holds {len(data)} items", request, service)
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise _shape("an item in 'data' is not an object with an 'id'", request, service)
    return Page(items=data, total=total, total_pages=total_pages)


def read_single(body: Any, request: str, *, service: str = "the source") -> dict[str, Any]:
    """Validate ``{"data": {...}}`` for a single record."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise _shape("the answer has no 'data' object with an 'id'", request, service)
    return data


def _count(pagination: dict[str, Any], key: str, request: str, service: str) -> int:
    value = pagination.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _shape(f"'meta.pagination.{key}' is missing or not a whole number", request, service)
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(what: str, request: str, service: str) -> SourceError:
    return SourceError(
        f"{service} answered in an unexpected shape: {what}", code="unexpected_shape", request=request
    )
