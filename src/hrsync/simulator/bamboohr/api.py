"""BambooHR's API as the simulator answers it, under ``/api/gateway.php/{companyDomain}/v1/``.

What is served (see docs/bamboohr.md for the published sources each behaviour comes from):

    GET  employees/directory          active employees, with a fieldset; 404 when empty
    POST reports/custom?format=JSON   chosen fields for every employee, active and inactive
    GET  meta/fields                  every employee field, custom fields included
    GET  employees/changed?since=…    {latest, employees: {id: {id, action, lastChanged}}}
    GET  employees/{id}?fields=…      one employee's chosen fields (0: the key's own employee)

Authentication is HTTP Basic with the API key as the user name and any password. A missing or unknown
key is 401; after ``lockout_after`` unknown keys in a row the API is disabled for the company for
``lockout_seconds`` and answers 403 to everyone. An unknown company domain is 404. Error answers carry
an empty body and say why in the ``X-BambooHR-Error-Message`` header. Answers are JSON when the
request's ``Accept`` asks for ``application/json`` and XML otherwise (the documented default).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET

from hrsync.simulator.api import Reply, dumps
from hrsync.simulator.bamboohr.company import Company, Employee, stamp
from hrsync.simulator.bamboohr.fields import (
    ALL_FIELDS,
    DIRECTORY_EXTRA,
    DIRECTORY_FIELDS,
    MAX_FIELDS,
    FieldDef,
    resolve,
)

PREFIX = "/api/gateway.php/"
XML = "text/xml; charset=utf-8"
REPORT_FORMATS = {"json": "application/json", "xml": "text/xml", "csv": "text/csv",
                  "xls": "application/vnd.ms-excel", "pdf": "application/pdf"}


def refusal(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """An error as BambooHR sends one: no body, the reason in ``X-BambooHR-Error-Message``."""
    return Reply(status, b"", [("X-BambooHR-Error-Message", message), *(headers or [])])


def _json(obj: Any) -> Reply:
    return Reply(200, dumps(obj))  # the HTTP shell labels bodies without a type as JSON


def _xml(root: ET.Element) -> Reply:
    return Reply(200, ET.tostring(root, encoding="utf-8", xml_declaration=True), [("Content-Type", XML)])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _parse_since(raw: str) -> datetime:
    """An ISO 8601 date-time; BambooHR also writes offsets as ``+0000``."""
    text = raw.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BambooApi:
    def __init__(self, company: Company, api_key: str, *, lockout_after: int = 10,
                 lockout_seconds: float = 60.0) -> None:
        self.company = company
        self._key = api_key
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self._lock = threading.Lock()
        self._bad_keys = 0
        self._disabled_until = 0.0

    # --- the door ---------------------------------------------------------------------------------

    @property
    def disabled(self) -> bool:
        return time.monotonic() < self._disabled_until

    def enable(self) -> None:
        """Lift a lockout (the back door's ``DELETE /_sim/lockout``)."""
        with self._lock:
            self._bad_keys = 0
            self._disabled_until = 0.0

    def _authenticate(self, headers: Any) -> Reply | None:
        if self.disabled:
            return refusal(403, "API access is disabled for this company after repeated unknown API keys")
        raw = headers.get("Authorization") or ""
        scheme, _, token = raw.partition(" ")
        key = None
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = None
        if not key:
            return refusal(401, "Missing API key")
        if key != self._key:
            with self._lock:
                self._bad_keys += 1
                if self._bad_keys >= self.lockout_after:
                    self._disabled_until = time.monotonic() + self.lockout_seconds
            return refusal(401, "Invalid API key")
        with self._lock:
            self._bad_keys = 0
        return None

    def handle(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        rest = path[len(PREFIX):] if path.startswith(PREFIX) else None
        parts = [p for p in (rest or "").split("/") if p]
        if len(parts) < 2 or parts[1] != "v1":
            return refusal(404, f"No route matches {path}")
        if parts[0].lower() != self.company.domain.lower():
            return refusal(404, "Company not found")
        denied = self._authenticate(headers)
        if denied is not None:
            return denied
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        wants_json = "application/json" in (headers.get("Accept") or "").lower()
        route = parts[2:]
        only_current = params.get("onlyCurrent", "true").lower() not in ("false", "0", "no")
        if route == ["employees", "directory"]:
            return self._allow(method, "GET") or self._directory(wants_json)
        if route == ["meta", "fields"]:
            return self._allow(method, "GET") or self._fields(wants_json)
        if route == ["employees", "changed"]:
            return self._allow(method, "GET") or self._changed(params, wants_json)
        if route == ["reports", "custom"]:
            return self._allow(method, "POST") or self._report(params, headers, body, only_current)
        if len(route) == 2 and route[0] == "employees":
            return self._allow(method, "GET") or self._employee(route[1], params, wants_json, only_current)
        return refusal(404, f"No route matches {path}")

    @staticmethod
    def _allow(method: str, allowed: str) -> Reply | None:
        if method in (allowed, "HEAD" if allowed == "GET" else allowed):
            return None
        return refusal(405, f"{method} is not allowed here", [("Allow", allowed)])

    # --- the operations ---------------------------------------------------------------------------

    def _directory(self, wants_json: bool) -> Reply:
        c = self.company
        with c.lock:
            people = [e for e in c.employees.values() if e.status(c.today) == "Active" and e.hire_date <= c.today]
            rows = [self._directory_row(e) for e in people]
        if not rows:
            return refusal(404, "The directory is empty")
        fieldset = []
        for key in DIRECTORY_FIELDS:
            f = resolve(key)
            name, type_ = (f.name, f.type) if f else DIRECTORY_EXTRA[key]
            fieldset.append({"id": key, "type": type_, "name": name})
        if wants_json:
            return _json({"fields": fieldset, "employees": rows})
        root = ET.Element("directory")
        fs = ET.SubElement(root, "fieldset")
        for item in fieldset:
            ET.SubElement(fs, "field", id=item["id"]).text = item["name"]
        self._xml_employees(ET.SubElement(root, "employees"), rows)
        return _xml(root)

    def _directory_row(self, e: Employee) -> dict[str, Any]:
        row: dict[str, Any] = {"id": str(e.id)}
        for key in DIRECTORY_FIELDS:
            f = resolve(key)
            row[key] = self.company.value(e, f) if f else None
        row["photoUploaded"] = False
        row["photoUrl"] = f"https://images.example.com/photos/{e.id}.jpg"
        row["canUploadPhoto"] = 0
        return row

    def _fields(self, wants_json: bool) -> Reply:
        listing = [f.to_json() for f in ALL_FIELDS]
        if wants_json:
            return _json(listing)
        root = ET.Element("fields")
        for item in listing:
            attrs = {k: str(v) for k, v in item.items() if k != "name"}
            ET.SubElement(root, "field", attrs).text = str(item["name"])
        return _xml(root)

    def _changed(self, params: dict[str, str], wants_json: bool) -> Reply:
        raw = params.get("since")
        kind = (params.get("type") or "all").lower()
        if not raw or kind not in ("inserted", "updated", "deleted", "all"):
            return refusal(400, "since (an ISO 8601 date-time) is required; type is inserted, updated, deleted or all")
        try:
            since = _parse_since(raw)
        except ValueError:
            return refusal(400, "since is not an ISO 8601 date-time")
        rows = [r for r in self.company.changed_since(since) if kind == "all" or r[1].lower() == kind]
        latest = stamp(max((r[2] for r in rows), default=since))
        entries = {str(i): {"id": str(i), "action": a, "lastChanged": stamp(w)} for i, a, w in rows}
        if wants_json:
            return _json({"latest": latest, "employees": entries})
        root = ET.Element("employees", latest=latest)
        for entry in entries.values():
            ET.SubElement(root, "employee", entry)
        return _xml(root)

    def _employee(self, ident: str, params: dict[str, str], wants_json: bool, only_current: bool) -> Reply:
        names = [n for n in (params.get("fields") or "firstName,lastName").split(",") if n.strip()]
        if len(names) > MAX_FIELDS:
            return refusal(400, f"At most {MAX_FIELDS} fields may be requested")
        c = self.company
        with c.lock:
            try:
                emp = c.get(min(c.employees) if ident == "0" and c.employees else ident)
            except KeyError:
                return refusal(404, "Employee not found")
            row: dict[str, Any] = {"id": str(emp.id)}
            for name in names:
                f = resolve(name)
                if f is not None:  # fields the caller may not see (or that do not exist) are omitted
                    row[name.strip()] = c.value(emp, f, only_current=only_current)
        if wants_json:
            return _json(row)
        root = ET.Element("employee", id=row.pop("id"))
        for key, value in row.items():
            ET.SubElement(root, "field", id=key).text = _text(value)
        return _xml(root)

    def _report(self, params: dict[str, str], headers: Any, body: bytes, only_current: bool) -> Reply:
        fmt = params.get("format")
        if fmt is not None:
            media = REPORT_FORMATS.get(fmt.lower())
        else:
            accept = (headers.get("Accept") or "").strip()
            media = accept if accept in REPORT_FORMATS.values() else None
        if media is None:
            return refusal(404, "Report format not found")
        if media not in ("application/json", "text/xml", "text/csv"):
            return refusal(501, "The simulator renders reports as JSON, XML or CSV only")
        try:
            title, requested, ids, since = _report_request(headers.get("Content-Type") or "", body)
        except ValueError as exc:
            return refusal(400, str(exc))
        if len(requested) > MAX_FIELDS:
            return refusal(400, f"At most {MAX_FIELDS} fields may be requested")
        chosen: list[tuple[str, FieldDef]] = []
        for name in requested:
            f = resolve(name)
            if f is not None and name not in [n for n, _ in chosen]:
                chosen.append((name, f))  # unknown or hidden fields are silently left out
        c = self.company
        with c.lock:
            people = sorted(c.employees.values(), key=lambda e: e.id)
            if ids is not None:
                people = [e for e in people if e.id in ids]
            if since is not None:
                people = [e for e in people if e.last_changed >= since]
            rows = [{"id": str(e.id), **{n: _text(c.value(e, f, only_current=only_current)) for n, f in chosen}}
                    for e in people]
        fields = [{"id": n, "type": f.type, "name": f.name} for n, f in chosen]
        if media == "application/json":
            return _json({"title": title, "fields": fields, "employees": rows})
        if media == "text/csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["id", *(f.name for _, f in chosen)])
            for row in rows:
                writer.writerow(list(row.values()))
            return Reply(200, out.getvalue().encode(), [("Content-Type", "text/csv; charset=utf-8")])
        root = ET.Element("report")
        ET.SubElement(root, "title").text = title
        fs = ET.SubElement(root, "fields")
        for item in fields:
            ET.SubElement(fs, "field", id=item["id"], type=item["type"]).text = item["name"]
        self._xml_employees(ET.SubElement(root, "employees"), rows)
        return _xml(root)

    @staticmethod
    def _xml_employees(parent: ET.Element, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            node = ET.SubElement(parent, "employee", id=str(row["id"]))
            for key, value in row.items():
                if key != "id":
                    ET.SubElement(node, "field", id=key).text = _text(value)


def _report_request(content_type: str, body: bytes) -> tuple[str, list[str], set[int] | None, datetime | None]:
    """(title, field names, employee IDs or None, lastChanged or None) from a JSON or XML report request.

    As documented, only ``Content-Type: application/json`` exactly means JSON; anything else is read as XML."""
    if content_type.strip() == "application/json":
        try:
            doc = json.loads(body)
        except ValueError:
            raise ValueError("Malformed JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("fields"), list):
            raise ValueError("The report needs a fields array")
        filters = doc.get("filters") or {}
        changed = (filters.get("lastChanged") or {}).get("value") if isinstance(filters, dict) else None
        ids = filters.get("employeeIds") if isinstance(filters, dict) else None
        title = str(doc.get("title") or "")
        requested = [str(x) for x in doc["fields"]]
    else:
        try:
            # A loopback test double; expat 2.4.1+ refuses entity-expansion bombs, and the body is bounded.
            root = ET.fromstring(body)  # noqa: S314
        except ET.ParseError:
            raise ValueError("Malformed XML") from None
        if root.tag != "report":
            raise ValueError("Malformed XML")
        title = root.findtext("title") or ""
        requested = [f.get("id", "") for f in root.iterfind("fields/field")]
        changed = root.findtext("filters/lastChanged")
        id_nodes = root.findall("filters/employeeIds/employeeId")
        ids = [n.text for n in id_nodes] if id_nodes else None
    try:
        since = _parse_since(str(changed)) if changed else None
        wanted = {int(x) for x in ids} if ids is not None else None
    except (TypeError, ValueError):
        raise ValueError("Bad filter value") from None
    return title, requested, wanted, since
