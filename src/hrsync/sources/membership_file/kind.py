"""The membership file as a kind of source (:data:`KIND`): open, settings, suggested mapping, readiness,
its catalogue card, words and failure rows.

Settings (``integration.settings``): ``{"path": "/srv/sftp/acme"}``, an absolute directory
hrsync can write to; without ``path`` the folder is ``<HRSYNC_FILE_DROP_ROOT>/<integration id>/``.
An optional ``status_column`` names the employment-status column when its header is not one of
:data:`hrsync.sources.membership_file.columns.STATUS_SYNONYMS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hrsync.domain.failures import Failure, FailureKind
from hrsync.sources.base import CheckResult, SourceError
from hrsync.sources.kind import Catalogue, OpenOptions, SettingField, SourceKind, WizardStep, Words
from hrsync.sources.membership_file.columns import match_columns
from hrsync.sources.membership_file.folder import folder_of, validate_folder
from hrsync.sources.membership_file.source import MembershipFileSource


class FileIntegration(Protocol):
    id: int
    mapping: dict[str, Any]
    status_map: dict[str, Any]
    date_format: str
    settings: dict[str, Any] | None


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings to store; ``SourceError`` (``invalid_settings``) naming what is wrong.

    ``path`` may be left out (the default folder under ``HRSYNC_FILE_DROP_ROOT`` is used, created on
    the first upload); when given it must be an absolute, existing, writable directory.
    """
    clean: dict[str, Any] = {}
    path = settings.get("path")
    if path not in (None, ""):
        clean["path"] = str(validate_folder(path))
    status_column = settings.get("status_column")
    if isinstance(status_column, str) and status_column.strip():
        clean["status_column"] = status_column.strip()
    return clean


def check_settings(settings: Mapping[str, Any]) -> CheckResult:
    """Nothing to verify remotely: valid settings are right."""
    try:
        validate_settings(settings)
    except SourceError as exc:
        return CheckResult(ok=False, reason=exc.reason, code=exc.code)
    return CheckResult(ok=True)


def _date_columns(mapping: Mapping[str, str]) -> set[str]:
    from hrsync.domain.fields import MEMBER_FIELDS, FieldKind

    return {source for target, source in mapping.items()
            if source and target in MEMBER_FIELDS and MEMBER_FIELDS[target].kind == FieldKind.DATE}


def _required(mapping: Mapping[str, str], status_column: str | None) -> dict[str, str]:
    required = {label: mapping[key] for key, label in (("employee_id", "Employee ID"), ("email", "Email"))
                if mapping.get(key)}
    if status_column:
        required["the employment status"] = status_column
    return required


def file_source(integration: FileIntegration, *, consume: bool = False) -> MembershipFileSource:
    """The source for a stored membership-file integration."""
    mapping = {k: v for k, v in (integration.mapping or {}).items() if isinstance(v, str)}
    settings = integration.settings or {}
    status_column = settings.get("status_column") or None
    return MembershipFileSource(
        folder_of(integration),
        required=_required(mapping, status_column),
        key_column=mapping.get("employee_id"),
        status_column=status_column,
        date_columns=_date_columns(mapping),
        date_format=integration.date_format,
        status_map=integration.status_map,
        consume=consume,
    )


def running_import_consumes(integration: object) -> bool:
    """Whether the integration is being read for an import that is not a dry run.

    Asked of the database: the ``dry_run`` of the integration's running run, through the session the
    integration was loaded in while it is open, else through a session of the configured database.
    Without a running run (a wizard sample, ``check``, ``hrsync integration fields``) files never move.
    Callers that know (the runner) should say so instead: ``source_for(..., consume=not dry_run)``.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import object_session
    from sqlalchemy.orm.exc import UnmappedInstanceError

    from hrsync.store.db import session_scope
    from hrsync.store.enums import RunStatus
    from hrsync.store.models import ImportRun

    integration_id = getattr(integration, "id", None)
    if integration_id is None:
        return False
    query = (select(ImportRun.dry_run)
             .where(ImportRun.integration_id == integration_id, ImportRun.status == RunStatus.RUNNING.value)
             .order_by(ImportRun.id.desc()).limit(1))
    try:
        session = object_session(integration)
    except UnmappedInstanceError:
        session = None
    if session is not None:
        return session.execute(query).scalar() is False
    with session_scope() as own:
        return own.execute(query).scalar() is False


def suggested_mapping(integration: FileIntegration) -> dict[str, str]:
    """The member fields the newest waiting file's headers match (empty without a file)."""
    try:
        headers = file_source(integration).headers()
    except SourceError:
        return {}
    return match_columns(h for h in headers if h)


def address(integration: FileIntegration) -> str | None:
    try:
        return str(folder_of(integration))
    except SourceError:
        return None


def place(integration: FileIntegration) -> str:
    """Where the files come from, in words: never the server path (the settings page shows the folder)."""
    return "SFTP drop folder" if (integration.settings or {}).get("path") else "Files uploaded in the portal"


def not_ready(integration: FileIntegration) -> str | None:
    """Why the integration cannot import now (its folder is gone), or None."""
    path = (integration.settings or {}).get("path")
    if not path:
        return None  # the default folder is created by the first upload
    try:
        validate_folder(path)
    except SourceError as exc:
        return exc.reason
    return None


def _open(integration: FileIntegration, options: OpenOptions) -> MembershipFileSource:
    consume = options.consume if options.consume is not None else running_import_consumes(integration)
    return file_source(integration, consume=consume)


_FILE = (
    "Fix the file as the reason above says and upload it again (or drop it in the folder again); "
    "no member was changed."
)
_C = FailureKind.CONFIGURATION

KIND = SourceKind(
    "membership_file", "Membership file (CSV / SFTP)", _open, address,
    catalogue=Catalogue(
        logo="CSV", category="File upload or SFTP",
        summary="No HR system with an API? Upload a CSV export of your staff list here, or have it dropped "
                "in a folder over SFTP, and members are provisioned from the newest file.",
        keywords=("csv", "file", "upload", "sftp", "spreadsheet", "excel", "membership", "staff list",
                  "export", "semicolon"),
    ),
    words=Words(reading="Reading the membership file…", id_label="Membership file ID",
                field_label="Column in your file", directory="your membership file"),
    settings_fields=(
        SettingField("path", "Drop folder",
                     "The absolute folder your SFTP server writes membership files into; leave it empty to "
                     "upload files in the portal only.", required=False, cli_aliases=("--path",)),
    ),
    validate_settings=validate_settings,
    check_settings=check_settings,
    default_mapping=suggested_mapping,
    not_ready=not_ready,
    failures=(
        Failure("no_file", _C, "Upload a membership file (or drop one in the integration's folder), then import."),
        Failure("bad_file", _C, _FILE),
        Failure("file_too_large", _C, _FILE),
        Failure("bad_encoding", _C, _FILE),
        Failure("missing_column", _C, _FILE),
        Failure("duplicate_header", _C, _FILE),
        Failure("link_in_drop_folder", _C,
                "Someone with access to the drop folder put a symbolic link where hrsync expects a folder "
                "(processed, failed, superseded) or a file. hrsync never follows links there, so no file "
                "moved and no member was changed. Remove the link named above (or ask whoever runs the "
                "SFTP server), check how it got there, then run Import data now."),
    ),
    wizard_step=WizardStep("file", "File"),
    takes_files=True,
    place=place,
)
