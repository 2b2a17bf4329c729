"""PATCH (RFC 7644 §3.5.2) applied to a User's SCIM body, in every form the clients send.

The patched body is then stored like a PUT, so a PATCH is held to exactly the same rules. Forms
accepted besides the RFC's own: a capitalised ``op`` ("Replace", Entra), ``"True"``/``"False"`` strings
for booleans (read where the value is used), and a path-less ``replace``/``add`` whose value holds
dotted or URN-prefixed keys (``{"name.givenName": "Ann"}``, ``{"urn:…:enterprise:2.0:User:department": "X"}``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hrsync.scim.discovery import ENTERPRISE, PATCH_OP, USER
from hrsync.scim.errors import ScimError, bad_request

_VALUE_FILTER = re.compile(r'^\s*(\w+)\s+eq\s+(?:"((?:[^"\\]|\\.)*)"|(true|false))\s*$', re.IGNORECASE)
_PATH = re.compile(r"^(?P<attr>[A-Za-z][\w$-]*)(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z][\w$-]*))?$")
_READ_ONLY = {"id", "meta", "schemas"}


@dataclass(frozen=True)
class Path:
    container: str | None  # ENTERPRISE for the extension's attributes, None for the core schema
    attr: str
    value_filter: tuple[str, str | bool] | None = None
    sub: str | None = None


def parse_path(raw: str) -> Path:
    """``name.givenName``, ``emails[type eq "work"].value``, ``urn:…:enterprise:2.0:User:manager`` …"""
    text = raw.strip()
    container = None
    if text.lower() == ENTERPRISE.lower():  # the whole extension
        return Path(None, ENTERPRISE)
    if text.lower().startswith(ENTERPRISE.lower() + ":"):
        container, text = ENTERPRISE, text[len(ENTERPRISE) + 1:]
    elif text.lower().startswith(USER.lower() + ":"):
        text = text[len(USER) + 1:]
    match = _PATH.match(text)
    if not match:
        raise ScimError(400, f"The path {raw[:80]!r} is not one hrsync understands.", "invalidPath")
    value_filter = None
    if match["filter"] is not None:
        inner = _VALUE_FILTER.match(match["filter"])
        if not inner:
            raise ScimError(400, f"The value filter in {raw[:80]!r} is not supported.", "invalidFilter")
        value = inner[2] if inner[2] is not None else inner[3].lower() == "true"
        value_filter = (inner[1], value)
    if match["attr"] in _READ_ONLY:
        raise ScimError(400, f"'{match['attr']}' cannot be changed.", "mutability")
    return Path(container, match["attr"], value_filter, match["sub"])


def _key(holder: Mapping[str, Any], name: str) -> str:
    """The key ``name`` has in ``holder`` (attribute names ignore case), or ``name`` itself."""
    return next((k for k in holder if k.lower() == name.lower()), name)


def _matches(item: Any, value_filter: tuple[str, str | bool]) -> bool:
    if not isinstance(item, dict):
        return False
    name, wanted = value_filter
    got = item.get(_key(item, name))
    if isinstance(wanted, bool):
        return str(got).lower() == str(wanted).lower()
    return isinstance(got, str) and got.lower() == wanted.lower()


def _holder(body: dict[str, Any], path: Path) -> dict[str, Any]:
    if path.container is None:
        return body
    ext = body.setdefault(ENTERPRISE, {})
    if not isinstance(ext, dict):
        raise bad_request("The enterprise extension must be an object.")
    return ext


def _set(body: dict[str, Any], path: Path, value: Any, *, add: bool) -> None:
    holder = _holder(body, path)
    key = _key(holder, path.attr)
    if path.value_filter is None:
        if path.sub is None:
            if add and isinstance(holder.get(key), list) and isinstance(value, list):
                holder[key] = holder[key] + [v for v in value if v not in holder[key]]
            elif add and isinstance(holder.get(key), dict) and isinstance(value, dict):
                holder[key] = {**holder[key], **value}
            else:
                holder[key] = value
            return
        inner = holder.setdefault(key, {})
        if not isinstance(inner, dict):
            raise ScimError(400, f"'{path.attr}' has no sub-attribute '{path.sub}'.", "invalidPath")
        inner[_key(inner, path.sub)] = value
        return
    items = holder.setdefault(key, [])
    if not isinstance(items, list):
        raise ScimError(400, f"'{path.attr}' is not multi-valued.", "invalidPath")
    found = [item for item in items if _matches(item, path.value_filter)]
    if not found:  # Entra's "replace emails[type eq "work"].value" on a user without one: add it
        found = [{path.value_filter[0]: path.value_filter[1]}]
        items.append(found[0])
    for item in found:
        if path.sub is None:
            if not isinstance(value, dict):
                raise bad_request(f"'{path.attr}' values are objects.")
            item.update(value)
        else:
            item[_key(item, path.sub)] = value


def _remove(body: dict[str, Any], path: Path, value: Any) -> None:
    holder = _holder(body, path)
    key = _key(holder, path.attr)
    if key not in holder:
        return
    if path.value_filter is None and path.sub is None:
        if isinstance(holder[key], list) and isinstance(value, list):  # remove the listed values only
            holder[key] = [item for item in holder[key] if item not in value]
        else:
            del holder[key]
    elif path.value_filter is None:
        if isinstance(holder[key], dict):
            holder[key].pop(_key(holder[key], path.sub or ""), None)
    elif isinstance(holder[key], list):
        kept = []
        for item in holder[key]:
            if not _matches(item, path.value_filter):
                kept.append(item)
            elif path.sub is not None:
                item.pop(_key(item, path.sub), None)
                kept.append(item)
        holder[key] = kept


def _pathless(body: dict[str, Any], value: Any, *, add: bool) -> None:
    if not isinstance(value, dict):
        raise ScimError(400, "An operation without a path needs an object as its value.", "invalidValue")
    for name, item in value.items():
        if name in _READ_ONLY or name.lower() == "schemas":
            continue
        if name.lower() == ENTERPRISE.lower() and isinstance(item, dict):
            for sub_name, sub_value in item.items():
                _set(body, Path(ENTERPRISE, sub_name), sub_value, add=add)
            continue
        _set(body, parse_path(name), item, add=add)


def apply_patch(current: Mapping[str, Any], request: Any) -> dict[str, Any]:
    """The User body after the request's operations, in order; raises :class:`ScimError` (400)."""
    if not isinstance(request, dict) or not isinstance(request.get("Operations"), list):
        raise ScimError(400, "A PATCH needs an 'Operations' list.", "invalidSyntax")
    schemas = request.get("schemas")
    if schemas is not None and PATCH_OP not in (schemas if isinstance(schemas, list) else [schemas]):
        raise ScimError(400, f"A PATCH body's schemas must include {PATCH_OP}.", "invalidSyntax")
    body = copy.deepcopy(dict(current))
    body.pop("meta", None)
    for operation in request["Operations"]:
        if not isinstance(operation, dict):
            raise ScimError(400, "Each operation must be an object.", "invalidSyntax")
        op = str(operation.get("op", "")).strip().lower()
        path, value = operation.get("path"), operation.get("value")
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"Unknown PATCH op {str(operation.get('op'))[:20]!r}.", "invalidSyntax")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, "'path' must be a string.", "invalidPath")
        if op == "remove":
            if not path:
                raise ScimError(400, "A remove needs a path.", "noTarget")
            _remove(body, parse_path(path), value)
        elif not path:
            _pathless(body, value, add=op == "add")
        else:
            _set(body, parse_path(path), value, add=op == "add")
    return body
