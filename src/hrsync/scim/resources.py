"""A member as a SCIM User, and a SCIM User as the values of a member (docs/scim.md, "Attributes").

A User sent by a client is first *flattened* into source values keyed like a source's fields
(``userName``, ``name.givenName``, ``emails.work``, ``employeeNumber`` …); the integration's mapping
then picks member fields from them, each from the first non-blank key of a ``|``-separated list
(``employeeNumber|externalId``), exactly as an import maps a person.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hrsync.scim.discovery import ENTERPRISE, USER
from hrsync.scim.errors import bad_request

#: Member field → SCIM source keys, first non-blank wins (the integration's mapping starts from it).
DEFAULT_MAPPING: dict[str, str] = {
    "employee_id": "employeeNumber|externalId",
    "email": "emails.work|emails.primary|emails.first|userName",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "job_title": "title",
    "department": "department",
    "manager": "manager.displayName|manager.value",
}

#: The SCIM source keys a mapping may name (what ``flatten`` can produce).
SOURCE_KEYS = (
    "userName", "externalId", "displayName", "nickName", "title", "name.givenName", "name.familyName",
    "name.formatted", "emails.work", "emails.primary", "emails.first", "employeeNumber", "department",
    "costCenter", "organization", "division", "manager.value", "manager.displayName",
    "preferredLanguage", "locale", "userType",
)
_ENTERPRISE_KEYS = ("employeeNumber", "department", "costCenter", "organization", "division")
_ACTIVE_STATUSES = ("invited", "active")  # pending: created inactive, no access yet


def truthy(value: Any) -> bool:
    """A SCIM boolean as clients send it: true/false, or Entra's "True"/"False" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_request(f"'active' must be true or false, not {str(value)[:40]!r}.")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise bad_request("A text attribute was given an object or a list.")
    text = str(value).strip()
    return text or None


def _emails(user: Mapping[str, Any]) -> dict[str, str | None]:
    emails = user.get("emails") or []
    if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
        raise bad_request("'emails' must be a list of objects.")
    work = next((e.get("value") for e in emails if str(e.get("type", "")).lower() == "work"), None)
    primary = next((e.get("value") for e in emails if e.get("primary") in (True, "True", "true")), None)
    first = emails[0].get("value") if emails else None
    return {"emails.work": _text(work), "emails.primary": _text(primary), "emails.first": _text(first)}


def flatten(user: Mapping[str, Any]) -> dict[str, str | None]:
    """The SCIM source values of a User as a client sent it (after any PATCH was applied)."""
    name = user.get("name") or {}
    enterprise = user.get(ENTERPRISE) or {}
    if not isinstance(name, dict) or not isinstance(enterprise, dict):
        raise bad_request("'name' and the enterprise extension must be objects.")
    manager = enterprise.get("manager") or {}
    if isinstance(manager, str):  # some clients send the manager's id as a bare string
        manager = {"value": manager}
    values: dict[str, str | None] = {
        key: _text(user.get(key))
        for key in ("userName", "externalId", "displayName", "nickName", "title", "preferredLanguage", "locale",
                    "userType")
    }
    values.update({f"name.{k}": _text(name.get(k)) for k in ("givenName", "familyName", "formatted")})
    values.update(_emails(user))
    values.update({k: _text(enterprise.get(k)) for k in _ENTERPRISE_KEYS})
    values.update({f"manager.{k}": _text(manager.get(k)) for k in ("value", "displayName")})
    return values


def mapped(values: Mapping[str, str | None], mapping: Mapping[str, str]) -> dict[str, str | None]:
    """Member field → value, by the integration's mapping (first non-blank key of each entry)."""
    fields: dict[str, str | None] = {}
    for target, keys in mapping.items():
        fields[target] = next((values[k] for k in keys.split("|") if values.get(k)), None)
    return fields


@dataclass(frozen=True)
class StoredUser:
    """What the SCIM door reads back for one member (the service's read model)."""

    id: int
    user_name: str
    external_id: str | None
    employee_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    attributes: Mapping[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime


def to_scim(user: StoredUser, base: str) -> dict[str, Any]:
    """The full SCIM User for a stored member (``meta.version`` is its ETag)."""
    body: dict[str, Any] = {"schemas": [USER, ENTERPRISE], "id": str(user.id), "userName": user.user_name}
    if user.external_id:
        body["externalId"] = user.external_id
    name = {k: v for k, v in (("givenName", user.first_name), ("familyName", user.last_name)) if v}
    if name:
        body["name"] = name
        body["displayName"] = " ".join(v for v in (user.first_name, user.last_name) if v)
    if user.email:
        body["emails"] = [{"value": user.email, "type": "work", "primary": True}]
    if user.attributes.get("job_title"):
        body["title"] = user.attributes["job_title"]
    body["active"] = user.status in _ACTIVE_STATUSES
    enterprise = {k: v for k, v in (("employeeNumber", user.employee_id),
                                    ("department", user.attributes.get("department"))) if v}
    if user.attributes.get("manager"):
        enterprise["manager"] = {"value": user.attributes["manager"]}
    body[ENTERPRISE] = enterprise
    version = etag_of(body)
    body["meta"] = {
        "resourceType": "User", "created": _iso(user.created_at), "lastModified": _iso(user.updated_at),
        "location": f"{base}/Users/{user.id}", "version": version,
    }
    return body


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def etag_of(body: Mapping[str, Any]) -> str:
    """A weak ETag of a User's content (its ``meta`` aside): changes whenever anything returned does."""
    content = {k: v for k, v in body.items() if k != "meta"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    return f'W/"{digest}"'


# -- attributes / excludedAttributes (RFC 7644 §3.4.2.5) ---------------------------------------------

_ALWAYS = {"id", "schemas", "meta"}  # returned "always" (meta is default, kept for the version)


def _split(names: str | None) -> list[tuple[str, str | None]]:
    """``"userName,name.givenName,urn:…:User:department"`` → [(top, sub)], URN prefixes resolved."""
    wanted: list[tuple[str, str | None]] = []
    for raw in (names or "").split(","):
        name = raw.strip()
        if not name:
            continue
        if name.lower().startswith(ENTERPRISE.lower() + ":"):
            wanted.append((ENTERPRISE, name[len(ENTERPRISE) + 1:]))
            continue
        if name.lower().startswith(USER.lower() + ":"):
            name = name[len(USER) + 1:]
        top, _, sub = name.partition(".")
        wanted.append((top, sub or None))
    return wanted


def _find(body: Mapping[str, Any], name: str) -> str | None:
    return next((k for k in body if k.lower() == name.lower()), None)


def project(body: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """The User cut to ``attributes`` (plus what is always returned), or without ``excluded``."""
    if attributes:
        kept: dict[str, Any] = {k: v for k, v in body.items() if k in _ALWAYS}
        for top, sub in _split(attributes):
            key = _find(body, top)
            if key is None:
                continue
            if sub is None or not isinstance(body[key], dict):
                kept[key] = body[key]
            else:
                inner = _find(body[key], sub.partition(".")[0])
                if inner is not None:
                    kept.setdefault(key, {})[inner] = body[key][inner]
        return kept
    if excluded:
        body = dict(body)
        for top, sub in _split(excluded):
            key = _find(body, top)
            if key is None or key in _ALWAYS:
                continue
            if sub is None:
                del body[key]
            elif isinstance(body[key], dict):
                body[key] = {k: v for k, v in body[key].items() if k.lower() != sub.lower()}
        return body
    return body
