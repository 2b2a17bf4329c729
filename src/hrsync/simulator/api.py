"""The intelliHR Public API v1 surface: routing, auth, validation and the documented envelopes.

Transport-free on purpose: :meth:`PublicApi.handle` maps (method, path, query, headers) to a
:class:`Reply`, so the HTTP server stays a thin shell and every rule lives in one readable place.
Order of checks, as an API gateway would do it: route (404/405/501), auth (401/403), input (400).
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hrsync.simulator.directory import Directory
from hrsync.simulator.filters import FilterError
from hrsync.simulator.ids import is_uuid

MAX_LIMIT = 100
DEFAULT_LIMIT = 10  # not documented; chosen to be small so a client that forgets ``limit`` notices
JSON = "application/json; charset=utf-8"

_FILTER_RE = re.compile(r"^filters\[([A-Za-z]+)\]\[([A-Za-z]+)\]$")
_BEARER_RE = re.compile(r"^Bearer[ \t]+([^\s]+)[ \t]*$", re.IGNORECASE)

PEOPLE_FILTERS = frozenset(
    {
        "employeeNumber",
        "primaryEmailAddress",
        "name",
        "updatedWithin",
        "isOnExtendedLeave",
        "jobId",
        "autoIncrementIntellihrId",
    }
)
JOB_FILTERS = frozenset({"personId", "jobStatus", "isPrimaryJob", "updatedWithin", "jobId", "employeeNumber"})
BUSINESS_UNIT_FILTERS = frozenset({"identifier", "name"})
POSITION_TITLE_FILTERS = frozenset({"name"})
CUSTOM_FIELD_DEFINITION_FILTERS = frozenset({"modelType", "isEnabled"})
MODEL_TYPES = frozenset(
    {
        "ADDRESS",
        "BUSINESS_ENTITY",
        "BUSINESS_UNIT",
        "EMAIL_ADDRESS",
        "JOB",
        "LOCATION",
        "PERSON",
        "POSITION_TITLE",
        "PHONE_NUMBER",
        "REMUNERATION",
        "TRAINING",
    }
)

# Every operation of the spec, by path template. GETs listed in SIMULATED are served; the
# others exist in the real API, so they answer 501 (not simulated) rather than 405 (not offered).
SPEC_METHODS: dict[str, tuple[str, ...]] = {
    "/people": ("GET", "POST"),
    "/people/{id}": ("GET", "PATCH"),
    "/jobs": ("GET", "POST"),
    "/jobs/{id}": ("GET", "PATCH"),
    "/business-units": ("GET", "POST"),
    "/business-units/{id}": ("DELETE", "GET", "PATCH"),
    "/business-entities": ("GET", "POST"),
    "/locations": ("GET", "POST"),
    "/locations/{id}": ("DELETE", "GET", "PATCH"),
    "/position-titles": ("GET", "POST"),
    "/webhooks": ("GET", "POST"),
    "/webhooks/{id}": ("DELETE", "GET", "PATCH"),
    "/webhook-events": ("GET",),
    "/users": ("GET", "POST"),
    "/users/{id}": ("GET", "PATCH"),
    "/custom-field-definitions": ("GET",),
    "/custom-field-definitions/{id}": ("GET",),
}
SIMULATED = frozenset(
    {
        ("GET", t)
        for t in (
            "/people",
            "/people/{id}",
            "/jobs",
            "/jobs/{id}",
            "/business-units",
            "/business-units/{id}",
            "/locations",
            "/locations/{id}",
            "/position-titles",
            "/custom-field-definitions",
            "/custom-field-definitions/{id}",
        )
    }
)


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class BadRequest(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def error_reply(
    status: int,
    name: str,
    message: str,
    errors: Sequence[Mapping[str, Any]] = (),
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    """The documented error body ``{name, message, code, errors}``."""
    body = {"name": name, "message": message, "code": status, "errors": list(errors)}
    return Reply(status, dumps(body), headers or [])


def bad_request(detail: str) -> Reply:
    return error_reply(400, "BadRequest", "The request is invalid", [{"code": 400, "detail": detail}])


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def match_route(path: str) -> tuple[str, str | None] | None:
    """(template, id) for a path under ``/v1``, or None."""
    parts = path.rstrip("/").split("/") if path != "/" else [""]
    if len(parts) == 2 and f"/{parts[1]}" in SPEC_METHODS:
        return f"/{parts[1]}", None
    if len(parts) == 3 and f"/{parts[1]}/{{id}}" in SPEC_METHODS and parts[2]:
        return f"/{parts[1]}/{{id}}", parts[2]
    return None


@dataclass(slots=True)
class ListQuery:
    page: int
    limit: int
    descending: bool
    filters: dict[str, str]
    extra: list[tuple[str, str]]  # other parameters, kept in links


def parse_list_query(query: str, allowed_filters: frozenset[str], sortable: bool) -> ListQuery:
    page, limit, descending = 1, DEFAULT_LIMIT, False
    filters: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "page":
            if not value.isdigit() or int(value) < 1:
                raise BadRequest("page must be an integer greater than or equal to 1")
            page = int(value)
        elif key == "limit":
            if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
                raise BadRequest(f"limit must be an integer between 1 and {MAX_LIMIT}")
            limit = int(value)
        elif key == "sort" and sortable:
            if value not in ("createdAt", "-createdAt"):
                raise BadRequest("sort must be createdAt or -createdAt")
            descending = value.startswith("-")
            extra.append((key, value))
        elif key.startswith("filters"):
            found = _FILTER_RE.match(key)
            if not found:
                raise BadRequest(f"{key} is not a valid filter; use filters[<name>][eq]=<value>")
            name, op = found.groups()
            if name not in allowed_filters:
                raise BadRequest(f"filters[{name}] is not supported here")
            if op != "eq":
                raise BadRequest(f"filters[{name}] supports only the [eq] operation")
            filters[name] = value
            extra.append((key, value))
        else:
            extra.append((key, value))
    return ListQuery(page, limit, descending, filters, extra)


class PublicApi:
    """Answers ``/v1`` requests for one tenant."""

    def __init__(self, directory: Directory, tenant: str, api_key: str) -> None:
        self.directory = directory
        self.tenant = tenant.lower()
        self._key = api_key.encode()
        self.url = ""  # "http://host:port"; set by the server once bound

    # --- entry point --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> Reply:
        sub = path[len("/v1") :] or "/"
        route = match_route(sub)
        if route is None:
            return error_reply(404, "NotFound", f"No route matches {path}")
        template, ident = route
        offered = SPEC_METHODS[template]
        if method not in offered:
            return error_reply(
                405,
                "MethodNotAllowed",
                f"{method} is not allowed on {path}",
                headers=[("Allow", ", ".join(offered))],
            )
        if (method, template) not in SIMULATED:
            return error_reply(
                501,
                "NotImplemented",
                f"{method} /v1{template} exists in the intelliHR API but is not simulated",
            )
        denied = self._authenticate(headers)
        if denied is not None:
            return denied
        try:
            return self._serve(template, ident, sub, query)
        except BadRequest as exc:
            return bad_request(exc.detail)
        except FilterError as exc:
            return bad_request(str(exc))

    def _authenticate(self, headers: Mapping[str, str]) -> Reply | None:
        found = _BEARER_RE.match(headers.get("authorization", "") or "")
        if found is None:
            return error_reply(401, "NotAuthenticated", "Authorization header is missing or malformed")
        tenant = (headers.get("tenant") or "").strip()
        if tenant.lower() != self.tenant:
            return error_reply(403, "Forbidden", f"Tenant '{tenant}' was not found")
        if not hmac.compare_digest(found.group(1).encode(), self._key):
            return error_reply(403, "Forbidden", "The API key is not valid for this tenant")
        return None

    # --- endpoints ------------------------------------------------------------------------------------

    def _serve(self, template: str, ident: str | None, sub: str, query: str) -> Reply:
        d = self.directory
        ref = d.reference
        if template == "/people":
            q = parse_list_query(query, PEOPLE_FILTERS, sortable=True)
            total, rows = d.people_page((q.page - 1) * q.limit, q.limit, q.descending, q.filters)
            return self._list_bytes(sub, q, total, rows, as_at=False)
        if template == "/people/{id}":
            assert ident is not None
            self._require_uuid(ident)
            body = d.person_bytes(ident.lower())
            if body is None:
                return error_reply(404, "NotFound", f"Person '{ident}' was not found")
            return Reply(200, b'{"data":' + body + b',"meta":' + dumps({"requestId": str(uuid.uuid4())}) + b"}")
        if template == "/jobs":
            q = parse_list_query(query, JOB_FILTERS, sortable=True)
            if "personId" in q.filters:
                for value in q.filters["personId"].split(","):
                    self._require_uuid(value.strip(), "filters[personId][eq]")
            total, jobs = d.jobs_page((q.page - 1) * q.limit, q.limit, q.descending, q.filters)
            return self._list_bytes(sub, q, total, [dumps(j) for j in jobs], as_at=True)
        if template == "/jobs/{id}":
            assert ident is not None
            self._require_uuid(ident)
            job = d.job(ident.lower())
            if job is None:
                return error_reply(404, "NotFound", f"Job '{ident}' was not found")
            return Reply(200, dumps({"data": job, "meta": {"asAt": _now(), "requestId": str(uuid.uuid4())}}))
        if template == "/business-units":
            q = parse_list_query(query, BUSINESS_UNIT_FILTERS, sortable=False)
            units = [u for u in ref.business_units if all(getattr(u, k) == v for k, v in q.filters.items())]
            return self._list_static(sub, q, [ref.business_unit_json(u) for u in units], as_at=True)
        if template == "/locations":
            q = parse_list_query(query, frozenset(), sortable=False)
            return self._list_static(sub, q, [ref.location_json(loc) for loc in ref.locations], as_at=True)
        if template == "/position-titles":
            q = parse_list_query(query, POSITION_TITLE_FILTERS, sortable=False)
            titles = [p for p in ref.position_titles if all(getattr(p, k) == v for k, v in q.filters.items())]
            return self._list_static(sub, q, [ref.position_title_json(p) for p in titles], as_at=False)
        if template == "/custom-field-definitions":
            q = parse_list_query(query, CUSTOM_FIELD_DEFINITION_FILTERS, sortable=False)
            defs = list(ref.custom_definitions)
            if "modelType" in q.filters:
                if q.filters["modelType"] not in MODEL_TYPES:
                    raise BadRequest(f"filters[modelType] must be one of {', '.join(sorted(MODEL_TYPES))}")
                defs = [d for d in defs if d.model_type == q.filters["modelType"]]
            if "isEnabled" in q.filters:
                wanted = q.filters["isEnabled"].lower()
                if wanted not in ("true", "false"):
                    raise BadRequest("filters[isEnabled] must be true or false")
                defs = [d for d in defs if d.enabled == (wanted == "true")]
            return self._list_static(sub, q, [ref.custom_definition_json(d) for d in defs], as_at=False)
        if template == "/custom-field-definitions/{id}":
            assert ident is not None
            self._require_uuid(ident)
            found_defs = [d for d in ref.custom_definitions if d.id == ident.lower()]
            if not found_defs:
                return error_reply(404, "NotFound", f"Custom Field Definition '{ident}' was not found")
            meta = {"requestId": str(uuid.uuid4())}
            return Reply(200, dumps({"data": ref.custom_definition_json(found_defs[0]), "meta": meta}))
        if template in ("/business-units/{id}", "/locations/{id}"):
            assert ident is not None
            self._require_uuid(ident)
            if template == "/business-units/{id}":
                found: list[Any] = [ref.business_unit_json(u) for u in ref.business_units if u.id == ident.lower()]
                what = "Business Unit"
            else:
                found = [ref.location_json(loc) for loc in ref.locations if loc.id == ident.lower()]
                what = "Location"
            if not found:
                return error_reply(404, "NotFound", f"{what} '{ident}' was not found")
            return Reply(200, dumps({"data": found[0], "meta": {"asAt": _now(), "requestId": str(uuid.uuid4())}}))
        raise AssertionError(template)  # pragma: no cover - SIMULATED lists exactly the above

    @staticmethod
    def _require_uuid(value: str, what: str = "id") -> None:
        if not is_uuid(value):
            raise BadRequest(f"{what} must be a UUID")

    # --- envelopes ------------------------------------------------------------------------------------

    def _links(self, sub: str, q: ListQuery, total_pages: int) -> dict[str, str]:
        base = f"{self.url}/v1{sub}"

        def link(page: int) -> str:
            return f"{base}?{urlencode([*q.extra, ('page', str(page)), ('limit', str(q.limit))])}"

        links = {"self": link(q.page), "first": link(1)}
        if q.page > 1:
            links["prev"] = link(min(q.page - 1, total_pages))
        if q.page < total_pages:
            links["next"] = link(q.page + 1)
        links["last"] = link(total_pages)
        return links

    def _meta(self, q: ListQuery, total: int, count: int, as_at: bool) -> tuple[dict[str, Any], int]:
        total_pages = max(1, -(-total // q.limit))
        meta: dict[str, Any] = {}
        if as_at:
            meta["asAt"] = _now()
        meta["pagination"] = {
            "total": total,
            "count": count,
            "per_page": q.limit,
            "current_page": q.page,
            "total_pages": total_pages,
        }
        meta["requestId"] = str(uuid.uuid4())
        return meta, total_pages

    def _list_bytes(self, sub: str, q: ListQuery, total: int, rows: list[bytes], as_at: bool) -> Reply:
        meta, total_pages = self._meta(q, total, len(rows), as_at)
        body = b"".join(
            (
                b'{"data":[',
                b",".join(rows),
                b'],"meta":',
                dumps(meta),
                b',"links":',
                dumps(self._links(sub, q, total_pages)),
                b"}",
            )
        )
        return Reply(200, body)

    def _list_static(self, sub: str, q: ListQuery, items: list[dict[str, Any]], as_at: bool) -> Reply:
        start = (q.page - 1) * q.limit
        page = items[start : start + q.limit]
        return self._list_bytes(sub, q, len(items), [dumps(i) for i in page], as_at)


Handler = Callable[[str, str, str, Mapping[str, str]], Reply]
