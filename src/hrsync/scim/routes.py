"""``/scim/v2``: the SCIM door's HTTP face (RFC 7644), as Entra ID, Okta and other clients call it.

Each request is authenticated by its integration's bearer token and counted against that token's
rate; reads answer from :mod:`hrsync.services.scim`, writes go through
:mod:`hrsync.services.scim_members` (one transaction each, the integration's row locked first so two
writes of one integration never interleave). Every answer is ``application/scim+json``; refusals are
SCIM errors (with ``scimType`` where the RFC names one) and refused writes are also recorded in the
integration's history.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrsync.config import get_settings
from hrsync.scim import discovery
from hrsync.scim.errors import MEDIA_TYPE, ScimError, bad_request, conflict, not_found
from hrsync.scim.filters import parse_filter
from hrsync.scim.limits import RateLimiter, retry_after
from hrsync.scim.patch import apply_patch
from hrsync.scim.resources import DEFAULT_MAPPING, flatten, mapped, project, to_scim, truthy
from hrsync.services import scim as svc
from hrsync.services import scim_members as writes
from hrsync.services.errors import ServiceError
from hrsync.store import session_scope
from hrsync.store.models import Integration

log = logging.getLogger(__name__)

router = APIRouter(prefix=svc.SCIM_PATH, include_in_schema=False)
#: A deactivation held for an owner's approval (services/scim_hold): accepted, not applied yet.
HELD = 202
_limiter: RateLimiter | None = None


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error_answer(error: ScimError) -> Response:
    return _answer(error.body(), error.status, error.headers)


def _rate(integration_id: int) -> None:
    global _limiter
    per_minute = get_settings().scim_rate_per_minute
    if _limiter is None or _limiter.rate != per_minute / 60.0:
        _limiter = RateLimiter(per_minute)
    wait = _limiter.take(integration_id)
    if wait is not None:
        raise ScimError(429, "Too many requests for this SCIM token: wait and retry.",
                        headers={"Retry-After": retry_after(wait)})


def _token(request: Request) -> str | None:
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else None


def _integration(request: Request) -> int:
    """The caller's live SCIM integration (its id), or 401."""
    with session_scope() as session:
        integration = svc.authenticate(session, _token(request))
        if integration is None:
            raise ScimError(401, "A valid SCIM token is required: send 'Authorization: Bearer <token>'.",
                            headers={"WWW-Authenticate": 'Bearer realm="hrsync SCIM"'})
        integration_id = integration.id
    _rate(integration_id)
    return integration_id


def _scim(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Turns a :class:`ScimError` raised anywhere in ``handler`` into its SCIM answer."""
    def run(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except ScimError as error:
            return error_answer(error)

    return run


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "The body is not JSON.", "invalidSyntax") from None


# -- discovery ---------------------------------------------------------------------------------

def _docs_url() -> str:
    return get_settings().base_url.rstrip("/") + "/api/docs"


def _list(resources: list[dict[str, Any]], total: int | None = None, start: int = 1) -> dict[str, Any]:
    return {"schemas": [discovery.LIST], "totalResults": len(resources) if total is None else total,
            "startIndex": start, "itemsPerPage": len(resources), "Resources": resources}


def _discovered(request: Request, make: Callable[[], Any]) -> Response:
    def handle() -> Response:
        _integration(request)
        return _answer(make())
    return _scim(handle)()


@router.get("/ServiceProviderConfig")
def service_provider_config(request: Request) -> Response:
    return _discovered(request, lambda: discovery.service_provider_config(svc.base_url(), _docs_url()))


@router.get("/ResourceTypes")
def resource_types(request: Request) -> Response:
    return _discovered(request, lambda: _list(discovery.resource_types(svc.base_url())))


def _one(items: list[dict[str, Any]], wanted: str, what: str) -> dict[str, Any]:
    found = [item for item in items if item["id"] == wanted]
    if not found:
        raise not_found(f"{what} {wanted[:80]!r}")
    return found[0]


@router.get("/ResourceTypes/{name}")
def resource_type(request: Request, name: str) -> Response:
    return _discovered(request, lambda: _one(discovery.resource_types(svc.base_url()), name, "Resource type"))


@router.get("/Schemas")
def schemas(request: Request) -> Response:
    return _discovered(request, lambda: _list(discovery.schemas(svc.base_url())))


@router.get("/Schemas/{urn}")
def schema(request: Request, urn: str) -> Response:
    return _discovered(request, lambda: _one(discovery.schemas(svc.base_url()), urn, "Schema"))


# -- reading Users -----------------------------------------------------------------------------

def _search(integration_id: int, query: dict[str, Any]) -> Response:
    """GET /Users and POST .search: the page of matching Users, cut to the attributes asked for."""
    criteria = parse_filter(query.get("filter"))
    start = max(1, _whole(query, "startIndex", 1))  # RFC 7644 §3.4.2.4: below 1 means 1
    count = min(max(0, _whole(query, "count", discovery.MAX_RESULTS)), discovery.MAX_RESULTS)
    with session_scope() as session:
        integration = session.get_one(Integration, integration_id)
        total, users = svc.list_users(session, integration, criteria, start_index=start, count=count)
    found = [project(to_scim(user, svc.base_url()), _names(query, "attributes"), _names(query, "excludedAttributes"))
             for user in users]
    return _answer(_list(found, total, start))


def _whole(query: dict[str, Any], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"'{name}' must be a whole number.") from None


def _names(query: dict[str, Any], name: str) -> str | None:
    """``attributes``: a comma-separated string in a query, a list in a SearchRequest body."""
    value = query.get(name)
    return ",".join(str(v) for v in value) if isinstance(value, list) else value


@router.get("/Users")
def list_users(request: Request) -> Response:
    return _scim(lambda: _search(_integration(request), dict(request.query_params)))()


@router.post("/Users/.search")
@router.post("/.search")
async def search_users(request: Request) -> Response:
    try:
        query = await _body(request)
        if not isinstance(query, dict):
            raise ScimError(400, "A search body is a SearchRequest object.", "invalidSyntax")
    except ScimError as error:
        return error_answer(error)
    return _scim(lambda: _search(_integration(request), query))()


def _current(session: Session, integration: Integration, user_id: str) -> tuple[Any, Any, dict[str, Any]]:
    found = svc.find_user(session, integration, user_id)
    if found is None:
        raise not_found(f"User {user_id[:40]!r}")
    member, scim = found
    return member, scim, to_scim(svc.stored_user(member, scim), svc.base_url())


def _user_body(integration_id: int, user_id: str) -> dict[str, Any]:
    """The stored User as the client sees it (404 for one it does not have)."""
    with session_scope() as session:
        return _current(session, session.get_one(Integration, integration_id), user_id)[2]


def _with_etag(body: dict[str, Any], status: int = 200, extra: dict[str, str] | None = None) -> Response:
    return _answer(body, status, {"ETag": body["meta"]["version"], **(extra or {})})


@router.get("/Users/{user_id}")
def get_user(request: Request, user_id: str) -> Response:
    def handle() -> Response:
        integration_id = _integration(request)
        body = _user_body(integration_id, user_id)
        if request.headers.get("if-none-match") == body["meta"]["version"]:
            return Response(status_code=304, headers={"ETag": body["meta"]["version"]})
        shown = project(body, request.query_params.get("attributes"), request.query_params.get("excludedAttributes"))
        return _with_etag({**shown, "meta": body["meta"]})
    return _scim(handle)()


# -- writing Users -----------------------------------------------------------------------------

def _values(integration: Integration, user: Any) -> writes.ScimValues:
    if not isinstance(user, dict):
        raise ScimError(400, "The body must be a SCIM User object.", "invalidSyntax")
    schemas = user.get("schemas")
    if schemas is not None and discovery.USER not in (schemas if isinstance(schemas, list) else [schemas]):
        raise ScimError(400, f"A User's schemas must include {discovery.USER}.", "invalidSyntax")
    user_name = user.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise bad_request("'userName' is required.")
    if len(user_name) > 320:
        raise bad_request("'userName' has at most 320 characters.")
    flat = flatten(user)
    external = flat.get("externalId")
    active = truthy(user["active"]) if user.get("active") is not None else True
    return writes.ScimValues(mapped(flat, integration.mapping or DEFAULT_MAPPING), user_name.strip(),
                             external[:255] if external else None, active)


def _lock(session: Session, integration_id: int) -> Integration:
    """Take the integration's row first: one write of an integration at a time (SQLite: the write lock)."""
    session.execute(update(Integration).where(Integration.id == integration_id)
                    .values(id=Integration.id).execution_options(synchronize_session=False))
    return session.get_one(Integration, integration_id)


def _write(integration_id: int, action: Callable[[Session, Integration], Any], refused_values: dict[str, Any]) -> Any:
    """Run one write in its own transaction; a refusal is recorded in the history, then answered."""
    try:
        with session_scope() as session:
            return action(session, _lock(session, integration_id))
    except ServiceError as refused:  # the rules of every door (manual_members), or a userName taken
        code = refused.code or "refused"
        error = conflict(refused.reason) if code in writes.CONFLICTS else bad_request(refused.reason)
        reason = refused.reason
    except IntegrityError:  # a concurrent write took the same employee ID, address or userName first
        error = conflict("Another request created this user at the same moment.")
        reason, code = error.detail, "uniqueness"
    with session_scope() as session:
        writes.record_refusal(session, _lock(session, integration_id), refused_values, reason, code)
    raise error


def _if_match(request: Request, body: dict[str, Any]) -> None:
    wanted = request.headers.get("if-match")
    if wanted and wanted != "*" and body["meta"]["version"] not in [v.strip() for v in wanted.split(",")]:
        raise ScimError(412, "The User changed since it was read (its ETag does not match If-Match).")


@router.post("/Users")
async def create_user(request: Request) -> Response:
    try:
        user = await _body(request)
    except ScimError as error:
        return error_answer(error)

    def handle() -> Response:
        integration_id = _integration(request)
        with session_scope() as session:
            values = _values(session.get_one(Integration, integration_id), user)

        def create(session: Session, integration: Integration) -> int:
            return writes.create(session, integration, values).id

        member_id = _write(integration_id, create, values.fields)
        body = _user_body(integration_id, str(member_id))
        return _with_etag(body, 201, {"Location": body["meta"]["location"]})
    return _scim(handle)()


def _change(request: Request, user_id: str, new_body: Callable[[dict[str, Any]], Any]) -> Response:
    """PUT and PATCH: the stored User → its new body → stored like a PUT."""
    integration_id = _integration(request)
    with session_scope() as session:
        integration = session.get_one(Integration, integration_id)
        _m, _s, current = _current(session, integration, user_id)
        _if_match(request, current)
        values = _values(integration, new_body(current))

    def replace(session: Session, integration: Integration) -> bool:
        member, scim, _body = _current(session, integration, user_id)
        return writes.replace(session, integration, member, scim, values)

    held = _write(integration_id, replace, values.fields)
    body = _user_body(integration_id, user_id)
    return _with_etag(body, HELD if held else 200)


@router.put("/Users/{user_id}")
async def replace_user(request: Request, user_id: str) -> Response:
    try:
        user = await _body(request)
    except ScimError as error:
        return error_answer(error)
    return _scim(lambda: _change(request, user_id, lambda _current: user))()


@router.patch("/Users/{user_id}")
async def patch_user(request: Request, user_id: str) -> Response:
    try:
        operations = await _body(request)
    except ScimError as error:
        return error_answer(error)
    return _scim(lambda: _change(request, user_id, lambda current: apply_patch(current, operations)))()


@router.delete("/Users/{user_id}")
def delete_user(request: Request, user_id: str) -> Response:
    def handle() -> Response:
        integration_id = _integration(request)
        current = _user_body(integration_id, user_id)
        _if_match(request, current)

        def deactivate(session: Session, integration: Integration) -> bool:
            member, scim, _body = _current(session, integration, user_id)
            return writes.deactivate(session, integration, member, scim)

        if _write(integration_id, deactivate, {}):
            return _answer(current, HELD)  # accepted, not applied: held for an owner's approval
        return Response(status_code=204)
    return _scim(handle)()


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(request: Request, rest: str) -> Response:
    """Anything else under /scim/v2 (Groups, Bulk, /Me …): a SCIM 404 (or 401 without a token); a
    discovery endpoint with another method than GET: 405."""
    def handle() -> Response:
        _integration(request)
        if rest.split("/", 1)[0] in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
            raise ScimError(405, f"{request.method} is not allowed on /{rest.split('/', 1)[0]}: it is read-only.",
                            headers={"Allow": "GET"})
        raise not_found(f"/{rest[:60]}")
    return _scim(handle)()
