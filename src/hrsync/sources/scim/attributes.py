"""The SCIM attributes a SCIM integration's mapping picks from, as a source's fields (docs/scim.md).

A push door reads nobody, but its mapping step needs "source fields" to offer: opening a SCIM
integration gives :class:`ScimAttributes`, whose :meth:`fields` lists the SCIM source keys
(:data:`hrsync.scim.resources.SOURCE_KEYS`) and the default fall-back chains
(``employeeNumber|externalId`` …), and whose :meth:`people` refuses: there is nothing to import.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from types import TracebackType
from typing import Any

from hrsync.sources.base import CheckResult, FieldGroup, SourceError, SourceField

NOT_IMPORTED = ("A SCIM integration is not imported: your identity provider sends its changes to "
                "hrsync's SCIM address as they happen.")

#: How the mapping step names each SCIM source key (and the default chains of several keys).
LABELS: dict[str, str] = {
    "employeeNumber|externalId": "employeeNumber, else externalId",
    "emails.work|emails.primary|emails.first|userName": "Work e-mail, else userName",
    "manager.displayName|manager.value": "Manager (name, else id)",
    "userName": "userName", "externalId": "externalId", "displayName": "displayName", "nickName": "nickName",
    "title": "title", "name.givenName": "name.givenName", "name.familyName": "name.familyName",
    "name.formatted": "name.formatted", "emails.work": "emails (work)", "emails.primary": "emails (primary)",
    "emails.first": "emails (the first)", "employeeNumber": "Enterprise employeeNumber",
    "department": "Enterprise department", "costCenter": "Enterprise costCenter",
    "organization": "Enterprise organization", "division": "Enterprise division",
    "manager.value": "Enterprise manager (id)", "manager.displayName": "Enterprise manager (name)",
    "preferredLanguage": "preferredLanguage", "locale": "locale", "userType": "userType",
}
_EMAILS = ("emails.work|emails.primary|emails.first|userName", "emails.work", "emails.primary", "emails.first")
_JOB = ("title", "department", "costCenter", "organization", "division", "manager.displayName|manager.value",
        "manager.value", "manager.displayName")


def attribute_fields() -> list[SourceField]:
    """Every key a SCIM mapping may name: the default chains first, then each attribute."""
    from hrsync.scim.resources import DEFAULT_MAPPING, SOURCE_KEYS

    chains = [keys for keys in DEFAULT_MAPPING.values() if "|" in keys]
    out = []
    for key in (*chains, *SOURCE_KEYS):
        group = FieldGroup.JOB if key in _JOB else FieldGroup.PERSON
        out.append(SourceField(key, LABELS.get(key, key), group, kind="email" if key in _EMAILS else "text"))
    return out


class ScimAttributes:
    """A SCIM integration opened: its fields are the SCIM attributes; it has no people to read."""

    def __enter__(self) -> ScimAttributes:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        return None

    def check(self) -> CheckResult:
        return CheckResult(ok=True)

    def fields(self) -> list[SourceField]:
        return attribute_fields()

    def people(self, *, include_job_details: bool = False, on_progress: Any = None,
               fields: Collection[str] | None = None) -> Iterator[Any]:
        raise SourceError(NOT_IMPORTED, code="invalid_settings")
