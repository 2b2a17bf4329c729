"""A throwaway kind of source that exists only for tests: a "roster", a JSON file in a folder.

It proves the :class:`~hrsync.sources.kind.SourceKind` contract is the whole boundary: nothing
outside this folder names it, yet it is set up through the wizard and the CLI and imported like any
other kind. Settings: ``folder`` (holds ``people.json``) and a secret ``token`` that must equal the
folder's ``token.txt`` (a stand-in for an API key, so the secret path is exercised too).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from hrsync.sources.base import (
    CheckResult,
    Closing,
    FieldGroup,
    Lifecycle,
    ProgressCallback,
    SourceError,
    SourceField,
    SourcePerson,
)
from hrsync.sources.kind import (
    Catalogue,
    OpenOptions,
    SettingField,
    SourceKind,
    StoredIntegration,
    Words,
    settings_error,
    stored_secret,
)

FIELDS = (
    SourceField("number", "Number", FieldGroup.PERSON),
    SourceField("mail", "Mail", FieldGroup.PERSON, kind="email"),
    SourceField("given", "Given name", FieldGroup.PERSON),
    SourceField("family", "Family name", FieldGroup.PERSON),
)
LIFECYCLES = {"here": Lifecycle.ACTIVE, "gone": Lifecycle.INACTIVE}


class RosterSource(Closing):
    def __init__(self, folder: str, token: str) -> None:
        self.folder = Path(folder)
        self.token = token

    def close(self) -> None:
        pass

    def check(self) -> CheckResult:
        expected = (self.folder / "token.txt").read_text(encoding="utf-8").strip()
        if self.token != expected:
            return CheckResult(ok=False, reason="The roster refused this token.", code="bad_key")
        return CheckResult(ok=True)

    def fields(self) -> list[SourceField]:
        return list(FIELDS)

    def people(self, *, include_job_details: bool = False, on_progress: ProgressCallback | None = None,
               fields: Collection[str] | None = None) -> Iterator[SourcePerson]:
        result = self.check()
        if not result.ok:
            raise SourceError(result.reason or "refused", code=result.code or "bad_key")
        rows = json.loads((self.folder / "people.json").read_text(encoding="utf-8"))
        for index, row in enumerate(rows, 1):
            status = row.get("status", "here")
            yield SourcePerson(source_id=f"r-{row['number']}", employment_status=status,
                               lifecycle=LIFECYCLES[status], values={f.key: row.get(f.key) for f in FIELDS})
            if on_progress is not None:
                on_progress(index, len(rows))


def _validate(settings: Mapping[str, Any]) -> dict[str, Any]:
    folder = str(settings.get("folder") or "").strip()
    if not folder or not Path(folder).is_dir():
        raise SourceError("The roster folder does not exist.", code="invalid_settings")
    token = str(settings.get("token") or "").strip()
    if not token:
        raise SourceError("Enter the roster token.", code="bad_key")
    return {"folder": folder, "token": token}


def _check(settings: Mapping[str, Any]) -> CheckResult:
    try:
        clean = _validate(settings)
    except SourceError as exc:
        return settings_error(exc)
    return RosterSource(clean["folder"], clean["token"]).check()


def _open(integration: StoredIntegration, options: OpenOptions) -> RosterSource:
    folder = (integration.settings or {}).get("folder")
    token = stored_secret(integration)
    if not folder or token is None:
        raise SourceError("This roster integration has no settings.", code="invalid_settings")
    return RosterSource(folder, token)


def _not_ready(integration: StoredIntegration) -> str | None:
    return None if integration.secret_encrypted else "Connect the roster first."


KIND = SourceKind(
    "roster", "Roster file", _open, lambda integration: (integration.settings or {}).get("folder"),
    catalogue=Catalogue(logo="RF", category="Test source", summary="A roster kept as JSON, for tests only.",
                        keywords=("throwaway", "roster")),
    words=Words(reading="Reading the roster…", id_label="Roster ID", field_label="Roster field",
                directory="your roster"),
    settings_fields=(
        SettingField("folder", "Roster folder", "The folder holding people.json."),
        SettingField("token", "Roster token", "The token in the folder's token.txt.", secret=True),
    ),
    validate_settings=_validate,
    check_settings=_check,
    connection_key=lambda settings: settings.get("folder"),
    default_mapping=lambda integration: {"employee_id": "number", "email": "mail", "first_name": "given",
                                         "last_name": "family"},
    not_ready=_not_ready,
)
