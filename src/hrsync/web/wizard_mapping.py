"""The setup wizard's Mapping step: which source field fills each member field, and what each
employment status means (see :mod:`hrsync.web.wizard_common`)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from hrsync.domain import MEMBER_FIELDS, validate_mapping
from hrsync.domain.display import target_label
from hrsync.domain.fields import EMPLOYEE_ID, EXTRA_PREFIX, is_extra_attribute
from hrsync.domain.scoping import EFFECTS, OP_LABELS
from hrsync.domain.transforms import DATE_INPUTS, MULTI, TYPE_LABELS
from hrsync.domain.transforms import describe as describe_transform
from hrsync.services import uploads
from hrsync.services.coverage import KEY_COVERAGE_MIN, SAMPLE_PEOPLE
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import (
    kind_for,
    mapping_of,
    source_for,
    status_map_of,
    update_mapping,
    update_shape,
    validate_shape,
)
from hrsync.services.mapping_step import TransformPreview, field_values, preview_transforms, read_sample
from hrsync.sources.base import FieldGroup, SourceError, SourceField
from hrsync.store.models import Integration
from hrsync.web.deps import CsrfForm, CurrentAdmin, SessionDep, flash, not_found, render, templates
from hrsync.web.wizard_common import (
    LIFECYCLE_LABELS,
    advance,
    after_save,
    integration_of,
    is_draft,
    read_form,
    steps_of,
)

router = APIRouter(include_in_schema=False)

GROUP_LABELS = {
    FieldGroup.PERSON: "Person", FieldGroup.JOB: "Job", FieldGroup.CUSTOM: "Person custom fields",
    FieldGroup.JOB_CUSTOM: "Job custom fields",
}
CUSTOM_GROUPS = (FieldGroup.CUSTOM, FieldGroup.JOB_CUSTOM)

def _extra_name(source_key: str) -> str:
    """``custom.<name>`` for a custom source field: its api name made into an attribute name.

    A job custom field (``job.custom.<apiName>``) is kept as ``custom.job_<apiName>``.
    """
    if source_key.startswith("job." + EXTRA_PREFIX):
        source_key = "job_" + source_key[len("job." + EXTRA_PREFIX):]
    name = source_key[len(EXTRA_PREFIX):] if source_key.startswith(EXTRA_PREFIX) else source_key
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not name or not name[0].isalpha():
        name = "f" + name
    return EXTRA_PREFIX + name[:64]


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in ([value] if isinstance(value, str) else value) if isinstance(v, str)]


def _rules_from_form(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The scoping rules as the form sends them (``rule_<i>_*``); a row without a field, or ticked
    for removal, is left out. Values are separated by commas."""
    rules = []
    index = 0
    while f"rule_{index}_field" in data:
        field = str(data.get(f"rule_{index}_field") or "").strip()
        if field and not data.get(f"rule_{index}_remove"):
            values = [v.strip() for v in str(data.get(f"rule_{index}_values") or "").split(",") if v.strip()]
            rule: dict[str, Any] = {"effect": data.get(f"rule_{index}_effect"), "field": field,
                                    "op": data.get(f"rule_{index}_op"), "values": values}
            label = str(data.get(f"rule_{index}_label") or "").strip()
            if label:
                rule["label"] = label
            rules.append(rule)
        index += 1
    return rules


def _table_from_text(text: str) -> dict[str, str]:
    """Lookup table lines ``CODE = Name`` (one per line)."""
    table = {}
    for line in text.splitlines():
        code, sep, name = line.partition("=")
        if sep and code.strip():
            table[code.strip()] = name.strip()
    return table


def _transforms_from_form(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The value transforms as the form sends them (``t_<i>_*``); a row without a transform is left out."""
    transforms: dict[str, dict[str, Any]] = {}
    index = 0
    while f"t_{index}_target" in data:
        target = str(data.get(f"t_{index}_target") or "")
        kind = str(data.get(f"t_{index}_type") or "")
        if target and kind and not data.get(f"t_{index}_remove"):
            spec: dict[str, Any] = {"type": kind}
            option = str(data.get(f"t_{index}_value") or "")
            if kind == "default":
                spec["value"] = option
            elif kind == "lookup":
                spec["table"] = _table_from_text(str(data.get(f"t_{index}_table") or ""))
                if option.strip():
                    spec["default"] = option.strip()
            elif kind == "date":
                spec["format"] = data.get(f"t_{index}_format")
            elif kind in MULTI:
                spec["fields"] = _listed(data.get(f"t_{index}_fields"))
                if kind == "concat":
                    spec["separator"] = str(data.get(f"t_{index}_separator") if f"t_{index}_separator" in data
                                            else " ")
            transforms[target] = spec
        index += 1
    return transforms


def _discover(integration: Integration) -> tuple[list[SourceField] | None, str | None]:
    try:
        with source_for(integration) as source:
            return source.fields(), None
    except (SourceError, ServiceError) as exc:
        return None, exc.reason


def _attribute_problems(problems: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Put each problem next to the field it names (every message starts with the field's label)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    labels = {key: field.label for key, field in MEMBER_FIELDS.items()}
    for target in mapping:
        if is_extra_attribute(target):
            labels[target] = f"Extra attribute {target[len(EXTRA_PREFIX):]!r}"
    for problem in problems:
        for key, label in sorted(labels.items(), key=lambda kv: -len(kv[1])):
            if problem.startswith(label + " "):
                by_field[key] = (by_field[key] + " " + problem) if key in by_field else problem
                break
        else:
            general.append(problem)
    return by_field, general


Groups = list[tuple[str, list[SourceField]]]


def _groups_of(integration: Integration, fields: list[SourceField] | None) -> tuple[Groups, Groups]:
    """The source fields as the page's lists group them, and the custom ones apart."""
    groups: list[tuple[str, list[SourceField]]] = []
    if fields is not None:
        for group in (FieldGroup.PERSON, FieldGroup.JOB, *CUSTOM_GROUPS):
            members = [f for f in fields if f.group == group]
            if members:
                groups.append((GROUP_LABELS[group], members))
    custom = [(label, members) for label, members in groups if label in {GROUP_LABELS[g] for g in CUSTOM_GROUPS}]
    if kind_for(integration).takes_files and groups:
        preview = uploads.waiting_file(integration)[0]
        groups = [(f"Columns of {preview.name}" if preview else "Columns", [f for _, fs in groups for f in fs])]
        custom = []
    return groups, custom


def _valid_transforms(mapping: dict[str, str], transforms: dict[str, dict[str, Any]],
                      fields: list[SourceField] | None) -> dict[str, dict[str, Any]]:
    _r, clean, problems = validate_shape(mapping, None, transforms, [f.key for f in fields] if fields else None)
    return (clean or {}) if not problems else {}


def _mapping_page(request: Request, integration: Integration, *, fields: list[SourceField] | None,
                  discover_error: str | None, mapping: dict[str, str], status_map: dict[str, str],
                  errors: dict[str, str] | None = None, general: list[str] | None = None,
                  status_code: int = 200, rules: list[dict[str, Any]] | None = None,
                  transforms: dict[str, dict[str, Any]] | None = None, blank_rules: int = 1,
                  shape_errors: list[str] | None = None, show_preview: bool = False) -> Response:
    groups, custom = _groups_of(integration, fields)
    extras = {source for target, source in mapping.items() if is_extra_attribute(target)}
    statuses = list(dict.fromkeys([*kind_for(integration).status_table(), *status_map]))
    known_keys = {f.key for f in fields or []}
    unknown = sorted({s for s in mapping.values() if s and fields is not None and s not in known_keys})
    rules = list(integration.scope_rules or []) if rules is None else rules
    sampled = (read_sample(integration, mapping, fields, validate_mapping(mapping),
                           rule_fields={str(r.get("field") or "") for r in rules}) if fields is not None else None)
    source_kind = kind_for(integration)
    file_kind = source_kind.takes_files
    preview = uploads.waiting_file(integration)[0] if file_kind else None
    transforms = dict(integration.transforms or {}) if transforms is None else transforms
    field_labels = {f.key: f.label for f in fields or []}
    valid_transforms = _valid_transforms(mapping, transforms, fields) if show_preview else {}
    transform_preview = (preview_transforms(integration, mapping, valid_transforms)
                         if fields is not None and valid_transforms else None)
    return render(request, "wizard/mapping.html", {
        "rules": rules, "blank_rules": blank_rules, "rule_effects": EFFECTS, "rule_ops": OP_LABELS,
        "transforms": transforms, "transform_types": TYPE_LABELS, "multi_types": MULTI,
        "date_inputs": list(DATE_INPUTS), "describe_transform": describe_transform, "field_labels": field_labels,
        "transform_preview": transform_preview, "shape_errors": shape_errors or [],
        "mapped_targets": [(t, target_label(t, s, field_labels)) for t, s in mapping.items()],
        "file_kind": file_kind, "preview": preview,
        "back_step": source_kind.wizard_step.key, "words": source_kind.words, "push": source_kind.can("push"),
        "nav": "integrations", "integration": integration, "steps": steps_of(integration, "mapping"),
        "member_fields": list(MEMBER_FIELDS.values()), "groups": groups, "custom_fields": custom,
        "extras": extras, "extra_name": _extra_name, "mapping": mapping, "statuses": statuses,
        "status_map": status_map, "lifecycles": LIFECYCLE_LABELS, "errors": errors or {},
        "general": general or [], "discover_error": discover_error, "unknown": unknown,
        "unique_key": EMPLOYEE_ID, "coverage": sampled.coverage if sampled else None,
        "sample": sampled, "sample_size": SAMPLE_PEOPLE,
        "key_threshold_pct": round(KEY_COVERAGE_MIN * 100),
        "key_source_label": next((f.label for f in fields or [] if f.key == mapping.get(EMPLOYEE_ID)),
                                 mapping.get(EMPLOYEE_ID, "")),
    }, status_code=status_code)


@router.get("/integrations/{integration_id}/setup/mapping")
def mapping_page(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    source_kind = kind_for(integration)
    if source_kind.takes_files:
        waiting, problem = uploads.waiting_file(integration)
        if waiting is None:
            flash(request, problem or "Upload a membership file first, so its columns can be matched.", "warning")
            return RedirectResponse(f"/integrations/{integration.id}/setup/file", status_code=303)
    elif source_kind.not_ready(integration) is not None and not source_kind.can("push"):  # SCIM: no token yet
        step = source_kind.wizard_step
        flash(request, f"{step.label} {source_kind.display_name} first, so the fields of {source_kind.words.directory} "
                       "can be read.", "warning")
        return RedirectResponse(f"/integrations/{integration.id}/setup/{step.key}", status_code=303)
    fields, error = _discover(integration)
    return _mapping_page(request, integration, fields=fields, discover_error=error,
                         mapping=mapping_of(integration),
                         status_map={k: v.value for k, v in status_map_of(integration).items()})


@router.post("/integrations/{integration_id}/setup/mapping", dependencies=[CsrfForm])
async def save_mapping(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    integration = integration_of(session, admin, integration_id)
    data = await read_form(request)
    mapping = _form_mapping(data)
    status_map: dict[str, str] = {}
    index = 0
    while f"status_name_{index}" in data:
        name, value = data.get(f"status_name_{index}"), data.get(f"status_value_{index}")
        if isinstance(name, str) and isinstance(value, str) and name:
            status_map[name] = value
        index += 1
    rules = _rules_from_form(data)
    transforms = _transforms_from_form(data)
    fields, discover_error = _discover(integration)
    action = data.get("action")
    if action in ("add_rule", "preview_transforms"):  # (without the page's script) the page again, as typed
        rows = sum(1 for key in data if key.startswith("rule_") and key.endswith("_field"))
        return _mapping_page(request, integration, fields=fields, discover_error=discover_error, mapping=mapping,
                             status_map=status_map, rules=rules, transforms=transforms,
                             blank_rules=max(1, rows + (action == "add_rule") - len(rules)),
                             show_preview=action == "preview_transforms")
    available = [f.key for f in fields] if fields is not None else None
    problems = validate_mapping(mapping, available)
    shape_problems = validate_shape(mapping, rules, transforms, available)[2]
    if not problems and not shape_problems:
        try:
            with session.begin_nested():
                update_mapping(session, integration, admin, mapping, status_map=status_map,
                               available_source_keys=available)
                update_shape(session, integration, admin, scope_rules=rules, transforms=transforms,
                             available_source_keys=available)
        except ServiceError as exc:
            problems = [exc.reason]
    if problems or shape_problems:
        errors, general = _attribute_problems(problems, mapping)
        return _mapping_page(request, integration, fields=fields, discover_error=discover_error, mapping=mapping,
                             status_map=status_map, errors=errors, general=general, status_code=400,
                             rules=rules, transforms=transforms, shape_errors=shape_problems)
    advance(integration, "review")
    if not is_draft(integration):
        push = kind_for(integration).can("push")
        flash(request, "Mapping saved. The identity provider's next change uses it." if push
              else "Mapping saved. The next import uses it.")
    return RedirectResponse(after_save(integration, "review"), status_code=303)


@router.post("/integrations/{integration_id}/setup/mapping/fallback-key", dependencies=[CsrfForm])
def use_fallback_key(request: Request, session: SessionDep, admin: CurrentAdmin, integration_id: int) -> Response:
    """The one-click fix offered when the unique key is empty for (almost) everyone sampled: the
    kind's fallback key (a field every person has) as Employee ID."""
    integration = integration_of(session, admin, integration_id)
    fallback = kind_for(integration).fallback_key
    if fallback is None:
        not_found("This choice")
    mapping = {**mapping_of(integration), EMPLOYEE_ID: fallback[0]}
    try:
        with session.begin_nested():
            update_mapping(session, integration, admin, mapping)
    except ServiceError as exc:
        flash(request, exc.reason, "error")
    else:
        flash(request, f"Employee ID now comes from the {fallback[1]}, which every person has.")
    return RedirectResponse(f"/integrations/{integration.id}/setup/mapping", status_code=303)


def _form_mapping(data: dict[str, Any]) -> dict[str, str]:
    """The mapping as the form sends it (member fields, then the custom fields kept as extras)."""
    mapping: dict[str, str] = {}
    for key in MEMBER_FIELDS:
        value = data.get(f"map.{key}")
        if isinstance(value, str) and value.strip():
            mapping[key] = value.strip()
    for source in _listed(data.get("extra")):
        if source:
            mapping[_extra_name(source)] = source
    return mapping


@router.get("/integrations/{integration_id}/setup/mapping/values")
def suggested_values(session: SessionDep, admin: CurrentAdmin, integration_id: int, field: str = "") -> Response:
    """The values a source field holds among the first people (for a scoping rule's suggestions), as
    JSON: ``{"values": [[value, people], ...], "sampled": N}``. Used for fields the page's sample did
    not read (job details)."""
    integration = integration_of(session, admin, integration_id)
    fields, _error = _discover(integration)
    found = next((f for f in fields or [] if f.key == field), None)
    if found is None:
        return JSONResponse({"values": [], "sampled": SAMPLE_PEOPLE}, status_code=404 if fields else 200)
    return JSONResponse({"values": field_values(integration, [found]).get(found.key, []), "sampled": SAMPLE_PEOPLE})


@router.post("/integrations/{integration_id}/setup/mapping/transform-preview", dependencies=[CsrfForm])
async def transform_preview(request: Request, session: SessionDep, admin: CurrentAdmin,
                            integration_id: int) -> Response:
    """The transforms' before and after for the form as typed (the page's script shows it in place,
    so nothing typed is lost); nothing is saved."""
    integration = integration_of(session, admin, integration_id)
    data = await read_form(request)
    mapping = _form_mapping(data)
    fields, _error = _discover(integration)
    transforms = _transforms_from_form(data)
    problems = validate_shape(mapping, None, transforms, [f.key for f in fields] if fields else None)[2]
    found = (preview_transforms(integration, mapping, _valid_transforms(mapping, transforms, fields))
             if fields is not None and not problems else TransformPreview([], 0, 0))
    return templates.TemplateResponse(request, "wizard/_transform_preview.html", {
        "transform_preview": found, "preview_problems": problems, "asked": True, "integration": integration})
